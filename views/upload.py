"""Upload: quarterly sales extracts from the browser: preview, mapping and report first, then load or roll back."""

import contextlib

import pandas as pd
import streamlit as st

from analytics.access import AccessDenied
from analytics.formatting import markdown_literal
from analytics.ingest.extract import required_columns
from analytics.ingest.history import list_loads, load_history, load_rejects, load_summary, loaded_as
from analytics.ingest.limits import ExtractTooLarge, check_extract, limits_text
from analytics.ingest.load import store_prepared
from analytics.ingest.mappings import remember_mapping, remembered_mapping
from analytics.ingest.plan import LoadPlan, load_plan, rates_missing_for
from analytics.ingest.read import extract_headers
from analytics.ingest.rejects import rejects_csv, set_aside_bad_rows, set_aside_text
from analytics.ingest.report import AmbiguousColumn, PreparedExtract
from analytics.ingest.rollback import rollback_load, rollback_plan
from analytics.labels import column
from analytics.review.programs import load_programs
from analytics.review.regional import MissingRates
from analytics.store.currencies import ISO_4217
from analytics.store.rates import (
    RatesInvalid,
    current_rates,
    load_rates,
    missing_rates_text,
    rate_history,
    reporting_currency,
)
from analytics.store.schema import CANONICAL_COLUMNS
from analytics.store.store import StoreError
from views.auth import current_actor
from views.db import get_store, prepared_upload
from views.overview_sections import last_load_changes
from views.widgets import download_table, linked_table, show_table

st.title("Upload extracts")
store = get_store()
actor = current_actor()
may_load = actor is not None and actor.may("load")
may_replace = actor is not None and actor.may("replace")
may_roll_back = actor is not None and actor.may("roll back")
st.caption(
    f"CSV (`,` `;` tab or `|` separated) or Excel .xlsx, {limits_text()}. Each file is read and "
    "checked first; nothing is written until you press Load, and a file with problems writes nothing."
)
try:
    REPORTING = reporting_currency()
except StoreError as exc:
    st.error(markdown_literal(str(exc)))
    st.stop()
if may_load:
    files = st.file_uploader(
        "Sales extracts", type=["csv", "txt", "xlsx"], accept_multiple_files=True, key="uploads",
        help="One row per order line (or per partner and quarter): partner id, date or quarter, revenue.",
    )
    # The reporting currency first: choosing it is the same as choosing none (the file's amounts are taken as is).
    chosen_currency = st.selectbox(
        "Currency of the amounts", [REPORTING, *sorted(ISO_4217 - {REPORTING})], key="file_currency",
        help=f"Used for a file that names no currency: no currency column, and no code in the amount's header "
             f"(like “Amount (AUD)”). Lines in another currency than {REPORTING}, the reporting currency, are "
             "converted at their quarter's exchange rate (Exchange rates, below).",
    )
    file_currency = None if chosen_currency == REPORTING else chosen_currency
else:
    files, file_currency = [], None
    # The name comes from the sign-in token: a ":material/...:" or ":red[...]" in it is shown as written.
    st.info(f"Loading extracts takes the operator or admin role; {markdown_literal(actor.who) if actor else 'you'} "
            f"{'is ' + actor.role if actor else 'are not signed in'}.")

# The fields as people name them (the engine's names are partner_id, order_date, revenue).
# Revenue is the amount as the file has it, in its own currency; the store converts it to the reporting currency.
FIELDS = {"partner_id": "Partner id", "order_date": "Order date", "quarter": "Quarter", "revenue": "Amount",
          "currency": "Currency"}

MODES = {
    "replace": "Replace those quarters with this file's rows",
    "append": "Append this file's rows to them",
    "cancel": "Cancel: do not load this file",
}


def mapping_form(i: int, file_id: str, headers: list[str], mapping: dict[str, str],
                 ambiguous: list[AmbiguousColumn]) -> None:
    """Let a person map required columns not recognised, or held by several differing columns; it is remembered."""
    if ambiguous:
        # Amounts and dates are never guessed: the person picks among the candidates, none preselected.
        st.warning("Several columns could hold the same field and their values differ. Choose the one to use. "
                   + " ".join(f"{a.column}: {', '.join(markdown_literal(repr(h)) for h in a.headers)} differ in "
                              f"{a.differing_rows:,} row(s), first in row(s) {', '.join(map(str, a.first_rows))}."
                              for a in ambiguous))
        options = {a.column: list(a.headers) for a in ambiguous}
    else:
        st.warning("Some required columns were not recognised. Choose which of the file's columns hold them.")
        options = {canonical: headers for canonical in required_columns(mapping)}
    choices = {}
    cols = st.columns(len(options))
    for col, canonical in zip(cols, options, strict=True):
        field = FIELDS.get(canonical, column(canonical).label)
        label = f"{field} (or a quarter column)" if canonical == "order_date" and not ambiguous else field
        choices[canonical] = col.selectbox(
            label, options[canonical],
            index=headers.index(mapping[canonical]) if canonical in mapping and not ambiguous else None,
            key=f"map_{i}_{canonical}", placeholder="Choose a column",
        )
    if "order_date" in options and not ambiguous:
        is_quarter = st.checkbox("That column holds quarters (like 2025Q3), not dates", key=f"map_{i}_is_quarter")
        if is_quarter and choices.get("order_date"):
            choices["quarter"] = choices.pop("order_date")
    if st.button("Use this mapping", key=f"map_{i}_apply", disabled=not all(choices.values())):
        confirmed = {**mapping, **choices}
        try:
            remember_mapping(store, headers, confirmed, actor=actor)
        except (StoreError, AccessDenied) as exc:
            st.error(markdown_literal(str(exc)))  # it may quote the file's headers
            return
        st.session_state.setdefault("_overrides", {})[file_id] = confirmed
        st.rerun()


NOT_USED = "(not used)"


def hand_mapping(i: int, file_id: str, headers: list[str], mapping: dict[str, str]) -> None:
    """Let a person map any field the importer knows, the optional ones included, to the file's columns; remembered."""
    st.caption("Change which of the file's columns holds each field; fields left “not used” are not read.")
    choices = {}
    for n, canonical in enumerate(CANONICAL_COLUMNS):
        if n % 3 == 0:  # a row of three at a time: on a phone they stack in the fields' order
            cols = st.columns(3)
        current = mapping.get(canonical)
        choices[canonical] = cols[n % 3].selectbox(
            FIELDS.get(canonical, column(canonical).label), [NOT_USED, *headers],
            index=headers.index(current) + 1 if current in headers else 0, key=f"remap_{i}_{canonical}")
    chosen = {c: h for c, h in choices.items() if h != NOT_USED}
    twice = sorted({h for h in chosen.values() if list(chosen.values()).count(h) > 1})
    if twice:
        st.error("A column can hold one field only: " + ", ".join(markdown_literal(repr(h)) for h in twice)
                 + " is chosen for several.")
    if st.button("Use this mapping", key=f"remap_{i}_apply", disabled=bool(twice) or chosen == mapping):
        try:
            remember_mapping(store, headers, chosen, actor=actor)
        except (StoreError, AccessDenied, ValueError) as exc:
            st.error(markdown_literal(str(exc)))
            return
        st.session_state.setdefault("_overrides", {})[file_id] = chosen
        st.rerun()


def quarter_figures(plan: LoadPlan) -> None:
    """Show, per quarter of the file that holds data, the rows and revenue the file brings against those stored."""
    show_table(pd.DataFrame(
        [(q.quarter, q.file_rows, q.file_revenue, q.stored_rows, q.stored_revenue, q.loads) for q in plan.held],
        columns=["quarter", "rows_in_file", "revenue_in_file", "rows_stored", "revenue_stored", "loads"],
    ), {"rows_in_file": "Rows in this file", "revenue_in_file": f"Revenue in this file ({REPORTING})",
        "rows_stored": "Rows stored", "revenue_stored": f"Revenue stored ({REPORTING})", "loads": "Stored from"})


def typed_confirmation(warning: str, words: str, key: str) -> bool:
    """Show what a destructive step removes and give whether the person typed the words that confirm it."""
    st.error(markdown_literal(warning), icon=":material/warning:")
    typed = st.text_input(f"To go ahead, type: {words}", key=key, placeholder=words)
    return " ".join(typed.lower().split()) == words.lower()


def load_file(prepared: PreparedExtract, mode: str, force: bool = False) -> None:
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


def prepare_overview() -> None:
    """Compute what changed with the last load now, under the load's progress, so the Overview opens at once."""
    # It is the Overview's costliest part after a change of the data (about a second at the demo size) and
    # the page people open next; cached per data version, so the Overview finds it ready.
    # Rules that cannot be used or rates missing: the Overview says so itself.
    with contextlib.suppress(ValueError, MissingRates):
        last_load_changes(load_programs())


def show_summary(load_id: int) -> None:
    """Show what a load added, and the partners gone since the quarter before."""
    summary, gone = load_summary(store, load_id)
    st.success(f"Loaded as load #{load_id}. The other pages show the new data now; the churn and turnaround "
               "scores are being brought up to date in the background (the risk pages show the previous ones and "
               "say so until then).")
    if summary.get("rows_set_aside"):
        st.caption(f"{summary['rows_set_aside']:,} row(s) with problems were set aside; their rejects file is in "
                   "the loads below.")
    # Short labels that fit a quarter of the page; what each counts is in its help.
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows added", f"{summary['rows_added']:,}", help="Order lines of this file now stored.")
    c2.metric("Rows skipped", f"{summary['rows_skipped']:,}",
              help="Lines whose transaction id was already stored: not counted twice.")
    c3.metric("New partners", f"{summary['new_partners']:,}", help="Partners in no earlier load.")
    c4.metric("Partners gone", f"{summary['partners_gone']:,}",
              help=f"Partners with orders in {summary['quarter_before']} and none in {summary['latest_quarter']}.")
    st.caption(f"Quarters covered: {', '.join(summary['quarters'])}. Rows replaced: {summary['rows_replaced']:,}.")
    if not gone.empty:
        with st.expander(f"The {len(gone):,} partners with no order in {summary['latest_quarter']}"):
            linked_table(gone, f"gone_table_{load_id}",
                         {"revenue_quarter_before": f"Revenue {summary['quarter_before']}"})


for i, upload in enumerate(files or []):
    data = upload.getvalue()
    try:
        check_extract(data, upload.name)
    except ExtractTooLarge as exc:
        with st.container(border=True):
            st.subheader(markdown_literal(upload.name), anchor=False)
            st.error(f"{markdown_literal(str(exc))} Nothing was read or written.")
        continue
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
            st.table({"Field": [FIELDS.get(c, column(c).label) for c in report.mapping],
                      "Column in the file": list(report.mapping.values())})
            if overrides:
                st.caption("A mapping confirmed before for files with these headers was used.")
            if may_load and headers and not (report.missing or report.ambiguous):
                hand_mapping(i, upload.file_id, headers, report.mapping)
        if report.missing or report.ambiguous:
            mapping_form(i, upload.file_id, headers, report.mapping, report.ambiguous)
            continue
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
            continue

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
            show_summary(loaded_id)
            continue
        earlier = loaded_as(store, prepared.content_hash)
        if earlier:
            st.info(f"This file was already loaded as load #{earlier['load_id']} "
                    f"({markdown_literal(earlier['file_name'])}) on "
                    f"{earlier['loaded_at']:%Y-%m-%d %H:%M}. Loading it again changes nothing.")
            continue
        no_rate = rates_missing_for(store, prepared)
        if no_rate:
            # Never a silent mix of currencies: the file waits for its rates (Exchange rates, below).
            st.error(markdown_literal(missing_rates_text(upload.name, no_rate)))
            continue
        plan = load_plan(store, prepared)
        mode, confirmed = "refuse", True
        if plan.held:
            st.warning("These quarters already hold data: "
                       + "; ".join(f"{q.quarter}: {q.stored_rows:,} rows from {markdown_literal(q.loads)}"
                                   for q in plan.held))
            quarter_figures(plan)
            if not plan.needs_choice:
                st.caption("Every row has a transaction id: rows already stored are skipped, the rest appended.")
            else:
                # Nothing is preselected, and a choice made for an earlier file in this place is not carried over.
                if st.session_state.get(f"_mode_file_{i}") != upload.file_id:
                    st.session_state.pop(f"mode_{i}", None)
                    st.session_state.pop(f"confirm_replace_{i}", None)
                    st.session_state[f"_mode_file_{i}"] = upload.file_id
                mode = st.radio("What should happen?", list(MODES), format_func=MODES.get, index=None,
                                key=f"mode_{i}")
        if mode == "replace" and plan.replace_removes_most:
            confirmed = typed_confirmation(plan.replace_warning(), plan.replace_confirmation, f"confirm_replace_{i}")
        if mode == "replace" and not may_replace:
            st.caption("Replacing quarters takes the operator or admin role.")
        if st.button(f"Load {markdown_literal(upload.name)}", key=f"load_{i}", type="primary",
                     disabled=mode in (None, "cancel") or not confirmed or (mode == "replace" and not may_replace)):
            load_file(prepared, mode, force=mode == "replace" and bool(plan.replace_removes_most))

st.divider()
st.subheader("Exchange rates")
st.caption(f"Channel-wide figures are in {REPORTING}, the reporting currency (set in the program file). A rate is "
           f"{REPORTING} per unit of a currency in a quarter; a line's revenue is its amount at its quarter's rate, "
           "rounded to the cent once. New rates for a quarter convert its lines again and every figure follows.")
rates_done = st.session_state.pop("_rates_loaded", None)
if rates_done:
    st.success(markdown_literal(rates_done))
if may_load:
    rates_file = st.file_uploader("Rates file (CSV or Excel: quarter, currency, rate)", type=["csv", "txt", "xlsx"],
                                  key="rates_upload")
    if rates_file is not None and st.button(f"Load rates from {markdown_literal(rates_file.name)}",
                                            key="rates_load", type="primary"):
        try:
            with st.spinner("Loading the rates and converting the lines they touch…"):
                loaded = load_rates(store, rates_file.getvalue(), rates_file.name, actor=actor)
        except RatesInvalid as exc:
            st.error(f"{markdown_literal(rates_file.name)}: not loaded, nothing was changed. Fix the problems below "
                     "and load it again.")
            show_table(exc.problems_frame())
        except (StoreError, AccessDenied) as exc:
            st.error(markdown_literal(str(exc)))
        else:
            st.session_state["_rates_loaded"] = loaded.message
            if loaded.rate_load_id is not None:
                prepare_overview()
            st.rerun()
rates = current_rates(store)
if rates.empty:
    st.info(f"No exchange rates loaded: only files in {REPORTING} can be loaded.")
else:
    table = rates.pivot(index="quarter", columns="currency", values="rate").reset_index()
    table.columns.name = None
    with st.expander(f"Rates in force: {len(rates):,} for {rates['currency'].nunique()} currencies, "
                     f"{rates['quarter'].min()}–{rates['quarter'].max()}"):
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(f"{c} ({REPORTING} per {c})", format="%.4f")
                                    for c in table.columns if c != "quarter"} | {"quarter": "Quarter"})
    history = rate_history(store)
    files = history["rate_load_id"].nunique()
    with st.expander(f"Rate history ({files:,} rates file{'' if files == 1 else 's'} loaded)"):
        show_table(history.drop(columns=["rate_load_id"]), {
            "previous_rate": "Rate before", "rate": "Rate", "lines": "Lines converted again",
            "revenue_change": f"Revenue change ({REPORTING})", "file_name": "File", "loaded_at": "Loaded at",
            "loaded_by": "Loaded by"})

st.divider()
st.subheader("Loads")
loads = list_loads(store)
if loads.empty:
    st.info("Nothing loaded yet.")
else:
    show_table(load_history(store))
    with_rejects = loads[loads["rows_set_aside"] > 0]
    for r in with_rejects.head(5).itertuples():
        st.download_button(f"Rows set aside by load #{r.load_id} ({r.rows_set_aside:,}, CSV)",
                           load_rejects(store, r.load_id) or b"", file_name=f"rejects_load_{r.load_id}.csv",
                           mime="text/csv", key=f"dl_load_rejects_{r.load_id}", icon=":material/download:")
    active = loads[loads["status"] == "active"]
    if not may_roll_back:
        st.caption("Rolling back a load takes the operator or admin role.")
    elif not active.empty:
        labels = {r.load_id: f"#{r.load_id} {r.file_name} ({r.quarters}, {r.rows_added:,} rows)"
                  for r in active.itertuples()}
        chosen = st.selectbox("Roll back a load", list(labels), format_func=labels.get, index=None,
                              key="rollback_pick", placeholder="Choose a load")
        if chosen is not None and st.button("Roll back…", key="rollback_ask"):
            st.session_state["_rollback_pending"] = int(chosen)
        pending = st.session_state.get("_rollback_pending")
        if pending is not None and pending in labels:
            st.warning(f"Roll back {markdown_literal(labels[pending])}? Its rows are removed from every page; "
                       "rows it replaced come back.")
            undo = rollback_plan(store, pending)
            confirmed = not undo.emptied or typed_confirmation(undo.warning(), undo.confirmation, "confirm_rollback")
            yes, no = st.columns(2)
            if yes.button("Yes, roll it back", key="rollback_confirm", type="primary", disabled=not confirmed):
                try:
                    quarters = rollback_load(store, pending, actor=actor, force=bool(undo.emptied))
                except (StoreError, AccessDenied) as exc:
                    st.error(markdown_literal(str(exc)))
                    st.stop()
                st.session_state.pop("_rollback_pending")
                st.session_state.pop("confirm_rollback", None)
                prepare_overview()
                # A summary of the undone load must not be shown again as if it stood.
                loaded = st.session_state.get("_loaded", {})
                st.session_state["_loaded"] = {h: n for h, n in loaded.items() if n != pending}
                st.toast(f"Rolled back load #{pending}; quarters {', '.join(quarters)} refreshed.")
                st.rerun()
            if no.button("Cancel", key="rollback_cancel"):
                st.session_state.pop("_rollback_pending")
                st.rerun()
