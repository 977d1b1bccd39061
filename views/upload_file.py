"""One uploaded extract on the Upload page: its report, problems, preview, and the way to load it.

Every file is read and checked first (views.cache.prepared_upload, once per upload, mapping and currency);
nothing is written until the person presses Load. What loading asks (nothing, replace or append, a typed
confirmation) is decided by analytics.ingest.load_choice; this module only asks it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from analytics.access import AccessDenied, Actor
from analytics.formatting import markdown_literal
from analytics.ingest.extract import PreparedExtract
from analytics.ingest.history import loaded_as
from analytics.ingest.limits import ExtractTooLarge, check_extract
from analytics.ingest.load import store_prepared
from analytics.ingest.load_choice import load_step, may_store
from analytics.ingest.mappings import remembered_mapping
from analytics.ingest.plan import LoadPlan, load_plan, rates_missing_for
from analytics.ingest.read import extract_headers
from analytics.ingest.rejects import rejects_csv, set_aside_bad_rows, set_aside_text
from analytics.store.faults import StoreError
from analytics.store.rates import missing_rates_text
from analytics.store.store import Store
from views.cache import prepared_upload
from views.upload_loads import prepare_overview, show_summary, typed_confirmation
from views.upload_mapping import FIELDS, field_label, hand_mapping, mapping_form
from views.widgets import download_table, show_table

__all__ = ["file_section"]

MODES = {
    "replace": "Replace those quarters with this file's rows",
    "append": "Append this file's rows to them",
    "cancel": "Cancel: do not load this file",
}


def quarter_figures(plan: LoadPlan, reporting: str) -> None:
    """Show, per quarter of the file that holds data, the rows and revenue the file brings against those stored."""
    show_table(pd.DataFrame(
        [(q.quarter, q.file_rows, q.file_revenue, q.stored_rows, q.stored_revenue, q.loads) for q in plan.held],
        columns=["quarter", "rows_in_file", "revenue_in_file", "rows_stored", "revenue_stored", "loads"],
    ), {"rows_in_file": "Rows in this file", "revenue_in_file": f"Revenue in this file ({reporting})",
        "rows_stored": "Rows stored", "revenue_stored": f"Revenue stored ({reporting})", "loads": "Stored from"})


def load_file(store: Store, actor: Actor | None, prepared: PreparedExtract, mode: str,
              force: bool = False) -> None:
    """Store the file with progress, then rerun so every figure shows the new data."""
    bar = st.progress(0.0, text="Starting")
    try:
        # The steps name the file: its name shows as written.
        result = store_prepared(store, prepared, mode, actor=actor, force=force,
                                progress=lambda f, m: bar.progress(min(f, 1.0), text=markdown_literal(m)))
    except (StoreError, AccessDenied) as exc:
        bar.empty()
        st.error(markdown_literal(str(exc)))
        return
    st.session_state.setdefault("_loaded", {})[prepared.content_hash] = result.load_id
    bar.progress(1.0, text="Preparing the Overview for the new data")
    prepare_overview()
    st.rerun()


def file_section(i: int, upload: UploadedFile, store: Store, actor: Actor | None, file_currency: str | None,
                 reporting: str) -> None:
    """Show the `i`-th uploaded file: its report and what can be done with it."""
    may_load = actor is not None and actor.may("load")
    may_replace = actor is not None and actor.may("replace")
    data = upload.getvalue()
    try:
        check_extract(data, upload.name)
    except ExtractTooLarge as exc:
        with st.container(border=True):
            st.subheader(markdown_literal(upload.name), anchor=False)
            st.error(f"{markdown_literal(str(exc))} Nothing was read or written.")
        return
    headers = extract_headers(data, upload.name)
    overrides = st.session_state.get("_overrides", {}).get(upload.file_id) or remembered_mapping(store, headers)
    with st.spinner(f"Reading and checking {markdown_literal(upload.name)}…"):
        prepared = prepared_upload(upload.file_id, data, upload.name, overrides, file_currency)
    report = prepared.report
    with st.container(border=True):
        st.subheader(markdown_literal(upload.name), anchor=False)
        st.caption(
            f"{report.rows:,} data rows · quarters {', '.join(report.quarters) or 'none'} · "
            f"{len(report.problems):,} problem(s)"
        )
        if report.currency_note:
            st.caption(markdown_literal(report.currency_note))
        for warning in report.warnings:
            st.info(markdown_literal(warning))
        unused = [h for h in headers if h not in report.mapping.values()]
        with st.expander("Column mapping" + (f" ({len(unused)} of the file's columns not used)" if unused else ""),
                         expanded=False):
            st.table({"Field": [field_label(c) for c in report.mapping],
                      "Column in the file": list(report.mapping.values())})
            if overrides:
                st.caption("A mapping confirmed before for files with these headers was used.")
            if may_load and headers and not (report.missing or report.ambiguous):
                hand_mapping(store, actor, i, upload.file_id, headers, report.mapping)
        if report.missing or report.ambiguous:
            mapping_form(store, actor, i, upload.file_id, headers, report.mapping, report.ambiguous)
            return
        aside = st.session_state.get("_set_aside", {}).get(upload.file_id)
        if not report.ok and aside and report.can_set_aside:
            prepared = set_aside_bad_rows(prepared)
            report = prepared.report
            st.info(f"{set_aside_text(report)}: they are not loaded, and their rejects file goes with the load.")
            st.download_button("Download the rows set aside (CSV)", rejects_csv(prepared.rejects),
                               file_name=f"rejects_{upload.name.rsplit('.', 1)[0]}.csv", mime="text/csv",
                               key=f"dl_rejects_{i}")
        if not report.ok:
            st.error(f"{markdown_literal(upload.name)} cannot be loaded as it is: fix the problems below in the file "
                     "and upload it again" + (", or set the rows with problems aside." if report.can_set_aside
                                              else "."))
            problems = report.problems_frame()
            show_table(problems)
            download_table(problems, f"problems_{upload.name}", key=f"dl_problems_{i}")
            if report.can_set_aside and may_load:
                bad = len(report.bad_rows)
                # Rows DuckDB could not split are not among the lines: count what would really load.
                good = set_aside_bad_rows(prepared).lines.num_rows
                if st.button(f"Load the {good:,} good rows, set {bad:,} aside", key=f"set_aside_{i}",
                             help="The rows with problems are kept in a rejects file (row number, reason, the row "
                                  "as it was) that you can download now and from the loads below."):
                    st.session_state.setdefault("_set_aside", {})[upload.file_id] = True
                    st.rerun()
            return

        st.markdown("**Preview: the first rows as they were understood**")
        # The amount as in the file beside its currency (the revenue column holds the same until it is stored and
        # converted), as a plain number: it is in the line's currency, not in dollars.
        preview = prepared.lines.slice(0, 10).to_pandas().drop(columns=["revenue"])
        # Partner, date (the quarter for a file without dates), amount and currency first; columns the file lacks
        # left out.
        when = "order_date" if preview["order_date"].notna().any() else "quarter"
        present = [c for c in preview if preview[c].notna().any()]
        first = [c for c in ("partner_id", "partner_name", when, "amount", "currency") if c in present]
        show_table(preview, {**FIELDS, "amount": st.column_config.NumberColumn("Amount", format="%.2f")},
                   column_order=first + [c for c in present if c not in first])

        loaded_id = st.session_state.get("_loaded", {}).get(prepared.content_hash)
        if loaded_id is not None:
            show_summary(store, loaded_id)
            return
        earlier = loaded_as(store, prepared.content_hash)
        if earlier:
            st.info(f"This file was already loaded as load #{earlier['load_id']} "
                    f"({markdown_literal(earlier['file_name'])}) on "
                    f"{earlier['loaded_at']:%Y-%m-%d %H:%M}. Loading it again changes nothing.")
            return
        no_rate = rates_missing_for(store, prepared)
        if no_rate:
            # Never a silent mix of currencies: the file waits for its rates (Exchange rates, below).
            st.error(markdown_literal(missing_rates_text(upload.name, no_rate)))
            return
        plan = load_plan(store, prepared)
        chosen = None
        if plan.held:
            st.warning("These quarters already hold data: "
                       + "; ".join(f"{q.quarter}: {q.stored_rows:,} rows from {markdown_literal(q.loads)}"
                                   for q in plan.held))
            quarter_figures(plan, reporting)
        if load_step(plan, None).ask:
            # Nothing is preselected, and a choice made for an earlier file in this place is not carried over.
            if st.session_state.get(f"_mode_file_{i}") != upload.file_id:
                st.session_state.pop(f"mode_{i}", None)
                st.session_state.pop(f"confirm_replace_{i}", None)
                st.session_state[f"_mode_file_{i}"] = upload.file_id
            chosen = st.radio("What should happen?", list(MODES), format_func=MODES.get, index=None, key=f"mode_{i}")
        elif plan.held:
            st.caption("Every row has a transaction id: rows already stored are skipped, the rest appended.")
        step = load_step(plan, chosen)
        confirmed = not step.type_to_confirm or typed_confirmation(plan.replace_warning(), plan.replace_confirmation,
                                                                   f"confirm_replace_{i}")
        if step.mode == "replace" and not may_replace:
            st.caption("Replacing quarters takes the operator or admin role.")
        if st.button(f"Load {markdown_literal(upload.name)}", key=f"load_{i}", type="primary",
                     disabled=not may_store(step, confirmed, may_replace)):
            load_file(store, actor, prepared, step.mode, force=step.force)
