"""The board pack: the quarter as a PowerPoint deck for the executive team, with native (editable) charts.

Every figure comes from the engine functions the pages call, with the same selection, so the deck
says what the Overview, Tiers, Revenue drop-offs and Partners at risk pages say for that quarter.
Text from the data (partner names, file names) goes in as plain text: PowerPoint does not interpret it.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pandas as pd
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.util import Inches, Pt

from analytics.analyses.dropoffs import partner_changes, revenue_bridge, significant_dropoffs
from analytics.analyses.queries import filter_options, new_and_lapsed, overview, partners_by_tier, revenue_by_tier
from analytics.analyses.tiers import MOVES, move_definitions, tier_moves
from analytics.charts import TIER_COLOURS
from analytics.filters import ChannelFilter
from analytics.formatting import money, pct_change, probability_text, signed_pct
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.risk import risk_periods, risk_summary, risk_table
from analytics.model.scoring import score_status
from analytics.review.decisions import (
    BEHIND,
    MET,
    MISSED,
    ON_TRACK,
    action_counts,
    list_reviews,
    load_review,
    provisional_follow_up,
)
from analytics.store.quarters import quarter_index, quarter_label, shift_quarter
from analytics.store.schema import ordered_tiers
from analytics.store.store import Store

__all__ = ["RISK_THRESHOLD", "DROPOFF_THRESHOLD", "QUARTERS_SHOWN", "ROWS_SHOWN", "CELL_CHARS", "TITLE_CHARS",
           "shortened", "board_pack",
           "board_pack_bytes", "write_board_pack"]

RISK_THRESHOLD = 0.5     # as the Partners at risk page's default
DROPOFF_THRESHOLD = 0.5  # as the Revenue drop-offs page's default
QUARTERS_SHOWN = 8       # quarters on the charts over time
ROWS_SHOWN = 10          # partners in a slide's table
CELL_CHARS = 60          # a table cell or chart category (a partner name of 1,000 characters overran the slide)
TITLE_CHARS = 90         # a slide title (a review's name is in one)

_WIDE, _HIGH = Inches(13.333), Inches(7.5)
MONEY, COUNT, _MILLIONS = '"$"#,##0', "#,##0", '"$"#,##0.0,,"M"'
_TITLE_ONLY = 5
_GROWTH, _FALL, _NEUTRAL = RGBColor(0x31, 0xA3, 0x54), RGBColor(0xDE, 0x2D, 0x26), RGBColor(0x42, 0x92, 0xC6)


def _rgb(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def shortened(text: str, at_most: int) -> str:
    """Give text cut to `at_most` characters, ending in "…" when cut: a slide does not scroll."""
    return text if len(text) <= at_most else text[:at_most - 1].rstrip() + "…"


def _slide(deck: Presentation, title: str):
    slide = deck.slides.add_slide(deck.slide_layouts[_TITLE_ONLY])
    _place(slide.shapes.title, 0.5, 0.3, 12.3, 1.0)
    slide.shapes.title.text = shortened(title, TITLE_CHARS)
    slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(30)
    return slide


def _place(shape, left: float, top: float, width: float, height: float) -> None:
    # The default template's placeholders sit on a 4:3 slide; the deck is 16:9.
    shape.left, shape.top, shape.width, shape.height = Inches(left), Inches(top), Inches(width), Inches(height)


def _text(slide, lines: list[str], left=0.5, top=1.4, width=12.3, height=1.0, size=16) -> None:
    """Put lines of plain text on the slide (one paragraph each)."""
    frame = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height)).text_frame
    frame.word_wrap = True
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = line
        paragraph.font.size = Pt(size)


def _table(slide, header: list[str], rows: list[list[str]], left=0.5, top=2.2, width=6.0, size=12,
           widths: list[float] | None = None) -> None:
    """Put a table of plain text on the slide; the first row is the header; `widths` in inches per column."""
    shape = slide.shapes.add_table(len(rows) + 1, len(header), Inches(left), Inches(top), Inches(width),
                                   Inches(0.35 * (len(rows) + 1)))
    for column, inches in zip(shape.table.columns, widths or [], strict=False):
        column.width = Inches(inches)
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            cell = shape.table.cell(r, c)
            cell.text = shortened(str(value), CELL_CHARS)
            cell.text_frame.paragraphs[0].font.size = Pt(size)


def _chart(slide, kind, categories: list[str], series: dict[str, list], number_format: str, title: str | None = None,
           left=6.8, top=1.6, width=6.0, height=5.2, colours: dict[str, RGBColor] | None = None):
    """Put a native chart on the slide and give it (its data stay editable in PowerPoint); None without categories.

    `number_format` is the data's (shown when a value is selected); the value axis shows money in
    millions and counts as they are, from zero.
    """
    if not categories:
        _text(slide, ["Nothing to chart for this quarter and selection."], left=left, top=top + 0.5, width=width)
        return None
    data = CategoryChartData(number_format=number_format)
    data.categories = [shortened(str(c), CELL_CHARS) for c in categories]
    for name, values in series.items():
        data.add_series(name, [None if pd.isna(v) else float(v) for v in values])
    chart = slide.shapes.add_chart(kind, Inches(left), Inches(top), Inches(width), Inches(height), data).chart
    chart.has_legend = len(series) > 1
    if chart.has_legend:
        chart.legend.position = XL_LEGEND_POSITION.BOTTOM
        chart.legend.include_in_layout = False
    chart.font.size = Pt(11)
    chart.has_title = title is not None
    if title is not None:
        chart.chart_title.text_frame.text = title
        chart.chart_title.text_frame.paragraphs[0].font.size = Pt(14)
    axis = chart.value_axis
    axis.tick_labels.number_format = _MILLIONS if number_format == MONEY else number_format
    axis.tick_labels.number_format_is_linked = False
    if all(pd.isna(v) or v >= 0 for values in series.values() for v in values):
        axis.minimum_scale = 0
    for plot_series in chart.plots[0].series:
        colour = (colours or {}).get(plot_series.name)
        if colour is not None:
            plot_series.format.fill.solid()
            plot_series.format.fill.fore_color.rgb = colour
    return chart


def _count(value) -> str:
    return "n/a" if pd.isna(value) else f"{int(value):,}"


# -- slides ---------------------------------------------------------------------------------------
def _title_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    quarters = filter_options(store).quarters
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    _place(slide.shapes.title, 0.8, 2.2, 11.7, 1.5)
    _place(slide.placeholders[1], 0.8, 4.0, 11.7, 1.5)
    slide.shapes.title.text = f"Channel Health: the channel in {quarter}"
    slide.placeholders[1].text = (
        f"Board pack · data {quarters[0]}–{quarters[-1]} · {flt.describe()}\n"
        "Revenue in USD, net of credits and returns"
    )


def _headline_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    summary = overview(store, flt)
    year_before = shift_quarter(quarter, -4)
    flows = new_and_lapsed(store, flt).set_index("quarter")
    flow = lambda q, c: flows[c].get(q) if q in flows.index else None  # noqa: E731
    slide = _slide(deck, f"Headline figures: {quarter} against a year before")
    rows = [
        [f"Active partners, 4 quarters to {quarter}", f"{summary.active_partners:,}",
         f"{summary.active_partners_before:,}", f"{summary.active_partners - summary.active_partners_before:+,}"],
        [f"Revenue in {quarter} (vs {year_before})", money(summary.revenue_quarter),
         money(summary.revenue_quarter_before),
         signed_pct(pct_change(summary.revenue_quarter, summary.revenue_quarter_before)) or "n/a"],
        [f"Revenue, 4 quarters to {quarter}", money(summary.revenue_trailing), money(summary.revenue_trailing_before),
         signed_pct(pct_change(summary.revenue_trailing, summary.revenue_trailing_before)) or "n/a"],
        [f"New partners in {quarter} (vs {year_before})", _count(flow(quarter, "new_partners")),
         _count(flow(year_before, "new_partners")), ""],
        [f"Lapsed partners in {quarter} (vs {year_before})", _count(flow(quarter, "lapsed_partners")),
         _count(flow(year_before, "lapsed_partners")), ""],
    ]
    _table(slide, ["", "Now", "A year before", "Change"], rows, top=1.6, width=6.2, widths=[3.1, 1.1, 1.1, 0.9])
    per_quarter = revenue_by_tier(store, flt).groupby("quarter")["revenue"].sum()
    shown = [quarter_label(i) for i in range(quarter_index(quarter) - QUARTERS_SHOWN + 1, quarter_index(quarter) + 1)]
    shown = [q for q in shown if q in per_quarter.index]
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, shown, {"Revenue": [per_quarter[q] for q in shown]},
           MONEY, "Revenue per quarter (USD)", colours={"Revenue": _NEUTRAL})


def _tier_slides(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    tiers = partners_by_tier(store, flt, quarter).set_index("tier")
    order = ordered_tiers(tiers.index)
    slide = _slide(deck, f"Tiers: active partners and revenue, 4 quarters to {quarter}")
    _table(slide, ["Tier (recorded)", "Partners", "Revenue, 4 quarters"],
           [[t, f"{int(tiers.at[t, 'partners']):,}", money(tiers.at[t, "revenue_trailing"])] for t in order]
           + [["All", f"{int(tiers['partners'].sum()):,}", money(tiers["revenue_trailing"].sum())]], width=5.5)
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, order, {"Partners": [tiers.at[t, "partners"] for t in order]},
           COUNT, "Active partners per recorded tier", colours={"Partners": _NEUTRAL})
    _text(slide, [f"Active: an order in {shift_quarter(quarter, -3)}–{quarter}; each partner in the latest tier the "
                  "data record for it there, not the tier its figures meet."], top=5.3, width=5.5, height=1.2, size=12)
    by_tier = revenue_by_tier(store, flt)
    shown = sorted(q for q in by_tier["quarter"].unique()
                   if quarter_index(quarter) - QUARTERS_SHOWN < quarter_index(q) <= quarter_index(quarter))
    table = by_tier[by_tier["quarter"].isin(shown)].pivot_table(
        index="quarter", columns="tier", values="revenue", aggfunc="sum").reindex(shown).fillna(0.0)
    slide = _slide(deck, "Revenue per tier and quarter (the tier recorded in that quarter)")
    _chart(slide, XL_CHART_TYPE.COLUMN_STACKED, shown,
           {t: table[t].tolist() for t in ordered_tiers(table.columns)}, MONEY, None,
           left=0.5, width=12.3, top=1.4, height=5.8, colours={t: _rgb(c) for t, c in TIER_COLOURS.items()})
    quarters = filter_options(store).quarters
    earlier = [q for q in quarters if q < quarter]
    if not earlier:
        _text(_slide(deck, "Recorded tier moves"), [f"No quarter before {quarter} to compare with."])
        return
    from_q = shift_quarter(quarter, -4) if shift_quarter(quarter, -4) in earlier else earlier[0]
    counts = tier_moves(store, flt, from_q, quarter)["move"].value_counts()
    slide = _slide(deck, f"Recorded tier moves, {from_q} → {quarter}")
    _table(slide, ["Move", "Partners"], [[m, f"{int(counts.get(m, 0)):,}"] for m in MOVES], width=4.5)
    _text(slide, [move_definitions(from_q, quarter)], top=4.9, width=5.8, height=2.4, size=11)
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, list(MOVES), {"Partners": [int(counts.get(m, 0)) for m in MOVES]},
           COUNT, "Partners per move", colours={"Partners": _NEUTRAL})


def _dropoff_slides(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    changes = partner_changes(store, flt, quarter)
    t4 = f"{shift_quarter(quarter, -3)}–{quarter}"
    prev_t4 = f"{shift_quarter(quarter, -7)}–{shift_quarter(quarter, -4)}"
    fallen = significant_dropoffs(changes, DROPOFF_THRESHOLD)
    bridge = revenue_bridge(changes)
    total_change = float(changes["revenue_t4"].sum() - changes["revenue_prev_t4"].sum())
    slide = _slide(deck, f"Revenue bridge: {t4} against {prev_t4}")
    _text(slide, [
        f"Partners down {DROPOFF_THRESHOLD:.0%} or more: {len(fallen):,}",
        f"Revenue they lost: {money(float(fallen['revenue_lost'].sum()))}",
        f"Channel revenue change: {money(total_change)}",
    ], width=5.8, height=1.4)
    _table(slide, ["Component", "Amount"], [[c, money(a)] for c, a in zip(bridge["component"], bridge["amount"],
                                                                          strict=True)], top=3.0, width=5.0)
    # A waterfall drawn as stacked columns: an invisible base lifts each change to where the last one ended.
    amounts = bridge["amount"].tolist()
    bases, heights, running = [], [], 0.0
    for i, amount in enumerate(amounts):
        if i in (0, len(amounts) - 1):
            bases.append(0.0)
            heights.append(amount)
            running = amount
        else:
            bases.append(running + min(amount, 0.0))
            heights.append(abs(amount))
            running += amount
    chart = _chart(slide, XL_CHART_TYPE.COLUMN_STACKED, bridge["component"].tolist(),
                   {"Base": bases, "Amount": heights}, MONEY,
                   "Revenue bridge (USD)")  # always six components, so always a chart
    chart.has_legend = False
    base, amount = chart.plots[0].series
    base.format.fill.background()
    for i, value in enumerate(amounts):
        point = amount.points[i]
        point.format.fill.solid()
        point.format.fill.fore_color.rgb = (_NEUTRAL if i in (0, len(amounts) - 1)
                                            else _GROWTH if value >= 0 else _FALL)
    slide = _slide(deck, f"Largest revenue drop-offs, {t4} against {prev_t4}")
    if fallen.empty:
        _text(slide, [f"No partner's revenue fell by {DROPOFF_THRESHOLD:.0%} or more."])
        return
    top = fallen.head(ROWS_SHOWN)
    _table(slide, ["Partner", "Name", "Tier (recorded)", prev_t4, t4, "Change"],
           [[r.partner_id, r.partner_name or "", r.tier or "", money(r.revenue_prev_t4), money(r.revenue_t4),
             signed_pct(r.change_t4) or "n/a"] for r in top.itertuples()], top=1.4, width=12.3,
           widths=[1.2, 4.3, 1.3, 1.9, 1.9, 1.7])
    _text(slide, [f"The {len(top)} largest of {len(fallen):,} partners down {DROPOFF_THRESHOLD:.0%} or more, by "
                  "revenue lost. The Revenue drop-offs page lists them all."], top=6.5, height=0.6, size=12)


def _risk_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    horizon = DEFAULT_HORIZON
    status = score_status(store, quarter, horizon)
    if not status.scored:
        slide = _slide(deck, "Partners at risk")
        why = status.run.message if status.run is not None and status.run.message else (
            f"Churn scores are not yet computed for {quarter}: they are computed after every load "
            f"(python -m analytics rescore), or for an earlier quarter with "
            f"python -m analytics score --as-of {quarter} --out FILE.csv.")
        _text(slide, [why])
        return
    scores = risk_table(store, flt, horizon)
    summary = risk_summary(scores, RISK_THRESHOLD)
    periods = risk_periods(quarter, horizon)
    slide = _slide(deck, f"Partners at risk of churning in {periods.ahead}")
    # A line per period: the quarters ahead, then the revenue at stake; no line sets one against the other.
    _text(slide, [
        f"Next {horizon} quarters, {periods.ahead}: {summary.likely_churners:,} of {summary.partners:,} partners "
        f"likely to churn (probability {RISK_THRESHOLD:.0%} or more); expected revenue lost "
        f"{money(summary.expected_revenue_lost)}",
        f"Revenue at stake, {periods.at_stake}: {money(summary.revenue_at_stake)} from all {summary.partners:,} "
        f"partners, {money(summary.revenue_likely_churners)} of it from the likely churners",
    ], height=1.3, size=15)
    likely = scores[scores["churn_probability"] >= RISK_THRESHOLD]
    top = likely.sort_values(["revenue_at_stake", "partner_id"], ascending=[False, True]).head(ROWS_SHOWN)
    if top.empty:
        _text(slide, [f"No partner has a churn probability of {RISK_THRESHOLD:.0%} or more."], top=2.9)
        return
    _table(slide, ["Partner", "Name", "Tier", f"Revenue at stake, {periods.at_stake}",
                   f"Churn probability, {periods.ahead}"],
           [[r.partner_id, r.partner_name or "", r.tier or "", money(r.revenue_at_stake),
             probability_text(r.churn_probability)] for r in top.itertuples()], top=2.9, width=12.3,
           widths=[1.2, 3.8, 1.3, 3.0, 3.0])
    _text(slide, [f"The {len(top)} likely churners with the most revenue at stake (the Partners at risk page lists "
                  f"them all). Expected revenue lost: each partner's revenue in {periods.at_stake} times its churn "
                  "probability, summed. Under 5 % and over 95 % are bands: the data cannot tell finer odds apart."],
          top=6.8, height=0.6, size=11)


def _recruits_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    flows = new_and_lapsed(store, flt)
    flows = flows[flows["quarter"] <= quarter].tail(QUARTERS_SHOWN)
    slide = _slide(deck, f"Recruits: new partners to {quarter}")
    row = flows[flows["quarter"] == quarter]
    new = row["new_partners"].iloc[0] if not row.empty else None
    lapsed = row["lapsed_partners"].iloc[0] if not row.empty else None
    _text(slide, [f"New partners in {quarter}: {_count(new)}", f"Lapsed partners in {quarter}: {_count(lapsed)}",
                  f"New: first order ever in {quarter}. Lapsed: an order in {shift_quarter(quarter, -4)}–"
                  f"{shift_quarter(quarter, -1)}, none in {shift_quarter(quarter, -3)}–{quarter}. Both are counted "
                  "from the fifth quarter of data on."], width=5.8, height=2.5)
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, flows["quarter"].tolist(),
           {"New partners": flows["new_partners"].tolist(), "Lapsed partners": flows["lapsed_partners"].tolist()},
           COUNT, "New and lapsed partners per quarter", colours={"New partners": _GROWTH, "Lapsed partners": _FALL})


def _review_slide(deck: Presentation, store: Store, quarter: str, scope: tuple[str, ...] = ()) -> None:
    reviews = list_reviews(store)
    reviews = reviews[reviews["as_of"] <= quarter]
    if reviews.empty:
        return
    name, as_of = reviews.iloc[0]["name"], reviews.iloc[0]["as_of"]
    decided = load_review(store, name)
    if scope:  # a regional person's pack holds their regions' decisions only
        decided = decided[decided["region"].isin(scope)]
        if decided.empty:
            return
    counts = action_counts(decided, column="decision")
    slide = _slide(deck, f"Review {name} (as of {as_of}): decisions by action")
    _table(slide, ["Decision", "Partners", "Revenue, 4 quarters", "Share of partners"],
           [[r.action, f"{r.partners:,}", money(r.revenue_trailing), f"{r.share_of_partners:.1%}"]
            for r in counts.itertuples()], width=6.0)
    _chart(slide, XL_CHART_TYPE.BAR_CLUSTERED, counts["action"].tolist(), {"Partners": counts["partners"].tolist()},
           COUNT, "Partners per decision", colours={"Partners": _NEUTRAL})
    follow = provisional_follow_up(store, name)
    follow = follow[follow["partner_id"].isin(set(decided["partner_id"]))] if scope else follow
    if not follow.empty and follow["quarters_loaded"].iloc[0] != "none yet":
        # How the partners kept on revised goals are doing: the loop the review started.
        status = follow["status"].value_counts()
        said = ", ".join(f"{status.get(k, 0):,} {k}" for k in (MET, MISSED, ON_TRACK, BEHIND) if status.get(k))
        _text(slide, [f"Provisional partners against their revised goals ({follow['goal_quarters'].iloc[0]}; loaded: "
                      f"{follow['quarters_loaded'].iloc[0]}): {said}"], top=6.6, height=0.6, size=12)


# -- the deck -------------------------------------------------------------------------------------
def board_pack(store: Store, flt: ChannelFilter = ChannelFilter()) -> Presentation:
    """Give the board pack of the filter's quarter (default: the latest) for its selection.

    Raises ValueError when the store holds no data or the quarter holds none.
    """
    quarters = filter_options(store).quarters
    if not quarters:
        raise ValueError("No data loaded yet: load an extract (or build the demo) before making a board pack")
    quarter = flt.quarter or quarters[-1]
    if quarter not in quarters:
        raise ValueError(f"No data for {quarter}: the data run from {quarters[0]} to {quarters[-1]}")
    flt = replace(flt, quarter=quarter)  # the scope and countries come along
    deck = Presentation()
    deck.slide_width, deck.slide_height = _WIDE, _HIGH
    _title_slide(deck, store, flt, quarter)
    _headline_slide(deck, store, flt, quarter)
    _tier_slides(deck, store, flt, quarter)
    _dropoff_slides(deck, store, flt, quarter)
    _risk_slide(deck, store, flt, quarter)
    _recruits_slide(deck, store, flt, quarter)
    _review_slide(deck, store, quarter, flt.scope)
    return deck


def board_pack_bytes(store: Store, flt: ChannelFilter = ChannelFilter()) -> bytes:
    """Give the board pack (see board_pack) as the bytes of a .pptx file."""
    buffer = io.BytesIO()
    board_pack(store, flt).save(buffer)
    return buffer.getvalue()


def write_board_pack(store: Store, path: str | Path, flt: ChannelFilter = ChannelFilter()) -> Path:
    """Write the board pack (see board_pack) to `path` and give the path."""
    path = Path(path)
    path.write_bytes(board_pack_bytes(store, flt))
    return path

