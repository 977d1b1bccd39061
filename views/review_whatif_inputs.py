"""The What if tab's inputs: a program's threshold and minimums to change, typed in its currency, as rules.

The inputs start from the program's terms in the rules file, and start again when another program or
file is picked; a bad amount is named on the page and gives no rules.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st

from analytics.formatting import markdown_literal
from analytics.program.regional_programs import RegionalProgram
from analytics.program.rules import ProgramRules
from analytics.review.regional import money_exact_in
from analytics.review.whatif import parse_money

__all__ = ["whatif_rules"]

_STARTED_FROM = "whatif_started_from"  # the program and its terms the inputs started from
_INPUT_KEYS = ("whatif_threshold", "whatif_min_", "whatif_deals_", "whatif_customers_")


def whatif_rules(program: RegionalProgram, rules_file: Path) -> ProgramRules | None:
    """Show the inputs (from the program's terms in the file) and give the what-if's rules, or None on a bad input."""
    base, currency = program.rules, program.currency
    # Another program or rules file picked (or the file changed): the inputs start again from its terms.
    started_from = (program.name, base.source, base)
    if st.session_state.get(_STARTED_FROM) != started_from:
        for key in [k for k in st.session_state if str(k).startswith(_INPUT_KEYS)]:
            del st.session_state[key]
        st.session_state[_STARTED_FROM] = started_from
    threshold = st.slider("Provisional continuation from a turnaround probability of (%)", 0, 100,
                          int(round(base.provisional_threshold * 100)), 5, key="whatif_threshold") / 100
    minimums, deals, customers, problems = {}, {}, {}, []
    for col, t in zip(st.columns(len(base.tiers)), base.tiers, strict=True):
        label = markdown_literal(t.name)
        key = f"whatif_min_{t.name}"
        # Started from session state, not value=: its on_change writes the amount back as money.
        st.session_state.setdefault(key, money_exact_in(t.min_revenue, currency))
        typed = col.text_input(f"{label} minimum revenue, 4 quarters ({currency})", key=key, on_change=_as_money,
                               args=(key, currency),
                               help=f"In {currency}, as you like to type it: {money_exact_in(650_000, currency)}, "
                                    "650000 or 650k.")
        try:
            minimums[t.name] = parse_money(typed, f"{t.name} minimum revenue", currency)
        except ValueError as exc:
            problems.append(str(exc))
        deals[t.name] = col.number_input(f"{label} minimum deals", min_value=0, value=int(t.min_deals), step=1,
                                         key=f"whatif_deals_{t.name}")
        customers[t.name] = col.number_input(f"{label} minimum customers", min_value=0, value=int(t.min_customers),
                                             step=1, key=f"whatif_customers_{t.name}")
    if problems:
        st.error(markdown_literal(" ".join(problems)))
        return None
    try:
        what_if = replace(base.with_minimums(minimums, deals, customers), provisional_threshold=threshold)
    except ValueError as exc:
        st.error(markdown_literal(str(exc)))
        return None
    return replace(what_if, source=f"what-if on {rules_file.name}")


def _as_money(key: str, currency: str = "USD") -> None:
    """Show an amount typed in a revenue input as money ("700k" becomes "$700,000", "A$700,000" in AUD)."""
    try:
        st.session_state[key] = money_exact_in(parse_money(st.session_state[key], key, currency), currency)
    except ValueError:
        pass  # the page says what is wrong with it
