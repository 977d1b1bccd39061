"""The board pack: the quarter as a PowerPoint deck for the executive team, with native (editable) charts.

Every figure comes from the engine functions the pages call, with the same selection, so the deck
says what the Overview, Tiers, Revenue drop-offs and Partners at risk pages say for that quarter.
Text from the data (partner names, file names) goes in as plain text: PowerPoint does not interpret it.

The second slide is the quarter in messages (analytics.analyses.messages), each with the slide that
proves it, and every slide is titled with what it shows, not with its chart type. The deck is built
on the default Office template, or on a company's own (a .pptx whose slide master and layouts it
uses: `template`, or the one an admin uploaded, kept as data/brief_template.pptx); a template needs
the layouts named in LAYOUTS_NEEDED.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, replace
from pathlib import Path
from zipfile import BadZipFile

import pandas as pd
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.exc import PackageNotFoundError
from pptx.util import Emu, Inches, Pt

from analytics.access import Actor, check
from analytics.analyses.dropoffs import partner_changes, revenue_bridge, significant_dropoffs
from analytics.analyses.messages import NOISE_RULES, Message, QuarterMessages, quarter_messages, tier_change
from analytics.analyses.queries import filter_options, new_and_lapsed, overview, partners_by_tier, revenue_by_tier
from analytics.analyses.recruits import cohort_table, recruit_history
from analytics.analyses.tiers import MOVES, move_definitions, tier_moves
from analytics.charts import TIER_COLOURS, bridge_axis
from analytics.filters import ChannelFilter
from analytics.formatting import count, money, pct_change, probability_text, signed_pct
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.risk import risk_periods, risk_summary, risk_table
from analytics.model.scoring import score_status
from analytics.periods import quarter_span, quarters_to, trailing_span
from analytics.program.regional_programs import load_programs
from analytics.program.rules import load_program, rules_folder
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
           "LAYOUTS_NEEDED", "TEMPLATE_NAME", "MESSAGES_TITLE",
           "shortened", "cell_chars", "bridge_axis", "board_pack", "board_pack_bytes", "write_board_pack",
           "open_template", "template_path", "stored_template", "save_template", "remove_template"]

RISK_THRESHOLD = 0.5     # as the Partners at risk page's default
DROPOFF_THRESHOLD = 0.5  # as the Revenue drop-offs page's default
QUARTERS_SHOWN = 8       # quarters on the charts over time
ROWS_SHOWN = 10          # partners in a slide's table
CELL_CHARS = 60          # a table cell or chart category (a partner name of 1,000 characters overran the slide)
TITLE_CHARS = 90         # a slide title (a review's name is in one): two lines at 26 pt
ROW_INCHES = 0.35        # a table row of one line at 12 pt

_WIDE, _HIGH = Inches(13.333), Inches(7.5)
MONEY, COUNT, _MILLIONS = '"$"#,##0', "#,##0", '"$"#,##0.0,,"M"'
# The slide layouts the pack is built on, by the names PowerPoint gives them: a company's template must
# have both (its own look: master, fonts, colours, logo); the default template has them.
TITLE_LAYOUT, CONTENT_LAYOUT = "Title Slide", "Title Only"
LAYOUTS_NEEDED = (TITLE_LAYOUT, CONTENT_LAYOUT)
TEMPLATE_NAME = "brief_template.pptx"  # the admin's upload, in data/ beside the program rules (not in git)
MESSAGES_TITLE = "What changed: the quarter in messages"
TEMPLATE_BYTES = 20_000_000  # a template is a master, layouts and a logo: anything larger is not one
_GROWTH, _FALL, _NEUTRAL = RGBColor(0x31, 0xA3, 0x54), RGBColor(0xDE, 0x2D, 0x26), RGBColor(0x42, 0x92, 0xC6)


def _rgb(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def shortened(text: str, at_most: int) -> str:
    """Give text cut to `at_most` characters, ending in "…" when cut: a slide does not scroll."""
    return text if len(text) <= at_most else text[:at_most - 1].rstrip() + "…"


def _layout(deck: Presentation, name: str):
    return next(layout for layout in deck.slide_layouts if layout.name == name)


def _slide(deck: Presentation, title: str):
    slide = deck.slides.add_slide(_layout(deck, CONTENT_LAYOUT))
    if _uses_default_template(deck):
        _place(slide.shapes.title, 0.5, 0.3, 12.3, 1.0)
    slide.shapes.title.text = shortened(title, TITLE_CHARS)
    slide.shapes.title.text_frame.word_wrap = True
    # A message is a sentence, longer than a chart's name: smaller than the template's 44 pt, on two lines at most.
    slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(26)
    return slide


def _uses_default_template(deck: Presentation) -> bool:
    # The default template's placeholders sit on a 4:3 slide while the deck is 16:9, so the pack places its
    # titles itself; a company's template places them where its layouts say.
    return getattr(deck, "_default_template", False)


def _scale(slide) -> tuple[float, float]:
    # The slides are laid out on 13.333 x 7.5 in; a company template of another size gets them scaled to it.
    size = slide.part.package.presentation_part.presentation
    return size.slide_width / _WIDE, size.slide_height / _HIGH


def _box(slide, left: float, top: float, width: float, height: float) -> tuple[Emu, Emu, Emu, Emu]:
    across, down = _scale(slide)
    return (Emu(int(Inches(left) * across)), Emu(int(Inches(top) * down)), Emu(int(Inches(width) * across)),
            Emu(int(Inches(height) * down)))


def _place(shape, left: float, top: float, width: float, height: float) -> None:
    shape.left, shape.top, shape.width, shape.height = Inches(left), Inches(top), Inches(width), Inches(height)


def _text(slide, lines: list[str], left=0.5, top=1.4, width=12.3, height=1.0, size=16) -> None:
    """Put lines of plain text on the slide (one paragraph each)."""
    frame = slide.shapes.add_textbox(*_box(slide, left, top, width, height)).text_frame
    frame.word_wrap = True
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = line
        paragraph.font.size = Pt(size)


def _table(slide, header: list[str], rows: list[list[str]], left=0.5, top=2.2, width=6.0, size=12,
           widths: list[float] | None = None, names: tuple[int, ...] = ()) -> None:
    """Put a table of plain text on the slide; the first row is the header; `widths` in inches per column.

    A name from the data (columns `names`) is cut to what its column holds on one line (cell_chars),
    so a long name never makes a row taller and the table never runs off the slide; any other cell to
    CELL_CHARS (our own labels and figures, which fit their columns).
    """
    widths = widths or [width / len(header)] * len(header)
    shape = slide.shapes.add_table(len(rows) + 1, len(header), *_box(slide, left, top, sum(widths),
                                                                     ROW_INCHES * (len(rows) + 1)))
    across = _scale(slide)[0]
    for column, inches in zip(shape.table.columns, widths, strict=True):
        column.width = Emu(int(Inches(inches) * across))
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            cell = shape.table.cell(r, c)
            fits = cell_chars(widths[c] * across, size) if r > 0 and c in names else CELL_CHARS
            cell.text = shortened(str(value), fits)
            cell.text_frame.paragraphs[0].font.size = Pt(size)


def cell_chars(inches: float, size: int) -> int:
    """Give how many characters a table column `inches` wide holds on one line at `size` points (at most CELL_CHARS).

    Measured on the default template's Calibri: a character is half the font's size wide on average,
    and a cell has 0.1 in of margin on each side; a wide letter (W, M) takes more, so the count is
    rounded down.
    """
    return max(4, min(CELL_CHARS, int((inches - 0.2) * 72 / (size * 0.5)) - 1))


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
    chart = slide.shapes.add_chart(kind, *_box(slide, left, top, width, height), data).chart
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


@dataclass(frozen=True)
class _Inputs:
    """What several slides show, read once per pack (a third of its time went to reading it again)."""

    quarters: tuple[str, ...]       # filter_options' quarters
    flows: pd.DataFrame             # new_and_lapsed
    by_tier: pd.DataFrame           # revenue_by_tier
    found: QuarterMessages          # the messages and the frames they rest on


# -- slides ---------------------------------------------------------------------------------------
def _title_slide(deck: Presentation, flt: ChannelFilter, quarter: str, inputs: _Inputs) -> None:
    quarters = inputs.quarters
    slide = deck.slides.add_slide(_layout(deck, TITLE_LAYOUT))
    subtitle = next((p for p in slide.placeholders if p.placeholder_format.idx == 1), None)
    if _uses_default_template(deck):
        _place(slide.shapes.title, 0.8, 2.2, 11.7, 1.5)
        _place(subtitle, 0.8, 4.0, 11.7, 1.5)
    slide.shapes.title.text = f"Channel Health: the channel in {quarter}"
    said = (f"Board pack · data {quarter_span(quarters[0], quarters[-1])} · {flt.describe()}\n"
            "Revenue in USD, net of credits and returns")
    if subtitle is not None:
        subtitle.text = said
    else:  # a company's title layout without a subtitle: the line goes under its title
        _text(slide, said.split("\n"), left=0.8, top=5.2, width=11.7, height=1.2, size=18)


def _flat_title(what: str, now: float, before: float, period: str) -> str:
    change = pct_change(now, before)
    return f"{what} {money(now)} over {period}, {signed_pct(change) or 'n/a'} on the year before"


def _headline_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                    said: dict[str, Message], inputs: _Inputs) -> None:
    summary = overview(store, flt)
    year_before = shift_quarter(quarter, -4)
    flows = inputs.flows.set_index("quarter")
    flow = lambda q, c: flows[c].get(q) if q in flows.index else None  # noqa: E731
    change = summary.active_partners - summary.active_partners_before
    slide = _slide(deck, f"Revenue in {quarter}: {money(summary.revenue_quarter)}, "
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
    _table(slide, ["", "Now", "A year before", "Change"], rows, top=1.6, width=6.2, widths=[3.1, 1.1, 1.1, 0.9])
    per_quarter = inputs.by_tier.groupby("quarter")["revenue"].sum()
    shown = [quarter_label(i) for i in range(quarter_index(quarter) - QUARTERS_SHOWN + 1, quarter_index(quarter) + 1)]
    shown = [q for q in shown if q in per_quarter.index]
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, shown, {"Revenue": [per_quarter[q] for q in shown]},
           MONEY, "Revenue per quarter (USD)", colours={"Revenue": _NEUTRAL})


def _largest_tier_change(tiers: pd.DataFrame, said: dict[str, Message]) -> str:
    if "tier" in said:
        return said["tier"].title
    now, before = int(tiers["partners"].sum()), int(tiers["partners_before"].sum())
    return f"Active partners {before:,} → {now:,} ({now - before:+,}) on a year before; no tier moved beyond the noise"


def _tier_slides(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                 said: dict[str, Message], inputs: _Inputs) -> object | None:
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
    slide = first = _slide(deck, _largest_tier_change(tiers, said) if compared
                           else f"{int(tiers['partners'].sum()):,} active partners in the {quarters_to(quarter)}")
    if compared:
        _table(slide, ["Tier (recorded)", f"Partners, {year_before}", f"Partners, {quarter}", "Net change",
                       f"Revenue, {quarters_to(quarter)}"],
               [[r.tier, f"{r.partners_before:,}", f"{r.partners:,}", f"{r.net_change:+,}", money(r.revenue)]
                for r in tiers.itertuples()]
               + [["All", f"{int(tiers['partners_before'].sum()):,}", f"{int(tiers['partners'].sum()):,}",
                   f"{int(tiers['net_change'].sum()):+,}", money(tiers["revenue"].sum())]],
               width=6.1, widths=[1.4, 1.1, 1.1, 1.0, 1.5], top=1.6)
        series = {f"{year_before}": tiers["partners_before"].tolist(), f"{quarter}": tiers["partners"].tolist()}
        colours = {year_before: RGBColor(0xBD, 0xBD, 0xBD), quarter: _NEUTRAL}
    else:
        _table(slide, ["Tier (recorded)", "Partners", "Revenue, 4 quarters"],
               [[r.tier, f"{r.partners:,}", money(r.revenue)] for r in tiers.itertuples()]
               + [["All", f"{int(tiers['partners'].sum()):,}", money(tiers["revenue"].sum())]], width=5.5)
        series, colours = {"Partners": tiers["partners"].tolist()}, {"Partners": _NEUTRAL}
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, order, series, COUNT,
           "Active partners per recorded tier" + (", now against a year before" if compared else ""),
           colours=colours)
    _text(slide, ["Active: an order in the four quarters to the quarter named; each partner in the latest tier the "
                  "data record for it there, not the tier its figures meet."], top=5.3, width=6.1, height=1.2, size=12)
    by_tier = inputs.by_tier
    shown = sorted(q for q in by_tier["quarter"].unique()
                   if quarter_index(quarter) - QUARTERS_SHOWN < quarter_index(q) <= quarter_index(quarter))
    table = by_tier[by_tier["quarter"].isin(shown)].pivot_table(
        index="quarter", columns="tier", values="revenue", aggfunc="sum").reindex(shown).fillna(0.0)
    slide = _slide(deck, _revenue_per_tier_title(table, quarter, year_before))
    _chart(slide, XL_CHART_TYPE.COLUMN_STACKED, shown,
           {t: table[t].tolist() for t in ordered_tiers(table.columns)}, MONEY, "Revenue per quarter by tier (USD)",
           left=0.5, width=12.3, top=1.4, height=5.8, colours={t: _rgb(c) for t, c in TIER_COLOURS.items()})
    earlier = [q for q in quarters if q < quarter]
    if not earlier:
        _text(_slide(deck, "No recorded tier moves yet"), [f"No quarter before {quarter} to compare with."])
        return first
    from_q = year_before if year_before in earlier else earlier[0]
    moves = found.moves if found.moves is not None and from_q == year_before else tier_moves(store, flt, from_q,
                                                                                               quarter)
    counts = moves["move"].value_counts()
    n = {m: int(counts.get(m, 0)) for m in MOVES}
    slide = _slide(deck, f"Since {from_q}: {n['promoted']:,} promoted, {n['demoted']:,} demoted, "
                         f"{n['lapsed']:,} lapsed, {n['new']:,} new (recorded tiers)")
    _table(slide, ["Move", "Partners"], [[m, f"{n[m]:,}"] for m in MOVES], width=4.5)
    _text(slide, [move_definitions(from_q, quarter)], top=4.9, width=5.8, height=2.4, size=11)
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, list(MOVES), {"Partners": [n[m] for m in MOVES]},
           COUNT, f"Partners per recorded tier move, {from_q} → {quarter}", colours={"Partners": _NEUTRAL})
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
    chart = _chart(slide, XL_CHART_TYPE.COLUMN_STACKED, bridge["component"].tolist(),
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
        point.format.fill.fore_color.rgb = (_NEUTRAL if i in (0, len(amounts) - 1)
                                            else _GROWTH if value >= 0 else _FALL)
        label = point.data_label
        label.has_text_frame = True
        label.text_frame.text = money(value) if i in (0, len(amounts) - 1) else (
            ("+" if value >= 0 else "") + money(value))
        label.text_frame.paragraphs[0].font.size = Pt(11)
        label.text_frame.paragraphs[0].font.bold = True
        label.position = XL_LABEL_POSITION.INSIDE_BASE if i in (0, len(amounts) - 1) else XL_LABEL_POSITION.CENTER


def _dropoff_slides(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                    said: dict[str, Message], inputs: _Inputs) -> tuple[object, object]:
    found = inputs.found
    changes = found.changes if found.changes is not None else partner_changes(store, flt, quarter)
    t4 = trailing_span(quarter)
    prev_t4 = trailing_span(shift_quarter(quarter, -4))
    fallen = significant_dropoffs(changes, DROPOFF_THRESHOLD)
    bridge = revenue_bridge(changes)
    total_change = float(changes["revenue_t4"].sum() - changes["revenue_prev_t4"].sum())
    before, now = float(bridge["amount"].iloc[0]), float(bridge["amount"].iloc[-1])
    bridge_slide = _slide(deck, said["revenue"].title if "revenue" in said
                          else _flat_title("Revenue", now, before, t4))
    _text(bridge_slide, [
        f"{t4} against {prev_t4}",
        f"Partners down {DROPOFF_THRESHOLD:.0%} or more: {len(fallen):,}",
        f"Revenue they lost: {money(float(fallen['revenue_lost'].sum()))}",
        f"Channel revenue change: {money(total_change)}",
    ], width=5.0, height=1.6)
    _table(bridge_slide, ["Component", "Amount"],
           [[c, money(a)] for c, a in zip(bridge["component"], bridge["amount"], strict=True)], top=3.2, width=5.0,
           widths=[3.2, 1.8])
    _bridge_chart(bridge_slide, bridge)
    title = (said["dropoffs"].title if "dropoffs" in said
             else f"{len(fallen):,} partners' revenue fell by {DROPOFF_THRESHOLD:.0%} or more over {t4}")
    slide = _slide(deck, title)
    if fallen.empty:
        _text(slide, [f"No partner's revenue fell by {DROPOFF_THRESHOLD:.0%} or more."])
        return bridge_slide, slide
    top = fallen.head(ROWS_SHOWN)
    _table(slide, ["Partner", "Name", "Tier (recorded)", prev_t4, t4, "Change"],
           [[r.partner_id, r.partner_name or "", r.tier or "", money(r.revenue_prev_t4), money(r.revenue_t4),
             signed_pct(r.change_t4) or "n/a"] for r in top.itertuples()], top=1.5, width=12.3,
           widths=[1.2, 4.3, 1.3, 1.9, 1.9, 1.7], names=(0, 1, 2))
    _text(slide, [f"The {len(top)} largest of {len(fallen):,} partners down {DROPOFF_THRESHOLD:.0%} or more, by "
                  f"revenue lost, {t4} against {prev_t4}. The Revenue drop-offs page lists them all."],
          top=6.5, height=0.6, size=12)
    return bridge_slide, slide


def _risk_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str) -> None:
    horizon = DEFAULT_HORIZON
    status = score_status(store, quarter, horizon)
    if not status.scored:
        slide = _slide(deck, f"Partners at risk: no churn scores for {quarter} yet")
        why = status.run.message if status.run is not None and status.run.message else (
            f"Churn scores are not yet computed for {quarter}: they are computed after every load "
            f"(python -m analytics rescore), or for an earlier quarter with "
            f"python -m analytics score --as-of {quarter} --out FILE.csv.")
        _text(slide, [why])
        return
    scores = risk_table(store, flt, horizon)
    summary = risk_summary(scores, RISK_THRESHOLD)
    periods = risk_periods(quarter, horizon)
    slide = _slide(deck, f"{summary.likely_churners:,} partners likely to churn in {periods.ahead}: "
                         f"{money(summary.expected_revenue_lost)} of revenue expected lost")
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
           widths=[1.2, 3.8, 1.3, 3.0, 3.0], names=(0, 1, 2))
    _text(slide, [f"The {len(top)} likely churners with the most revenue at stake (the Partners at risk page lists "
                  f"them all). Expected revenue lost: each partner's revenue in {periods.at_stake} times its churn "
                  "probability, summed. Under 5 % and over 95 % are bands: the data cannot tell finer odds apart."],
          top=6.8, height=0.6, size=11)


COHORTS_SHOWN = 6  # the recruits slide's cohorts: a year and a half


def _recruits_slide(deck: Presentation, store: Store, flt: ChannelFilter, quarter: str,
                    said: dict[str, Message], inputs: _Inputs) -> object:
    flows, found = inputs.flows, inputs.found
    flows = flows[flows["quarter"] <= quarter].tail(QUARTERS_SHOWN)
    row = flows[flows["quarter"] == quarter]
    new = row["new_partners"].iloc[0] if not row.empty else None
    lapsed = row["lapsed_partners"].iloc[0] if not row.empty else None
    slide = _slide(deck, said["recruits"].title if "recruits" in said
                   else f"{count(new)} new and {count(lapsed)} lapsed partners in {quarter}")
    _text(slide, [f"New partners in {quarter}: {count(new)}", f"Lapsed partners in {quarter}: {count(lapsed)}",
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
        _table(slide, ["Cohort (first order)", "Recruits", "Ordering 1 quarter on", "2 quarters on"],
               [[r.cohort, f"{r.recruited:,}", share(r.active_after_1), share(r.active_after_2)]
                for r in cohorts.itertuples()], top=3.9, width=5.8, widths=[1.6, 1.0, 1.8, 1.4], size=11)
    _chart(slide, XL_CHART_TYPE.COLUMN_CLUSTERED, flows["quarter"].tolist(),
           {"New partners": flows["new_partners"].tolist(), "Lapsed partners": flows["lapsed_partners"].tolist()},
           COUNT, "New and lapsed partners per quarter", colours={"New partners": _GROWTH, "Lapsed partners": _FALL})
    return slide


def _review_slide(deck: Presentation, store: Store, quarter: str, scope: tuple[str, ...] = ()) -> object | None:
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
    slide = _slide(deck, f"Review {name} (as of {as_of}): {n:,} termination{'' if n == 1 else 's'} decided, "
                         f"{terminate['share_of_partners']:.1%} of partners")
    _table(slide, ["Decision", "Partners", "Revenue, 4 quarters", "Share of partners"],
           [[r.action, f"{r.partners:,}", money(r.revenue_trailing), f"{r.share_of_partners:.1%}"]
            for r in counts.itertuples()], width=6.0, widths=[2.4, 1.0, 1.5, 1.1])
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
    return slide


def _messages_slide(deck: Presentation, found: QuarterMessages, proof: dict[str, object]) -> None:
    """Put the quarter's messages on a slide, each with the slide and the page that prove it; move it to second."""
    slide = _slide(deck, MESSAGES_TITLE + f", {found.quarter}")
    numbers = {id(s): i + 1 for i, s in enumerate(deck.slides)}
    lines = []
    for i, message in enumerate(found.messages, start=1):
        shown = proof.get(message.kind)
        where = f"slide {numbers[id(shown)] + 1}, " if shown is not None else ""
        lines.append((f"{i}. {message.text}.", f"Proof: {where}the {message.page_label} page"))
    if not lines:
        lines.append(("Nothing changed beyond the noise this quarter.", ""))
    frame = slide.shapes.add_textbox(*_box(slide, 0.5, 1.4, 12.3, 5.0)).text_frame
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
    _text(slide, [f"Ranked by the revenue each is about. Not news (within the noise): {NOISE_RULES}."
                  + (f" This quarter within it: {quiet}." if quiet else "")]
          + list(found.not_available), top=6.45, height=0.9, size=10)
    # Built last, so that it can name the slides that prove it; shown second.
    slides = deck.slides._sldIdLst
    entry = slides[-1]
    slides.remove(entry)
    slides.insert(1, entry)


# -- templates ------------------------------------------------------------------------------------
def template_path() -> Path:
    """Give where an admin's template is kept: brief_template.pptx in the program rules' folder (data/)."""
    return rules_folder() / TEMPLATE_NAME


def stored_template() -> Path | None:
    """Give the admin's template when one is kept, else None (the default template is used)."""
    path = template_path()
    return path if path.is_file() else None


def open_template(source: str | Path | bytes, name: str | None = None) -> Presentation:
    """Give a company's deck opened as the pack's template, its own slides left out, or a ValueError saying why not.

    Refused: a file that is no PowerPoint .pptx, and one without the layouts the pack needs
    (LAYOUTS_NEEDED, by name), naming those missing and those it has.
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "the template")
    try:
        deck = Presentation(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except (PackageNotFoundError, BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValueError(f"{name} cannot be used as the board pack's template: it is not a PowerPoint .pptx file "
                         f"({exc}). Save it from PowerPoint as a .pptx (not .potx or .ppt) and try again.") from exc
    have = [layout.name for layout in deck.slide_layouts]
    missing = [layout for layout in LAYOUTS_NEEDED if layout not in have]
    if missing:
        raise ValueError(
            f"{name} cannot be used as the board pack's template: it has no slide layout named "
            f"{' or '.join(repr(m) for m in missing)}. The pack needs layouts named {' and '.join(LAYOUTS_NEEDED)}; "
            f"its layouts are: {', '.join(repr(h) for h in have) or 'none'}. Rename the layouts in PowerPoint's "
            "slide master view and try again.")
    if _layout(deck, CONTENT_LAYOUT).placeholders and not any(
            p.placeholder_format.idx == 0 for p in _layout(deck, CONTENT_LAYOUT).placeholders):
        raise ValueError(f"{name} cannot be used as the board pack's template: its {CONTENT_LAYOUT!r} layout has no "
                         "title placeholder, where each slide's message goes.")
    # The template's own example slides are not part of the pack.
    for entry in list(deck.slides._sldIdLst):
        deck.part.drop_rel(entry.rId)
        deck.slides._sldIdLst.remove(entry)
    return deck


def save_template(data: bytes, file_name: str, actor: Actor | None = None) -> Path:
    """Keep a company's template for every board pack (template_path) and give its path; admins only.

    Raises AccessDenied when `actor` may not change the program rules (the setting it belongs with),
    ValueError when the file is too large or not a template the pack can use (see open_template).
    """
    check(actor, "change program rules")
    if len(data) > TEMPLATE_BYTES:
        raise ValueError(f"{file_name} is {len(data) / 1e6:.0f} MB: a template (master, layouts, logo) is under "
                         f"{TEMPLATE_BYTES / 1e6:.0f} MB. Remove the pictures of its example slides and try again.")
    open_template(data, file_name)
    path = template_path()
    new = path.with_name(path.name + ".new")
    new.write_bytes(data)
    os.replace(new, path)  # one step: a pack being built reads the old file or the new one, never half of one
    return path


def remove_template(actor: Actor | None = None) -> bool:
    """Go back to the default template (delete the kept one); tell whether there was one. Admins only."""
    check(actor, "change program rules")
    path = template_path()
    if not path.is_file():
        return False
    path.unlink()
    return True


# -- the deck -------------------------------------------------------------------------------------
def board_pack(store: Store, flt: ChannelFilter = ChannelFilter(), template: str | Path | bytes | None = None,
               messages: QuarterMessages | None = None) -> Presentation:
    """Give the board pack of the filter's quarter (default: the latest) for its selection.

    `template`: a company's .pptx to build on (open_template); None: the default Office template.
    `messages`: the quarter's messages when the caller has them (quarter_messages under the program
    rules), else they are made here. Raises ValueError when the store holds no data or the quarter
    holds none, or the template cannot be used.
    """
    quarters = filter_options(store).quarters
    if not quarters:
        raise ValueError("No data loaded yet: load an extract (or build the demo) before making a board pack")
    quarter = flt.quarter or quarters[-1]
    if quarter not in quarters:
        raise ValueError(f"No data for {quarter}: the data run from {quarters[0]} to {quarters[-1]}")
    flt = replace(flt, quarter=quarter)  # the scope and countries come along
    if template is None:
        deck = Presentation()
        deck.slide_width, deck.slide_height = _WIDE, _HIGH
        deck._default_template = True
    else:
        deck = open_template(template)
    programs = load_programs()
    found = messages if messages is not None and messages.quarter == quarter else quarter_messages(
        store, flt, programs.global_rules, programs)
    said = {}
    for message in found.messages:  # the largest of each kind titles its slide
        said.setdefault(message.kind, message)
    proof = {}
    inputs = _Inputs(quarters, new_and_lapsed(store, flt), revenue_by_tier(store, flt), found)
    _title_slide(deck, flt, quarter, inputs)
    _headline_slide(deck, store, flt, quarter, said, inputs)
    proof["tier"] = _tier_slides(deck, store, flt, quarter, said, inputs)
    proof["revenue"], proof["dropoffs"] = _dropoff_slides(deck, store, flt, quarter, said, inputs)
    _risk_slide(deck, store, flt, quarter)
    proof["recruits"] = _recruits_slide(deck, store, flt, quarter, said, inputs)
    proof["review"] = _review_slide(deck, store, quarter, flt.scope)
    _messages_slide(deck, found, proof)
    return deck


def board_pack_bytes(store: Store, flt: ChannelFilter = ChannelFilter(),
                     template: str | Path | bytes | None = None) -> bytes:
    """Give the board pack (see board_pack) as the bytes of a .pptx file."""
    buffer = io.BytesIO()
    board_pack(store, flt, template).save(buffer)
    return buffer.getvalue()


def write_board_pack(store: Store, path: str | Path, flt: ChannelFilter = ChannelFilter(),
                     template: str | Path | bytes | None = None) -> Path:
    """Write the board pack (see board_pack) to `path` and give the path."""
    path = Path(path)
    path.write_bytes(board_pack_bytes(store, flt, template))
    return path
