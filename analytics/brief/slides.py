"""The board pack's slides, one function each: title, headline, tiers, drop-offs, risk, recruits, review and the
quarter in messages, with the figures the pages show."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION
from pptx.util import Pt

from analytics.analyses.dropoffs import partner_changes, revenue_bridge, significant_dropoffs
from analytics.analyses.messages import NOISE_RULES, Message, QuarterMessages, tier_change
from analytics.analyses.queries import overview, partners_by_tier
from analytics.analyses.recruits import cohort_table, recruit_history
from analytics.analyses.tiers import MOVES, move_definitions, tier_moves
from analytics.brief.drawing import (
    COUNT,
    FALL,
    GROWTH,
    MONEY,
    NEUTRAL,
    inches_box,
    new_slide,
    place_shape,
    put_chart,
    put_table,
    put_text,
    rgb_colour,
    uses_default_template,
)
from analytics.brief.template import TITLE_LAYOUT, slide_layout
from analytics.charts import TIER_COLOURS, bridge_axis
from analytics.filters import ChannelFilter
from analytics.formatting import count, money, pct_change, probability_text, signed_pct
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.risk import risk_periods, risk_summary, risk_table
from analytics.model.scoring import score_status
from analytics.periods import quarter_span, quarters_to, trailing_span
from analytics.program.rules import load_program
from analytics.review.actions import BEHIND, MET, MISSED, ON_TRACK
from analytics.review.decisions import action_counts
from analytics.review.saved_reviews import list_reviews, load_review, provisional_follow_up
from analytics.store.quarters import quarter_index, quarter_label, shift_quarter
from analytics.store.schema import ordered_tiers
from analytics.store.store import Store

__all__ = [
    "RISK_THRESHOLD",
    "DROPOFF_THRESHOLD",
    "QUARTERS_SHOWN",
    "ROWS_SHOWN",
    "MESSAGES_TITLE",
    "DeckInputs",
    "title_slide",
    "headline_slide",
    "tier_slides",
    "dropoff_slides",
    "risk_slide",
    "COHORTS_SHOWN",
    "recruits_slide",
    "review_slide",
    "messages_slide",
]


RISK_THRESHOLD = 0.5     # as the Partners at risk page's default
DROPOFF_THRESHOLD = 0.5  # as the Revenue drop-offs page's default
QUARTERS_SHOWN = 8       # quarters on the charts over time
ROWS_SHOWN = 10          # partners in a slide's table
MESSAGES_TITLE = "What changed: the quarter in messages"


@dataclass(frozen=True)
class DeckInputs:
    """What several slides show, read once per pack (a third of its time went to reading it again)."""

    quarters: tuple[str, ...]       # filter_options' quarters
    flows: pd.DataFrame             # new_and_lapsed
    by_tier: pd.DataFrame           # revenue_by_tier
    found: QuarterMessages          # the messages and the frames they rest on


# -- slides ---------------------------------------------------------------------------------------
def title_slide(deck: Presentation, flt: ChannelFilter, quarter: str, inputs: DeckInputs) -> None:
    quarters = inputs.quarters
    slide = deck.slides.add_slide(slide_layout(deck, TITLE_LAYOUT))
    subtitle = next((p for p in slide.placeholders if p.placeholder_format.idx == 1), None)
    if uses_default_template(deck):
        place_shape(slide.shapes.title, 0.8, 2.2, 11.7, 1.5)
        place_shape(subtitle, 0.8, 4.0, 11.7, 1.5)
    slide.shapes.title.text = f"Channel Health: the channel in {quarter}"
    said = (f"Board pack · data {quarter_span(quarters[0], quarters[-1])} · {flt.describe()}\n"
            "Revenue in USD, net of credits and returns")
    if subtitle is not None:
        subtitle.text = said
    else:  # a company's title layout without a subtitle: the line goes under its title
        put_text(slide, said.split("\n"), left=0.8, top=5.2, width=11.7, height=1.2, size=18)


def _flat_title(what: str, now: float, before: float, period: str) -> str:
    change = pct_change(now, before)
    return f"{what} {money(now)} over {period}, {signed_pct(change) or 'n/a'} on the year before"


def headline_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                    said: dict[str, Message], inputs: DeckInputs) -> None:
    summary = overview(store, flt)
    year_before = shift_quarter(quarter, -4)
    flows = inputs.flows.set_index("quarter")
    flow = lambda q, c: flows[c].get(q) if q in flows.index else None  # noqa: E731
    change = summary.active_partners - summary.active_partners_before
    slide = new_slide(deck, f"Revenue in {quarter}: {money(summary.revenue_quarter)}, "
                         f"{signed_pct(pct_change(summary.revenue_quarter, summary.revenue_quarter_before)) or 'n/a'} "
                         f"on {year_before}; {summary.active_partners:,} active partners ({change:+,})")
    rows = [
        [f"Active partners, {quarters_to(quarter)}", f"{summary.active_partners:,}",
         f"{summary.active_partners_before:,}", f"{summary.active_partners - summary.active_partners_before:+,}"],
        [f"Revenue in {quarter} (vs {year_before})", money(summary.revenue_quarter),
         money(summary.revenue_quarter_before),
         signed_pct(pct_change(summary.revenue_quarter, summary.revenue_quarter_before)) or "n/a"],
        [f"Revenue, {quarters_to(quarter)}", money(summary.revenue_trailing), money(summary.revenue_trailing_before),
         signed_pct(pct_change(summary.revenue_trailing, summary.revenue_trailing_before)) or "n/a"],
        [f"New partners in {quarter} (vs {year_before})", count(flow(quarter, "new_partners")),
         count(flow(year_before, "new_partners")), ""],
        [f"Lapsed partners in {quarter} (vs {year_before})", count(flow(quarter, "lapsed_partners")),
         count(flow(year_before, "lapsed_partners")), ""],
    ]
    put_table(slide, ["", "Now", "A year before", "Change"], rows, top=1.6, width=6.2, widths=[3.1, 1.1, 1.1, 0.9])
    per_quarter = inputs.by_tier.groupby("quarter")["revenue"].sum()
    shown = [quarter_label(i) for i in range(quarter_index(quarter) - QUARTERS_SHOWN + 1, quarter_index(quarter) + 1)]
    shown = [q for q in shown if q in per_quarter.index]
    put_chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, shown, {"Revenue": [per_quarter[q] for q in shown]},
           MONEY, "Revenue per quarter (USD)", colours={"Revenue": NEUTRAL})


def _largest_tier_change(tiers: pd.DataFrame, said: dict[str, Message]) -> str:
    if "tier" in said:
        return said["tier"].title
    now, before = int(tiers["partners"].sum()), int(tiers["partners_before"].sum())
    return f"Active partners {before:,} → {now:,} ({now - before:+,}) on a year before; no tier moved beyond the noise"


def tier_slides(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                 said: dict[str, Message], inputs: DeckInputs) -> object | None:
    """Put the tier slides (partners per tier against a year before, revenue per tier, moves); give the first.

    The first slide shows each tier now against a year before, titled with the largest tier message.
    """
    quarters, found = inputs.quarters, inputs.found
    year_before = shift_quarter(quarter, -4)
    compared = year_before >= quarters[0]
    if found.tiers is not None:
        tiers = found.tiers
    else:
        now = partners_by_tier(store, flt, quarter)
        tiers = tier_change(now, partners_by_tier(store, flt, year_before) if compared else now.iloc[0:0])
    order = tiers["tier"].tolist()
    slide = first = new_slide(deck, _largest_tier_change(tiers, said) if compared
                           else f"{int(tiers['partners'].sum()):,} active partners in the {quarters_to(quarter)}")
    if compared:
        put_table(slide, ["Tier (recorded)", f"Partners, {year_before}", f"Partners, {quarter}", "Net change",
                       f"Revenue, {quarters_to(quarter)}"],
               [[r.tier, f"{r.partners_before:,}", f"{r.partners:,}", f"{r.net_change:+,}", money(r.revenue)]
                for r in tiers.itertuples()]
               + [["All", f"{int(tiers['partners_before'].sum()):,}", f"{int(tiers['partners'].sum()):,}",
                   f"{int(tiers['net_change'].sum()):+,}", money(tiers["revenue"].sum())]],
               width=6.1, widths=[1.4, 1.1, 1.1, 1.0, 1.5], top=1.6)
        series = {f"{year_before}": tiers["partners_before"].tolist(), f"{quarter}": tiers["partners"].tolist()}
        colours = {year_before: RGBColor(0xBD, 0xBD, 0xBD), quarter: NEUTRAL}
    else:
        put_table(slide, ["Tier (recorded)", "Partners", "Revenue, 4 quarters"],
               [[r.tier, f"{r.partners:,}", money(r.revenue)] for r in tiers.itertuples()]
               + [["All", f"{int(tiers['partners'].sum()):,}", money(tiers["revenue"].sum())]], width=5.5)
        series, colours = {"Partners": tiers["partners"].tolist()}, {"Partners": NEUTRAL}
    put_chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, order, series, COUNT,
           "Active partners per recorded tier" + (", now against a year before" if compared else ""),
           colours=colours)
    put_text(slide, ["Active: an order in the four quarters to the quarter named; each partner in the latest tier the "
                  "data record for it there, not the tier its figures meet."], top=5.3, width=6.1, height=1.2, size=12)
    by_tier = inputs.by_tier
    shown = sorted(q for q in by_tier["quarter"].unique()
                   if quarter_index(quarter) - QUARTERS_SHOWN < quarter_index(q) <= quarter_index(quarter))
    table = by_tier[by_tier["quarter"].isin(shown)].pivot_table(
        index="quarter", columns="tier", values="revenue", aggfunc="sum").reindex(shown).fillna(0.0)
    slide = new_slide(deck, _revenue_per_tier_title(table, quarter, year_before))
    put_chart(slide, XL_CHART_TYPE.COLUMN_STACKED, shown,
           {t: table[t].tolist() for t in ordered_tiers(table.columns)}, MONEY, "Revenue per quarter by tier (USD)",
           left=0.5, width=12.3, top=1.4, height=5.8, colours={t: rgb_colour(c) for t, c in TIER_COLOURS.items()})
    earlier = [q for q in quarters if q < quarter]
    if not earlier:
        put_text(new_slide(deck, "No recorded tier moves yet"), [f"No quarter before {quarter} to compare with."])
        return first
    from_q = year_before if year_before in earlier else earlier[0]
    moves = found.moves if found.moves is not None and from_q == year_before else tier_moves(store, flt, from_q,
                                                                                               quarter)
    counts = moves["move"].value_counts()
    n = {m: int(counts.get(m, 0)) for m in MOVES}
    slide = new_slide(deck, f"Since {from_q}: {n['promoted']:,} promoted, {n['demoted']:,} demoted, "
                         f"{n['lapsed']:,} lapsed, {n['new']:,} new (recorded tiers)")
    put_table(slide, ["Move", "Partners"], [[m, f"{n[m]:,}"] for m in MOVES], width=4.5)
    put_text(slide, [move_definitions(from_q, quarter)], top=4.9, width=5.8, height=2.4, size=11)
    put_chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, list(MOVES), {"Partners": [n[m] for m in MOVES]},
           COUNT, f"Partners per recorded tier move, {from_q} → {quarter}", colours={"Partners": NEUTRAL})
    return first


def _revenue_per_tier_title(table: pd.DataFrame, quarter: str, year_before: str) -> str:
    """Say which tier's revenue in `quarter` grew most and which fell most against `year_before` (the chart's data)."""
    if quarter not in table.index or year_before not in table.index:
        return f"Revenue per tier and quarter to {quarter}"
    change = (table.loc[quarter] - table.loc[year_before]).sort_values()
    parts = []
    if change.iloc[-1] > 0:
        parts.append(f"{change.index[-1]} {'+' + money(change.iloc[-1])}")
    if change.iloc[0] < 0:
        parts.append(f"{change.index[0]} {money(change.iloc[0])}")
    if not parts:
        return f"Revenue per tier and quarter to {quarter}"
    return f"Revenue in {quarter} against {year_before}, by tier recorded: " + ", ".join(parts)


def _bridge_chart(slide, bridge: pd.DataFrame) -> None:
    """Put the revenue bridge as a waterfall whose axis shows the change (not from zero), each step labelled."""
    amounts = bridge["amount"].tolist()
    # A waterfall drawn as stacked columns: an invisible base lifts each change to where the last one ended.
    bases, heights, levels, running = [], [], [], 0.0
    for i, amount in enumerate(amounts):
        if i in (0, len(amounts) - 1):
            bases.append(0.0)
            heights.append(amount)
            running = amount
            levels.append(amount)
        else:
            bases.append(running + min(amount, 0.0))
            heights.append(abs(amount))
            running += amount
            levels += [running - amount, running]
    low, high = bridge_axis(levels)
    chart = put_chart(slide, XL_CHART_TYPE.COLUMN_STACKED, bridge["component"].tolist(),
                   {"Base": bases, "Amount": heights}, MONEY,
                   f"Revenue bridge (USD; the axis starts at {money(low)}, not at zero)",
                   left=5.8, width=7.0)  # always six components, so always a chart
    chart.has_legend = False
    axis = chart.value_axis
    axis.minimum_scale, axis.maximum_scale = low, high
    base, amount = chart.plots[0].series
    base.format.fill.background()
    for i, value in enumerate(amounts):
        point = amount.points[i]
        point.format.fill.solid()
        point.format.fill.fore_color.rgb = (NEUTRAL if i in (0, len(amounts) - 1)
                                            else GROWTH if value >= 0 else FALL)
        label = point.data_label
        label.has_text_frame = True
        label.text_frame.text = money(value) if i in (0, len(amounts) - 1) else (
            ("+" if value >= 0 else "") + money(value))
        label.text_frame.paragraphs[0].font.size = Pt(11)
        label.text_frame.paragraphs[0].font.bold = True
        label.position = XL_LABEL_POSITION.INSIDE_BASE if i in (0, len(amounts) - 1) else XL_LABEL_POSITION.CENTER


def dropoff_slides(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                    said: dict[str, Message], inputs: DeckInputs) -> tuple[object, object]:
    found = inputs.found
    changes = found.changes if found.changes is not None else partner_changes(store, flt, quarter)
    t4 = trailing_span(quarter)
    prev_t4 = trailing_span(shift_quarter(quarter, -4))
    fallen = significant_dropoffs(changes, DROPOFF_THRESHOLD)
    bridge = revenue_bridge(changes)
    total_change = float(changes["revenue_t4"].sum() - changes["revenue_prev_t4"].sum())
    before, now = float(bridge["amount"].iloc[0]), float(bridge["amount"].iloc[-1])
    bridge_slide = new_slide(deck, said["revenue"].title if "revenue" in said
                          else _flat_title("Revenue", now, before, t4))
    put_text(bridge_slide, [
        f"{t4} against {prev_t4}",
        f"Partners down {DROPOFF_THRESHOLD:.0%} or more: {len(fallen):,}",
        f"Revenue they lost: {money(float(fallen['revenue_lost'].sum()))}",
        f"Channel revenue change: {money(total_change)}",
    ], width=5.0, height=1.6)
    put_table(bridge_slide, ["Component", "Amount"],
           [[c, money(a)] for c, a in zip(bridge["component"], bridge["amount"], strict=True)], top=3.2, width=5.0,
           widths=[3.2, 1.8])
    _bridge_chart(bridge_slide, bridge)
    title = (said["dropoffs"].title if "dropoffs" in said
             else f"{len(fallen):,} partners' revenue fell by {DROPOFF_THRESHOLD:.0%} or more over {t4}")
    slide = new_slide(deck, title)
    if fallen.empty:
        put_text(slide, [f"No partner's revenue fell by {DROPOFF_THRESHOLD:.0%} or more."])
        return bridge_slide, slide
    top = fallen.head(ROWS_SHOWN)
    put_table(slide, ["Partner", "Name", "Tier (recorded)", prev_t4, t4, "Change"],
           [[r.partner_id, r.partner_name or "", r.tier or "", money(r.revenue_prev_t4), money(r.revenue_t4),
             signed_pct(r.change_t4) or "n/a"] for r in top.itertuples()], top=1.5, width=12.3,
           widths=[1.2, 4.3, 1.3, 1.9, 1.9, 1.7], names=(0, 1, 2))
    put_text(slide, [f"The {len(top)} largest of {len(fallen):,} partners down {DROPOFF_THRESHOLD:.0%} or more, by "
                  f"revenue lost, {t4} against {prev_t4}. The Revenue drop-offs page lists them all."],
          top=6.5, height=0.6, size=12)
    return bridge_slide, slide


def risk_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    horizon = DEFAULT_HORIZON
    status = score_status(store, quarter, horizon)
    if not status.scored:
        slide = new_slide(deck, f"Partners at risk: no churn scores for {quarter} yet")
        why = status.run.message if status.run is not None and status.run.message else (
            f"Churn scores are not yet computed for {quarter}: they are computed after every load "
            f"(python -m analytics rescore), or for an earlier quarter with "
            f"python -m analytics score --as-of {quarter} --out FILE.csv.")
        put_text(slide, [why])
        return
    scores = risk_table(store, flt, horizon)
    summary = risk_summary(scores, RISK_THRESHOLD)
    periods = risk_periods(quarter, horizon)
    slide = new_slide(deck, f"{summary.likely_churners:,} partners likely to churn in {periods.ahead}: "
                         f"{money(summary.expected_revenue_lost)} of revenue expected lost")
    # A line per period: the quarters ahead, then the revenue at stake; no line sets one against the other.
    put_text(slide, [
        f"Next {horizon} quarters, {periods.ahead}: {summary.likely_churners:,} of {summary.partners:,} partners "
        f"likely to churn (probability {RISK_THRESHOLD:.0%} or more); expected revenue lost "
        f"{money(summary.expected_revenue_lost)}",
        f"Revenue at stake, {periods.at_stake}: {money(summary.revenue_at_stake)} from all {summary.partners:,} "
        f"partners, {money(summary.revenue_likely_churners)} of it from the likely churners",
    ], height=1.3, size=15)
    likely = scores[scores["churn_probability"] >= RISK_THRESHOLD]
    top = likely.sort_values(["revenue_at_stake", "partner_id"], ascending=[False, True]).head(ROWS_SHOWN)
    if top.empty:
        put_text(slide, [f"No partner has a churn probability of {RISK_THRESHOLD:.0%} or more."], top=2.9)
        return
    put_table(slide, ["Partner", "Name", "Tier", f"Revenue at stake, {periods.at_stake}",
                   f"Churn probability, {periods.ahead}"],
           [[r.partner_id, r.partner_name or "", r.tier or "", money(r.revenue_at_stake),
             probability_text(r.churn_probability)] for r in top.itertuples()], top=2.9, width=12.3,
           widths=[1.2, 3.8, 1.3, 3.0, 3.0], names=(0, 1, 2))
    put_text(slide, [f"The {len(top)} likely churners with the most revenue at stake (the Partners at risk page lists "
                  f"them all). Expected revenue lost: each partner's revenue in {periods.at_stake} times its churn "
                  "probability, summed. Under 5 % and over 95 % are bands: the data cannot tell finer odds apart."],
          top=6.8, height=0.6, size=11)


COHORTS_SHOWN = 6  # the recruits slide's cohorts: a year and a half


def recruits_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                    said: dict[str, Message], inputs: DeckInputs) -> object:
    flows, found = inputs.flows, inputs.found
    flows = flows[flows["quarter"] <= quarter].tail(QUARTERS_SHOWN)
    row = flows[flows["quarter"] == quarter]
    new = row["new_partners"].iloc[0] if not row.empty else None
    lapsed = row["lapsed_partners"].iloc[0] if not row.empty else None
    slide = new_slide(deck, said["recruits"].title if "recruits" in said
                   else f"{count(new)} new and {count(lapsed)} lapsed partners in {quarter}")
    put_text(slide, [f"New partners in {quarter}: {count(new)}", f"Lapsed partners in {quarter}: {count(lapsed)}",
                  f"New: first order ever in {quarter}. Lapsed: an order in "
                  f"{trailing_span(shift_quarter(quarter, -1))}, none in {trailing_span(quarter)}. Both are counted "
                  "from the fifth quarter of data on."], width=5.8, height=2.2, size=14)
    if found.cohorts is not None:
        cohorts = found.cohorts.tail(COHORTS_SHOWN)
    else:
        first = quarter_index(inputs.quarters[0])
        cohorts = cohort_table(recruit_history(store, flt, quarter), first, quarter_index(quarter),
                               load_program()).tail(COHORTS_SHOWN)
    if not cohorts.empty:
        share = lambda v: "" if pd.isna(v) else f"{v:.0%}"  # noqa: E731
        put_table(slide, ["Cohort (first order)", "Recruits", "Ordering 1 quarter on", "2 quarters on"],
               [[r.cohort, f"{r.recruited:,}", share(r.active_after_1), share(r.active_after_2)]
                for r in cohorts.itertuples()], top=3.9, width=5.8, widths=[1.6, 1.0, 1.8, 1.4], size=11)
    put_chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, flows["quarter"].tolist(),
           {"New partners": flows["new_partners"].tolist(), "Lapsed partners": flows["lapsed_partners"].tolist()},
           COUNT, "New and lapsed partners per quarter", colours={"New partners": GROWTH, "Lapsed partners": FALL})
    return slide


def review_slide(deck: Presentation, store: Store, quarter: str, scope: tuple[str, ...] = ()) -> object | None:
    reviews = list_reviews(store)
    reviews = reviews[reviews["as_of"] <= quarter]
    if reviews.empty:
        return None
    name, as_of = reviews.iloc[0]["name"], reviews.iloc[0]["as_of"]
    decided = load_review(store, name)
    if scope:  # a regional person's pack holds their regions' decisions only
        decided = decided[decided["region"].isin(scope)]
        if decided.empty:
            return None
    counts = action_counts(decided, column="decision")
    terminate = counts.set_index("action").loc["terminate"]
    n = int(terminate["partners"])
    slide = new_slide(deck, f"Review {name} (as of {as_of}): {n:,} termination{'' if n == 1 else 's'} decided, "
                         f"{terminate['share_of_partners']:.1%} of partners")
    put_table(slide, ["Decision", "Partners", "Revenue, 4 quarters", "Share of partners"],
           [[r.action, f"{r.partners:,}", money(r.revenue_trailing), f"{r.share_of_partners:.1%}"]
            for r in counts.itertuples()], width=6.0, widths=[2.4, 1.0, 1.5, 1.1])
    put_chart(slide, XL_CHART_TYPE.BAR_CLUSTERED, counts["action"].tolist(), {"Partners": counts["partners"].tolist()},
           COUNT, "Partners per decision", colours={"Partners": NEUTRAL})
    follow = provisional_follow_up(store, name)
    follow = follow[follow["partner_id"].isin(set(decided["partner_id"]))] if scope else follow
    if not follow.empty and follow["quarters_loaded"].iloc[0] != "none yet":
        # How the partners kept on revised goals are doing: the loop the review started.
        status = follow["status"].value_counts()
        said = ", ".join(f"{status.get(k, 0):,} {k}" for k in (MET, MISSED, ON_TRACK, BEHIND) if status.get(k))
        put_text(slide, [f"Provisional partners against their revised goals ({follow['goal_quarters'].iloc[0]}; "
                         f"loaded: {follow['quarters_loaded'].iloc[0]}): {said}"], top=6.6, height=0.6, size=12)
    return slide


def messages_slide(deck: Presentation, found: QuarterMessages, proof: dict[str, object]) -> None:
    """Put the quarter's messages on a slide, each with the slide and the page that prove it; move it to second."""
    slide = new_slide(deck, MESSAGES_TITLE + f", {found.quarter}")
    numbers = {id(s): i + 1 for i, s in enumerate(deck.slides)}
    lines = []
    for i, message in enumerate(found.messages, start=1):
        shown = proof.get(message.kind)
        where = f"slide {numbers[id(shown)] + 1}, " if shown is not None else ""
        lines.append((f"{i}. {message.text}.", f"Proof: {where}the {message.page_label} page"))
    if not lines:
        lines.append(("Nothing changed beyond the noise this quarter.", ""))
    frame = slide.shapes.add_textbox(*inches_box(slide, 0.5, 1.4, 12.3, 5.0)).text_frame
    frame.word_wrap = True
    for i, (text, where) in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.font.size = Pt(17 if len(lines) <= 4 else 15)
        paragraph.space_before = Pt(10 if i else 0)
        if where:
            note = frame.add_paragraph()
            note.text = where
            note.font.size = Pt(11)
            note.font.color.rgb = RGBColor(0x63, 0x63, 0x63)
    quiet = "; ".join(found.within_noise)
    put_text(slide, [f"Ranked by the revenue each is about. Not news (within the noise): {NOISE_RULES}."
                  + (f" This quarter within it: {quiet}." if quiet else "")]
          + list(found.not_available), top=6.45, height=0.9, size=10)
    # Built last, so that it can name the slides that prove it; shown second.
    slides = deck.slides._sldIdLst
    entry = slides[-1]
    slides.remove(entry)
    slides.insert(1, entry)
