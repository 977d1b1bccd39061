"""The selection's as-of quarter is resolved once, where the selection is made, and carried."""

from __future__ import annotations

from pathlib import Path

from analytics.filters import ChannelFilter, as_of_quarter
from analytics.ingest.load import load_extract
from analytics.store.store import Store

CSV = "partner_id,quarter,revenue\nP1,2025Q4,100\nP2,2026Q2,50\nP1,2026Q1,10\n"


def _loaded(store: Store, tmp_path: Path) -> Store:
    path = tmp_path / "extract.csv"
    path.write_text(CSV)
    load_extract(store, path)
    return store


def test_resolved_names_the_latest_quarter_when_none_was_chosen(store, tmp_path):
    flt = ChannelFilter(regions=("EMEA",))
    resolved = flt.resolved(_loaded(store, tmp_path))
    assert resolved == ChannelFilter(quarter="2026Q2", regions=("EMEA",))


def test_resolved_keeps_a_chosen_quarter_as_the_same_selection(store, tmp_path):
    flt = ChannelFilter(quarter="2025Q4")
    assert flt.resolved(_loaded(store, tmp_path)) is flt


def test_resolved_stays_without_a_quarter_in_an_empty_store(store):
    assert ChannelFilter().resolved(store).quarter is None


def test_as_of_quarter_takes_the_argument_then_the_selection_then_the_latest(store, tmp_path):
    _loaded(store, tmp_path)
    assert as_of_quarter(store, ChannelFilter(quarter="2025Q4"), "2026Q1") == "2026Q1"
    assert as_of_quarter(store, ChannelFilter(quarter="2025Q4")) == "2025Q4"
    assert as_of_quarter(store, ChannelFilter()) == "2026Q2"
