"""Each headline figure computed two ways, the engine's function and what the pages show, on a hand-made channel.

The channel runs 2024Q1–2026Q1 in two loads (to 2025Q4, then 2026Q1), so What changed compares them.
As of 2026Q1 (its trailing year 2025Q2–2026Q1; the year before 2024Q2–2025Q1):

* P1 Gold every quarter; P7 Silver to 2025Q1, Gold from 2025Q2 (promoted); P8 Gold to 2025Q1, Bronze from
  2025Q2 (demoted);
* P2 Bronze from 2025Q2 with $3.2M over the year, 16 deals, 8 customers: recorded Bronze, its figures meet
  Gold (the program's Platinum needs 30 deals);
* P3 Silver 2024Q2–2025Q1: lapsed in 2026Q1 (an order in 2025Q1–2025Q4, none in 2025Q2–2026Q1);
* P4 Silver 2025Q1–2025Q4: new in 2025Q1, gone in 2026Q1 (an order in 2025Q4, none in 2026Q1), not lapsed;
* P5 Authorized, first order ever in 2026Q1: new;
* P6 Bronze in 2024Q1, back in 2026Q1: lapsed in 2025Q1, returned (not new) in 2026Q1.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.analyses.changes import load_changes
from analytics.analyses.partner_profile import partner_rank
from analytics.analyses.queries import (
    gone_partners,
    lapsed_partners,
    latest_recorded_tier,
    new_and_lapsed,
    overview,
    partners_by_tier,
)
from analytics.analyses.recruits import recruits_report
from analytics.analyses.tiers import (
    NO_TIER_MET,
    qualifying_tiers,
    recorded_against_met,
    tier_gap_words,
    tier_moves,
)
from analytics.brief import board_pack
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal
from analytics.ingest.load import load_extract
from analytics.program.rules import ProgramRules, TierRule, load_program
from analytics.store.quarters import quarter_index, quarter_range
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page

HEADER = "partner_id,partner_name,order_date,revenue,tier,region,customer_id\n"
MONTH = {1: "02", 2: "05", 3: "08", 4: "11"}


def _line(pid: str, name: str, quarter: str, revenue: float, tier: str, region: str, customer: str, day: int = 10):
    return f"{pid},{name},{quarter[:4]}-{MONTH[int(quarter[5])]}-{day:02d},{revenue},{tier},{region},{customer}\n"


def _lines() -> list[tuple[str, str]]:
    """Give (quarter, CSV line) for the channel described in the module's docstring."""
    rows = []
    for q in quarter_range("2024Q1", "2026Q1"):
        rows.append((q, _line("P1", "Steady Ltd", q, 1000, "Gold", "EMEA", "C1")))
        rows.append((q, _line("P7", "Riser AG", q, 500, "Silver" if q <= "2025Q1" else "Gold", "EMEA", "C7")))
        rows.append((q, _line("P8", "Slider BV", q, 400, "Gold" if q <= "2025Q1" else "Bronze", "EMEA", "C8")))
    for i, q in enumerate(quarter_range("2025Q2", "2026Q1")):
        for k in range(4):  # 4 deals a quarter, 8 distinct customers over the year
            rows.append((q, _line("P2", "Big Bronze Inc", q, 200_000, "Bronze", "NA", f"C2{(i * 4 + k) % 8}", 10 + k)))
    rows += [(q, _line("P3", "Lapser SA", q, 300, "Silver", "EMEA", "C3")) for q in quarter_range("2024Q2", "2025Q1")]
    rows += [(q, _line("P4", "Goner GmbH", q, 250, "Silver", "EMEA", "C4")) for q in quarter_range("2025Q1", "2025Q4")]
    rows.append(("2026Q1", _line("P5", "Newbie Ltd", "2026Q1", 90, "Authorized", "EMEA", "C5")))
    rows += [(q, _line("P6", "Returner Oy", q, 80, "Bronze", "EMEA", "C6")) for q in ("2024Q1", "2026Q1")]
    return rows


@pytest.fixture(scope="module")
def figures_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("figures")
    path = folder / "figures.duckdb"
    lines = _lines()
    with Store(path) as store:
        for name, keep in (("to_2025q4.csv", lambda q: q <= "2025Q4"), ("2026q1.csv", lambda q: q == "2026Q1")):
            file = folder / name
            file.write_text(HEADER + "".join(line for q, line in lines if keep(q)))
            load_extract(store, file)
    return path


@pytest.fixture
def figures(figures_db: Path):
    with Store(figures_db) as store:
        yield store


Q = "2026Q1"
FILTERS = [ChannelFilter(), ChannelFilter(tiers=("Silver",)), ChannelFilter(tiers=("Gold",)),
           ChannelFilter(tiers=("Bronze",)), ChannelFilter(regions=("NA",))]
FILTER_IDS = ["whole-channel", "silver", "gold", "bronze", "region-na"]


def _moves(store: Store, flt: ChannelFilter, from_q: str, to_q: str) -> dict[str, str]:
    return dict(zip(*tier_moves(store, flt, from_q, to_q)[["partner_id", "move"]].T.values, strict=True))


# -- each definition on its own, hand-computed ------------------------------------------------------


def test_active_partners_are_those_with_an_order_in_the_trailing_year(figures):
    summary = overview(figures, ChannelFilter(Q))
    # 2025Q2–2026Q1: P1 P2 P4 P5 P6 P7 P8; 2024Q2–2025Q1: P1 P3 P4 P7 P8.
    assert (summary.active_partners, summary.active_partners_before) == (7, 5)


def test_partners_per_tier_count_each_active_partner_in_its_latest_recorded_tier(figures):
    tiers = partners_by_tier(figures, ChannelFilter(Q), Q).set_index("tier")["partners"].to_dict()
    assert tiers == {"Gold": 2, "Silver": 1, "Bronze": 3, "Authorized": 1}  # P2 is Bronze as recorded


def test_new_and_lapsed_per_quarter(figures):
    flows = new_and_lapsed(figures, ChannelFilter(Q)).set_index("quarter")
    assert flows.loc["2026Q1"].tolist() == [1, 1]  # new P5 (P6 returned: not new); lapsed P3
    assert flows.loc["2025Q1"].tolist() == [1, 1]  # new P4; lapsed P6 (last order 2024Q1)
    assert flows.loc["2025Q2"].tolist() == [1, 0]  # new P2
    assert flows.loc["2024Q4"].isna().all()  # before the fifth quarter: not known


def test_lapsed_and_gone_partners_from_a_frame_of_orders():
    q = quarter_index("2026Q1")
    rows = pd.DataFrame({"partner_id": ["L", "L", "G", "G", "S", "S"],
                         "q_index": [q - 4, q - 8, q - 1, q - 2, q, q - 1]})
    # L's last order was four quarters before: lapsed; G ordered the quarter before, not in it: gone; S in both.
    assert lapsed_partners(rows, "2026Q1") == {"L"} and gone_partners(rows, "2026Q1") == {"G"}


def test_recorded_tier_moves_over_a_year(figures):
    assert _moves(figures, ChannelFilter(Q), "2025Q1", Q) == {
        "P1": "kept", "P2": "new", "P3": "lapsed", "P4": "kept", "P5": "new", "P6": "returned", "P7": "promoted",
        "P8": "demoted"}


def test_recorded_tier_moves_over_a_quarter_are_the_quarters_new_and_lapsed(figures):
    moves = _moves(figures, ChannelFilter(Q), "2025Q4", Q)
    assert {p: m for p, m in moves.items() if m != "kept"} == {"P3": "lapsed", "P5": "new", "P6": "returned"}


def test_the_tier_its_figures_meet_is_not_the_recorded_tier(figures):
    rules = ProgramRules(tiers=(TierRule("Gold", 500_000, 10, 5), TierRule("Silver", 1000, 2, 1)))
    met = qualifying_tiers(figures, Q, rules).set_index("partner_id")
    assert met.loc["P2", ["revenue_trailing", "deals_trailing", "customers_trailing", "qualifies_for"]].tolist() == [
        3_200_000, 16, 8, "Gold"]
    assert met.loc["P1", "qualifies_for"] == "Silver"  # 4,000 over 4 deals and 1 customer
    assert met.loc["P5", "qualifies_for"] == NO_TIER_MET  # 90
    assert "P3" not in met.index  # no order in the year
    moves = tier_moves(figures, ChannelFilter(Q), "2025Q1", Q, rules).set_index("partner_id")
    assert moves.loc["P2", ["to_tier", "qualifies_for"]].tolist() == ["Bronze", "Gold"]
    assert moves.loc["P3", "qualifies_for"] is None


def test_latest_recorded_tier_says_the_quarter_it_is_from(figures):
    latest = latest_recorded_tier(figures, Q).set_index("partner_id")
    assert latest.loc["P3"].tolist() == ["Silver", "2025Q1"] and latest.loc["P8"].tolist() == ["Bronze", "2026Q1"]
    assert latest_recorded_tier(figures, "2025Q1", ["P8", "P5"]).values.tolist() == [["P8", "Gold", "2025Q1"]]


# -- the same figure from two engine functions ---------------------------------------------------------------


@pytest.mark.parametrize("flt", FILTERS, ids=FILTER_IDS)
def test_new_and_lapsed_per_quarter_are_the_tier_moves_from_the_quarter_before(figures, flt):
    flows = new_and_lapsed(figures, flt).set_index("quarter")
    for q in quarter_range("2025Q1", Q):
        moves = pd.Series(_moves(figures, flt, quarter_range("2024Q4", q)[-2], q), dtype=object)
        assert flows.loc[q].tolist() == [int((moves == "new").sum()), int((moves == "lapsed").sum())], q


def test_what_changed_counts_new_lapsed_and_gone_as_the_overview_does(figures):
    changes = load_changes(figures)
    flows = new_and_lapsed(figures).set_index("quarter").loc[Q]
    assert (changes.counts["new"], changes.counts["lapsed"]) == (flows["new_partners"], flows["lapsed_partners"])
    by_kind = changes.rows.groupby("change")["partner_id"].apply(list).to_dict()
    assert (by_kind["new"], by_kind["lapsed"], by_kind["gone"]) == (["P5"], ["P3"], ["P4"])


def test_recruits_per_cohort_are_the_new_partners_per_quarter(figures):
    cohorts = recruits_report(figures, ChannelFilter(Q), load_program()).cohorts.set_index("cohort")["recruited"]
    flows = new_and_lapsed(figures, ChannelFilter(Q)).set_index("quarter")["new_partners"].dropna()
    # Known from the fifth quarter on: 2025Q1 P4, 2025Q2 P2, 2026Q1 P5; no cohort is an empty quarter.
    assert {q: int(n) for q, n in flows.items() if n} == cohorts.reindex(flows.index).dropna().astype(int).to_dict() \
        == {"2025Q1": 1, "2025Q2": 1, "2026Q1": 1}


def test_partner_rank_peers_are_the_partners_per_tier(figures):
    rank = partner_rank(figures, "P1", Q)
    tiers = partners_by_tier(figures, ChannelFilter(Q), Q).set_index("tier")["partners"]
    assert (rank["tier"], rank["partners_in_tier"]) == ("Gold", tiers["Gold"])


# -- the same figure on the engine and on the pages ---------------------------------------------------------


def test_overview_metrics_are_the_engines(figures_db):
    with Store(figures_db) as store:
        summary = overview(store, ChannelFilter(Q))
        flows = new_and_lapsed(store).set_index("quarter").loc[Q]
        changes = load_changes(store, load_program())
    at = open_page(figures_db)
    assert metric(at, "Active partners").value == f"{summary.active_partners:,}" == "7"
    assert metric(at, f"New / lapsed in {Q}").value == f"{flows['new_partners']:.0f} / {flows['lapsed_partners']:.0f}"
    assert "2025Q1–2025Q4, none in 2025Q2–2026Q1" in metric(at, f"New / lapsed in {Q}").help
    counts = next(c.value for c in at.caption if c.value.startswith("qualifies higher:"))
    for kind in ("new", "lapsed", "gone"):
        assert f"{kind}: {changes.counts[kind]:,}" in counts
    assert any("**Lapsed**: an order in the four quarters to 2025Q4, none in 2025Q2–2026Q1" in c.value
               for c in at.caption)


def test_tiers_page_counts_are_the_engines_and_the_overviews(figures_db):
    with Store(figures_db) as store:
        tiers = partners_by_tier(store, ChannelFilter(Q), Q).set_index("tier")["partners"]
        year = pd.Series(_moves(store, ChannelFilter(Q), "2025Q1", Q), dtype=object).value_counts()
        flows = new_and_lapsed(store).set_index("quarter").loc[Q]
    at = open_page(figures_db, "views/pages/tiers.py")
    for tier, partners in tiers.items():
        assert metric(at, tier).value == f"{partners:,}"
    for move in ("promoted", "kept", "demoted", "lapsed", "new", "returned"):
        assert metric(at, move.capitalize()).value == f"{int(year.get(move, 0)):,}", move
    # The table shows both tiers of the Bronze partner whose figures meet Gold (new in the year: shown on asking).
    at.multiselect(key="tier_moves_shown").set_value(["new"]).run()
    table = next(df.value for df in at.dataframe if "qualifies_for" in df.value.columns)
    p2 = table[table["partner_name"] == "Big Bronze Inc"].iloc[0]
    assert (p2["to_tier"], p2["qualifies_for"]) == ("Bronze", "Gold")
    # Over one quarter, the moves' new and lapsed are the Overview's.
    at.selectbox(key="tier_from").set_value("2025Q4").run()
    assert (metric(at, "New").value, metric(at, "Lapsed").value) == (
        f"{flows['new_partners']:.0f}", f"{flows['lapsed_partners']:.0f}")


def test_partner_page_ranks_a_lapsed_partner_in_its_latest_recorded_tier(figures_db):
    with Store(figures_db) as store:
        rank = partner_rank(store, "P3", Q)
    at = open_page(figures_db, "views/pages/partner.py", partner_id="P3")
    shown = metric(at, "Rank in tier")
    assert shown.label == "Rank in tier (Silver) · recorded 2025Q1"
    assert shown.value == f"{rank['rank_in_tier']} of {rank['partners_in_tier']}" == "2 of 2"  # P4, then P3 with 0
    assert "Silver (recorded 2025Q1)" in at.selectbox(key="partner_pick").format_func("P3")


def test_partner_page_shows_both_tiers_of_a_partner_whose_figures_meet_a_higher_one(figures_db):
    with Store(figures_db) as store:
        rules = load_program()
        met = qualifying_tiers(store, Q, rules).set_index("partner_id").loc["P2"]
    words = tier_gap_words(met, "Bronze", rules)
    assert words.startswith("Gold: $3.20M of revenue, 16 deals, 8 customers; higher than its recorded tier (Bronze)")
    at = open_page(figures_db, "views/pages/partner.py", partner_id="P2")
    text = next(m.value for m in at.markdown if "Tier its figures meet" in m.value)
    assert "**Tier (recorded)**: Bronze, as recorded in 2026Q1" in text and text.endswith(markdown_literal(words))


def test_board_pack_says_what_the_pages_say(figures):
    flows = new_and_lapsed(figures).set_index("quarter").loc[Q]
    year = pd.Series(_moves(figures, ChannelFilter(Q), "2025Q1", Q), dtype=object).value_counts()
    deck = board_pack(figures, ChannelFilter(Q))
    texts = {s.shapes.title.text: [sh for sh in s.shapes] for s in list(deck.slides)[1:]}
    # Slides are titled with what they show: the moves slide with the moves since a year before.
    moves_slide = next(shapes for title, shapes in texts.items() if title.startswith("Since 2025Q1: "))
    moves_table = next(sh.table for sh in moves_slide if sh.has_table)
    shown = {moves_table.cell(r, 0).text: moves_table.cell(r, 1).text for r in range(1, len(moves_table.rows))}
    assert shown == {m: f"{int(year.get(m, 0)):,}" for m in shown} and shown["returned"] == "1"
    recruits = next(" ".join(sh.text_frame.text for sh in shapes if sh.has_text_frame) for shapes in texts.values()
                    if any(sh.has_text_frame and sh.text_frame.text.startswith(f"New partners in {Q}")
                           for sh in shapes))
    assert f"New partners in {Q}: {flows['new_partners']:.0f}" in recruits
    assert f"Lapsed partners in {Q}: {flows['lapsed_partners']:.0f}" in recruits


WORDS_RULES = ProgramRules(tiers=(TierRule("Gold", 500_000, 10, 5), TierRule("Bronze", 1000, 3, 2)))


@pytest.mark.parametrize(
    ("figures", "recorded", "words"),
    [
        ((600_000, 12, 6, "Gold"), "Bronze",
         "Gold: $600.00k of revenue, 12 deals, 6 customers; higher than its recorded tier (Bronze): the annual review "
         "weighs a promotion."),
        ((2_740_000, 1, 1, NO_TIER_MET), "Bronze",
         "none: $2.74M of revenue, 1 deal, 1 customer; short of its recorded tier (Bronze), whose minimums are "
         "$1.00k, 3 deals, 2 customers."),
        ((2000, 3, 2, "Bronze"), "Bronze", "Bronze: $2.00k of revenue, 3 deals, 2 customers."),
        ((2000, 3, 2, "Bronze"), None, "Bronze: $2.00k of revenue, 3 deals, 2 customers."),
    ],
    ids=["meets-higher", "meets-none", "same", "none-recorded"],
)
def test_tier_gap_words_say_both_tiers_and_the_figures(figures, recorded, words):
    row = pd.Series(dict(zip(["revenue_trailing", "deals_trailing", "customers_trailing", "qualifies_for"], figures,
                             strict=True)))
    assert tier_gap_words(row, recorded, WORDS_RULES) == words


def test_recorded_against_met_counts_partners_by_how_their_figures_stand_to_their_recorded_tier():
    moves = pd.DataFrame({
        "to_tier": ["Bronze", "Gold", "Gold", "Bronze", None, "Unknown"],
        "qualifies_for": ["Gold", "Gold", "Bronze", NO_TIER_MET, None, "Gold"],
    })
    assert recorded_against_met(moves, WORDS_RULES) == {"higher": 1, "same": 1, "lower": 2}


def test_tiers_page_counts_how_recorded_tiers_stand_to_the_figures(figures_db):
    with Store(figures_db) as store:
        against = recorded_against_met(tier_moves(store, ChannelFilter(Q), "2025Q1", Q, load_program()), load_program())
    # Under the program's minimums only P2 (recorded Bronze) meets a tier, Gold; the other six meet none.
    assert against == {"higher": 1, "same": 0, "lower": 6}
    at = open_page(figures_db, "views/pages/tiers.py")
    assert any(c.value.startswith("Of the 7 partners with a recorded tier in the year to 2026Q1, the figures of 1 "
                                  "meet a higher tier than the one recorded, 0 their recorded tier and 6 a lower")
               for c in at.caption)


def test_recorded_against_met_counts_nothing_when_no_tier_is_the_programs():
    from analytics.analyses.tiers import recorded_against_met
    from analytics.program.rules import load_program

    moves = pd.DataFrame({"to_tier": pd.Series(["**odd**"], dtype="str"), "qualifies_for": ["none"]})
    assert recorded_against_met(moves, load_program()) == {"higher": 0, "same": 0, "lower": 0}
