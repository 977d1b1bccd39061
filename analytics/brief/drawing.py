"""Drawing on a slide with python-pptx: a slide on the template's layout, text, tables and native charts placed
in inches that scale to the template's slide size, cut to what a slide holds."""

from __future__ import annotations

import pandas as pd
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_LEGEND_POSITION
from pptx.util import Emu, Inches, Pt

from analytics.brief.template import CONTENT_LAYOUT, slide_layout

__all__ = [
    "CELL_CHARS",
    "TITLE_CHARS",
    "shortened",
    "cell_chars",
    "ROW_INCHES",
    "SLIDE_WIDE",
    "SLIDE_HIGH",
    "MONEY",
    "COUNT",
    "GROWTH",
    "FALL",
    "NEUTRAL",
    "rgb_colour",
    "new_slide",
    "uses_default_template",
    "inches_box",
    "place_shape",
    "put_text",
    "put_table",
    "put_chart",
]


CELL_CHARS = 60          # a table cell or chart category (a partner name of 1,000 characters overran the slide)
TITLE_CHARS = 90         # a slide title (a review's name is in one): two lines at 26 pt
ROW_INCHES = 0.35        # a table row of one line at 12 pt

SLIDE_WIDE, SLIDE_HIGH = Inches(13.333), Inches(7.5)
MONEY, COUNT, _MILLIONS = '"$"#,##0', "#,##0", '"$"#,##0.0,,"M"'
GROWTH, FALL, NEUTRAL = RGBColor(0x31, 0xA3, 0x54), RGBColor(0xDE, 0x2D, 0x26), RGBColor(0x42, 0x92, 0xC6)


def rgb_colour(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def shortened(text: str, at_most: int) -> str:
    """Give text cut to `at_most` characters, ending in "…" when cut: a slide does not scroll."""
    return text if len(text) <= at_most else text[:at_most - 1].rstrip() + "…"


def new_slide(deck: Presentation, title: str):
    slide = deck.slides.add_slide(slide_layout(deck, CONTENT_LAYOUT))
    if uses_default_template(deck):
        place_shape(slide.shapes.title, 0.5, 0.3, 12.3, 1.0)
    slide.shapes.title.text = shortened(title, TITLE_CHARS)
    slide.shapes.title.text_frame.word_wrap = True
    # A message is a sentence, longer than a chart's name: smaller than the template's 44 pt, on two lines at most.
    slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(26)
    return slide


def uses_default_template(deck: Presentation) -> bool:
    # The default template's placeholders sit on a 4:3 slide while the deck is 16:9, so the pack places its
    # titles itself; a company's template places them where its layouts say.
    return getattr(deck, "_default_template", False)


def _scale(slide) -> tuple[float, float]:
    # The slides are laid out on 13.333 x 7.5 in; a company template of another size gets them scaled to it.
    size = slide.part.package.presentation_part.presentation
    return size.slide_width / SLIDE_WIDE, size.slide_height / SLIDE_HIGH


def inches_box(slide, left: float, top: float, width: float, height: float) -> tuple[Emu, Emu, Emu, Emu]:
    across, down = _scale(slide)
    return (Emu(int(Inches(left) * across)), Emu(int(Inches(top) * down)), Emu(int(Inches(width) * across)),
            Emu(int(Inches(height) * down)))


def place_shape(shape, left: float, top: float, width: float, height: float) -> None:
    shape.left, shape.top, shape.width, shape.height = Inches(left), Inches(top), Inches(width), Inches(height)


def put_text(slide, lines: list[str], left=0.5, top=1.4, width=12.3, height=1.0, size=16) -> None:
    """Put lines of plain text on the slide (one paragraph each)."""
    frame = slide.shapes.add_textbox(*inches_box(slide, left, top, width, height)).text_frame
    frame.word_wrap = True
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = line
        paragraph.font.size = Pt(size)


def put_table(slide, header: list[str], rows: list[list[str]], left=0.5, top=2.2, width=6.0, size=12,
           widths: list[float] | None = None, names: tuple[int, ...] = ()) -> None:
    """Put a table of plain text on the slide; the first row is the header; `widths` in inches per column.

    A name from the data (columns `names`) is cut to what its column holds on one line (cell_chars),
    so a long name never makes a row taller and the table never runs off the slide; any other cell to
    CELL_CHARS (our own labels and figures, which fit their columns).
    """
    widths = widths or [width / len(header)] * len(header)
    shape = slide.shapes.add_table(len(rows) + 1, len(header), *inches_box(slide, left, top, sum(widths),
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


def put_chart(slide, kind, categories: list[str], series: dict[str, list], number_format: str, title: str | None = None,
           left=6.8, top=1.6, width=6.0, height=5.2, colours: dict[str, RGBColor] | None = None):
    """Put a native chart on the slide and give it (its data stay editable in PowerPoint); None without categories.

    `number_format` is the data's (shown when a value is selected); the value axis shows money in
    millions and counts as they are, from zero.
    """
    if not categories:
        put_text(slide, ["Nothing to chart for this quarter and selection."], left=left, top=top + 0.5, width=width)
        return None
    data = CategoryChartData(number_format=number_format)
    data.categories = [shortened(str(c), CELL_CHARS) for c in categories]
    for name, values in series.items():
        data.add_series(name, [None if pd.isna(v) else float(v) for v in values])
    chart = slide.shapes.add_chart(kind, *inches_box(slide, left, top, width, height), data).chart
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
