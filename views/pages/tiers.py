"""Tiers: how partners and revenue spread across tiers, how partners moved, how concentrated revenue is."""

import streamlit as st

from analytics import charts
from analytics.analyses.queries import partners_by_tier
from analytics.analyses.tiers import (
    MOVES,
    move_definitions,
    recorded_against_met,
    revenue_concentration,
    tier_distribution,
    tier_flow,
    tier_moves,
)
from analytics.formatting import markdown_literal, money
from analytics.periods import quarters_to, trailing_span
from analytics.program.regional_programs import load_programs
from analytics.program.rules import load_program
from analytics.store.quarters import shift_quarter
from views.cache import cached, cached_figure
from views.sidebar import current_filter
from views.style import show_chart
from views.widgets import download_table, partner_table, show_table

st.title("Tiers")
flt = current_filter()
try:  # regional programs' tiers count at their global levels, so every region is on one ladder
    programs = load_programs()
except ValueError:
    programs = None  # the rules section below says what is wrong with the file
distribution = cached(tier_distribution, flt, programs)
if flt.quarter is None or distribution.empty:
    st.info("No partner matches the filters. Widen the selection in the sidebar.")
    st.stop()
q = flt.quarter
st.caption(f"As of {q} · {markdown_literal(flt.describe())}. Revenue in USD, net of credits and returns.")

st.subheader(f"Partners and revenue per recorded tier, {quarters_to(q)}")
current = cached(partners_by_tier, flt, q, programs)
if current.empty:
    st.info(f"No partner in the selection ordered in the four quarters to {q}.")
else:
    total = float(current["revenue_trailing"].sum())
    for col, row in zip(st.columns(len(current)), current.itertuples(), strict=True):
        col.metric(
            markdown_literal(row.tier),
            f"{row.partners:,}",
            help=f"{row.partners / current['partners'].sum():.1%} of the active partners; revenue "
                 f"{money(row.revenue_trailing)}" + (f" ({row.revenue_trailing / total:.1%})" if total > 0 else ""),
        )
    st.caption(
        f"Active partners: an order in the four quarters {trailing_span(q)}, each in its latest tier recorded "
        "in the data there (Tier (recorded)), as on the Overview and in the tier moves below. The chart counts each "
        "quarter's partners with an order in that quarter, in the tier recorded then, so its counts are lower. The "
        "annual review sorts partners by the tier their figures meet (the program's minimums), which can differ from "
        "the recorded tier: the moves table shows both."
        + (f" Tiers of regional programs count at their global level ({markdown_literal(programs.ladder_words())}), "
           "here and in the chart." if programs and programs.ladder_words() else "")
    )
measure = st.segmented_control(
    "Share of", ["revenue", "partners"], default="revenue", key="tier_measure",
    format_func=lambda m: "Revenue" if m == "revenue" else "Partners",
)
show_chart(cached_figure(charts.tier_share_over_time, distribution, measure or "revenue"))
with st.expander("Partners and revenue per tier and quarter (table)"):
    show_table(distribution)
    download_table(distribution, "tier_distribution", key="dl_tier_distribution")

st.subheader("Recorded tier moves")
quarters = sorted(distribution["quarter"].unique())
earlier = [x for x in quarters if x < q]
if not earlier:
    st.info(f"No quarter before {q} to compare with.")
else:
    default = shift_quarter(q, -4) if shift_quarter(q, -4) in earlier else earlier[0]
    from_q = st.selectbox("Compare with", earlier[::-1], index=earlier[::-1].index(default), key="tier_from")
    try:
        rules = load_program()
    except ValueError as exc:
        rules = None
        st.warning(f"Without the tier its figures meet: the program rules cannot be used: {markdown_literal(str(exc))}")
    moves = cached(tier_moves, flt, from_q, q, rules)
    st.caption(move_definitions(from_q, q))
    counts = moves["move"].value_counts()
    for col, move in zip(st.columns(len(MOVES)), MOVES, strict=True):
        col.metric(move.capitalize(), f"{int(counts.get(move, 0)):,}", help=f"Partners {move}, {from_q} → {q}")
    show_chart(cached_figure(charts.tier_flow_sankey, tier_flow(moves), from_q, q))
    show = st.multiselect(
        "Show partners who were", ["promoted", "demoted", "lapsed", "new", "returned", "kept"],
        default=["promoted", "demoted"], key="tier_moves_shown",
    )
    if rules is not None:
        against = recorded_against_met(moves, rules)
        st.caption(
            f"Of the {sum(against.values()):,} partners with a recorded tier in the year to {q}, the figures of "
            f"{against['higher']:,} meet a higher tier than the one recorded, {against['same']:,} their recorded tier "
            f"and {against['lower']:,} a lower tier or none: the data record the tier the program gave a partner, "
            "the annual review weighs its figures (the table shows both)."
        )
    shown = moves[moves["move"].isin(show)]  # tier_moves' order, stated below
    partner_table(
        shown, f"tier_moves_{from_q}_{q}", "dl_tier_moves",
        f"by move ({', '.join(MOVES)}), then by the larger of the two periods' revenue, largest first",
        labels={"revenue_from": f"Revenue {trailing_span(from_q)}",
                "revenue_to": f"Revenue {trailing_span(q)}",
                "from_tier": f"Tier (recorded), year to {from_q}", "to_tier": f"Tier (recorded), year to {q}",
                "qualifies_for": f"Tier its figures meet, {trailing_span(q)}"},
    )

st.subheader("Revenue concentration")
concentration = cached(revenue_concentration, flt, q)
show_chart(cached_figure(charts.concentration_bars, concentration, q))
show_table(concentration)
download_table(concentration, f"revenue_concentration_{q}", key="dl_concentration")
