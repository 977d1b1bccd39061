"""The Upload page's exchange rates: load a rates file, the rates in force and their history."""

from __future__ import annotations

import streamlit as st

from analytics.access import AccessDenied, Actor
from analytics.formatting import markdown_literal
from analytics.periods import quarter_span
from analytics.store.faults import StoreError
from analytics.store.rates import RatesInvalid, current_rates, load_rates, rate_history
from analytics.store.store import Store
from views.upload_loads import prepare_overview
from views.widgets import show_table

__all__ = ["rates_section"]


def rates_section(store: Store, actor: Actor | None, may_load: bool, reporting: str) -> None:
    """Show the rates in force and their history, and let a person allowed to load extracts load a rates file."""
    st.caption(f"Channel-wide figures are in {reporting}, the reporting currency (set in the program file). A rate "
               f"is {reporting} per unit of a currency in a quarter; a line's revenue is its amount at its quarter's "
               "rate, rounded to the cent once. New rates for a quarter convert its lines again and every figure "
               "follows.")
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
                st.error(f"{markdown_literal(rates_file.name)}: not loaded, nothing was changed. Fix the problems "
                         "below and load it again.")
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
        st.info(f"No exchange rates loaded: only files in {reporting} can be loaded.")
    else:
        table = rates.pivot(index="quarter", columns="currency", values="rate").reset_index()
        table.columns.name = None
        with st.expander(f"Rates in force: {len(rates):,} for {rates['currency'].nunique()} currencies, "
                         f"{quarter_span(rates['quarter'].min(), rates['quarter'].max())}"):
            st.dataframe(table, hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(f"{c} ({reporting} per {c})", format="%.4f")
                                        for c in table.columns if c != "quarter"} | {"quarter": "Quarter"})
        history = rate_history(store)
        files = history["rate_load_id"].nunique()
        with st.expander(f"Rate history ({files:,} rates file{'' if files == 1 else 's'} loaded)"):
            show_table(history.drop(columns=["rate_load_id"]), {
                "previous_rate": "Rate before", "rate": "Rate", "lines": "Lines converted again",
                "revenue_change": f"Revenue change ({reporting})", "file_name": "File", "loaded_at": "Loaded at",
                "loaded_by": "Loaded by"})
