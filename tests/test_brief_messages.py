"""The board pack's messages slide against the engine, slide titles, a company's template, tables on the slide."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Inches

from analytics.analyses.dropoffs import partner_changes, significant_dropoffs
from analytics.analyses.messages import quarter_messages
from analytics.analyses.queries import partners_by_tier
from analytics.analyses.recruits import cohort_table, recruit_history
from analytics.brief import board_pack, board_pack_bytes
from analytics.brief.slides import MESSAGES_TITLE
from analytics.brief.template import open_template
from analytics.charts import bridge_axis
from analytics.cli import main
from analytics.filters import ChannelFilter
from analytics.program.rules import load_program
from analytics.review.decisions import decision_counts, recommendations, review_decisions
from analytics.store.quarters import latest_quarter, quarter_index, shift_quarter
from analytics.store.store import Store
from tests.apptest_helpers import open_page
from tests.deck_helpers import texts

MASTER_COLOUR = RGBColor(0x12, 0x34, 0x56)


def company_template(path: Path, rename: dict[str, str] | None = None, width: float = 13.333) -> Path:
    """Write a company deck: its master's background coloured, an example slide, layouts renamed as asked."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(width), Inches(7.5)
    fill = deck.slide_master.background.fill
    fill.solid()
    fill.fore_color.rgb = MASTER_COLOUR
    for layout in deck.slide_layouts:
        if layout.name in (rename or {}):
            layout._element.cSld.set("name", rename[layout.name])
    deck.slides.add_slide(deck.slide_layouts[1]).shapes.title.text = "Our example slide"
    deck.save(path)
    return path


@pytest.fixture(scope="module")
def pack(small_demo):
    with Store(small_demo) as store:
        q = latest_quarter(store)
        flt = ChannelFilter(q)
        found = quarter_messages(store, flt, load_program())
        deck = Presentation(io.BytesIO(board_pack_bytes(store, flt)))
        year_before = shift_quarter(q, -4)
        engine = {
            "tiers": (partners_by_tier(store, flt, year_before).set_index("tier")["partners"],
                      partners_by_tier(store, flt, q).set_index("tier")["partners"]),
            "dropoffs": significant_dropoffs(partner_changes(store, flt, q), 0.5),
            "cohorts": cohort_table(recruit_history(store, flt, q),
                                    quarter_index(store.query_df("SELECT min(quarter) AS q FROM partner_quarter")
                                                  .iloc[0]["q"]), quarter_index(q), load_program()).set_index("cohort"),
            "review": decision_counts(review_decisions(recommendations(store, q, load_program()), flt, {})),
        }
    return q, found, deck, engine


def test_the_second_slide_holds_the_messages_in_order_each_with_the_slide_that_proves_it(pack):
    q, found, deck, _ = pack
    slides = list(deck.slides)
    assert slides[1].shapes.title.text == f"{MESSAGES_TITLE}, {q}"
    lines = texts(slides[1])
    assert found.messages, "the small demo has news"
    said = [line for line in lines if line[:2] in {f"{i}." for i in range(1, 10)}]
    assert said == [f"{i}. {m.text}." for i, m in enumerate(found.messages, start=1)]
    titles = [s.shapes.title.text for s in slides]
    for message in found.messages:
        proof = lines[lines.index(f"{found.messages.index(message) + 1}. {message.text}.") + 1]
        assert proof.startswith("Proof: ") and message.page_label in proof
        if proof.startswith("Proof: slide "):
            number = int(proof.removeprefix("Proof: slide ").split(",")[0])
            if message.kind != "review":  # the review slide shows saved decisions, titled with them
                # A slide is titled with the largest message of its kind (two tiers' messages share the tiers slide).
                largest = next(m for m in found.messages if m.kind == message.kind)
                assert titles[number - 1] == largest.title


def test_every_figure_of_the_messages_equals_the_engines(pack):
    q, found, _, engine = pack
    kinds = {m.kind for m in found.messages}
    assert kinds >= {"revenue", "dropoffs"}
    for message in found.messages:
        f = message.figures
        if message.kind == "tier":
            before, now = engine["tiers"]
            tier = message.subject
            assert (f["partners_before"], f["partners"]) == (before.get(tier, 0), now.get(tier, 0))
            assert f["net_change"] == f["partners"] - f["partners_before"] == f["joined"] - f["left"]
        elif message.kind == "dropoffs":
            fallen = engine["dropoffs"]
            assert f["dropoffs"] == len(fallen)
            assert f["revenue_lost"] == pytest.approx(fallen["revenue_lost"].head(20).sum())
        elif message.kind == "recruits":
            row = engine["cohorts"].loc[shift_quarter(q, -2)]
            assert (f["recruited"], f["still_ordering"]) == (row["recruited"], row["active_after_2"])
        elif message.kind == "review":
            counts = engine["review"].set_index("action")
            assert f["terminate"] == counts.at["terminate", "recommended"]
            assert f["partners"] == counts["decided"].sum()


def test_no_slide_is_titled_with_its_chart_type_and_the_bridge_axis_does_not_start_at_zero(pack):
    _, found, deck, _ = pack
    titles = [s.shapes.title.text for s in deck.slides]
    assert not any(t.startswith(("Headline figures", "Tiers:", "Revenue bridge", "Largest revenue", "Recruits:"))
                   for t in titles)
    said = {m.kind: m.title for m in found.messages}
    assert said["dropoffs"] in titles and said["revenue"] in titles
    bridge = next(s for s in deck.slides if s.shapes.title.text == said["revenue"] and any(
        shape.has_chart for shape in s.shapes) and any(shape.has_table for shape in s.shapes)
        and "Component" in [c.text for shape in s.shapes if shape.has_table for c in shape.table.rows[0].cells])
    chart = next(shape.chart for shape in bridge.shapes if shape.has_chart)
    assert chart.value_axis.minimum_scale > 0
    labels = [p.data_label.text_frame.text for p in chart.plots[0].series[1].points]
    assert labels[1][0] in "+-" and labels[2][0] in "+-"  # the steps carry their signed change


@pytest.mark.parametrize(("levels", "expected"), [
    # span 50: from 1000 - 25 down to tens (970), to 1050 + 10 (1060)
    ([1000.0, 1050.0, 1020.0, 1030.0], (970.0, 1060.0)),
    # span 200: 100 - 100 = 0, 300 + 40 up to hundreds (400)
    ([100.0, 300.0], (0.0, 400.0)),
], ids=["a small change", "a large one"])
def test_the_bridge_axis_frames_the_change(levels, expected):
    assert bridge_axis(levels) == expected


@pytest.mark.parametrize("width", [None, 10.0], ids=["default template", "4:3 company template"])
def test_shapes_and_tables_stay_on_the_slide(small_demo, tmp_path, width):
    template = company_template(tmp_path / "company.pptx", width=width) if width else None
    with Store(small_demo) as store:
        deck = board_pack(store, template=template)
    for number, slide in enumerate(deck.slides, start=1):
        if width:
            assert slide.slide_layout.slide_master.background.fill.fore_color.rgb == MASTER_COLOUR
        for shape in slide.shapes:
            tall = sum(row.height for row in shape.table.rows) if shape.has_table else shape.height
            wide = sum(c.width for c in shape.table.columns) if shape.has_table else shape.width
            assert shape.left + wide <= deck.slide_width, (number, shape.name)
            assert shape.top + tall <= deck.slide_height, (number, shape.name)
    assert "Our example slide" not in [s.shapes.title.text for s in deck.slides]
    assert deck.slide_width == Inches(width or 13.333)


def test_a_template_without_the_layouts_is_refused_naming_them(tmp_path):
    bad = company_template(tmp_path / "bad.pptx", rename={"Title Only": "Headline only"})
    with pytest.raises(ValueError, match=r"bad.pptx .*no slide layout named 'Title Only'.*'Headline only'"):
        open_template(bad)
    with pytest.raises(ValueError, match=r"notes.pptx cannot be used .*not a PowerPoint .pptx file"):
        open_template(b"plain text", "notes.pptx")


def test_brief_builds_on_the_template_and_prints_the_messages(small_demo, tmp_path, capsys):
    out = tmp_path / "pack.pptx"
    template = company_template(tmp_path / "company.pptx")
    assert main(["--db", str(small_demo), "brief", "--out", str(out), "--template", str(template)]) == 0
    printed = capsys.readouterr().out
    assert f"on the template {template}" in printed and "What changed in" in printed and "\n1. " in printed
    deck = Presentation(out)
    assert deck.slide_master.background.fill.fore_color.rgb == MASTER_COLOUR
    bad = company_template(tmp_path / "bad.pptx", rename={"Title Slide": "Cover"})
    assert main(["--db", str(small_demo), "brief", "--out", str(tmp_path / "x.pptx"), "--template", str(bad)]) == 1
    assert "no slide layout named 'Title Slide'" in capsys.readouterr().err
    assert not (tmp_path / "x.pptx").exists()


def test_the_overview_shows_the_messages_with_links_and_tiers_against_a_year_before(review_db):
    at = open_page(review_db, "views/pages/overview.py")
    assert not at.exception, at.exception
    with Store(review_db) as store:
        found = quarter_messages(store, ChannelFilter(latest_quarter(store)), load_program())
    shown = [m.value for m in at.markdown]
    for i in range(1, len(found.messages) + 1):
        assert any(value.startswith(f"{i}\\. ") for value in shown)
    links = [link.proto.label for link in at.get("page_link")]
    assert links == [m.page_label for m in found.messages]
    assert any(s.value == f"What changed in {found.quarter}" for s in at.subheader)
    assert any("Not news" in c.value and "within the noise" in c.value for c in at.caption)
    year_before = shift_quarter(found.quarter, -4)
    assert any("with the net change" in m and year_before in m for m in shown)


def test_an_admin_keeps_a_template_on_the_overview_and_a_bad_one_is_refused_by_name(small_channel_db, tmp_path,
                                                                                    monkeypatch):
    import shutil

    from analytics.brief.template import stored_template
    from analytics.program.rules import program_path

    shutil.copy(program_path(), tmp_path / "program.toml")
    monkeypatch.setenv("CHANNEL_RULES_DIR", str(tmp_path))  # the template is kept beside the rules, not in data/
    bad = company_template(tmp_path / "bad.pptx", rename={"Title Only": "Headline only"}).read_bytes()
    at = open_page(small_channel_db, "views/pages/overview.py")
    at.file_uploader(key="brief_template_upload").upload("bad.pptx", bad, "application/octet-stream").run()
    at.button(key="brief_template_save").click().run()
    assert not at.exception, at.exception
    assert any("no slide layout named 'Title Only'" in e.value.replace("\\", "") for e in at.error)
    assert stored_template() is None
    good = company_template(tmp_path / "good.pptx").read_bytes()
    at.file_uploader(key="brief_template_upload").upload("good.pptx", good, "application/octet-stream").run()
    at.button(key="brief_template_save").click().run()
    assert stored_template() == tmp_path / "brief_template.pptx"
    assert stored_template().read_bytes() == good
    at.run()
    at.button(key="brief_template_remove").click().run()
    assert stored_template() is None


def test_the_overview_tier_bars_pair_a_year_before_with_now_and_label_the_net_change():
    from analytics.analyses.messages import tier_change
    from analytics.charts import tiers_against_year_before_bars
    from tests.builders import per_tier

    fig = tiers_against_year_before_bars(tier_change(per_tier({"Gold": 88, "Silver": 5}),
                                                     per_tier({"Gold": 100, "Silver": 5})), "2026Q3", "2025Q3")
    before, now = fig.data
    assert (before.name, now.name) == ("2025Q3", "2026Q3")
    assert list(before.y) == [100, 5] and list(now.y) == [88, 5]
    assert list(now.text) == ["-12", "+0"]


def test_the_drop_offs_page_waterfall_frames_the_change_not_zero():
    from analytics.charts import revenue_bridge_waterfall
    from tests.builders import bridge

    # 1,000 to 1,020: levels 1000, 1010 (new), 1060 (growing), 1040 (declining), 1020 (lapsed); span 60, so from
    # 1000 - 30 = 970 to 1060 + 12 = 1072, rounded up to tens: 1080.
    fig = revenue_bridge_waterfall(bridge(1000.0, 50.0, -20.0, 10.0, -20.0), "2026Q3")
    assert tuple(fig.layout.yaxis.range) == (970.0, 1080.0)
    assert fig.layout.yaxis.title.text == "Revenue (USD), axis from $970"
