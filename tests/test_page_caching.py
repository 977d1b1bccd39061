"""A warm page run reuses what the last run made: figures built once per data version, the version read once per run.

Real parts throughout: the app under AppTest on a real DuckDB file, a real extract loaded in between.
The chart functions and Store.versions are wrapped to count calls; the real ones still run.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest

import analytics.charts as charts
from analytics.ingest.load import load_extract
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page, trace_values
from tests.builders import TINY


@pytest.fixture
def calls(monkeypatch) -> dict[str, int]:
    """Count calls of every chart function and of Store.versions (the real functions still run)."""
    counted: dict[str, int] = {}

    def counting(function, name):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            counted[name] = counted.get(name, 0) + 1
            return function(*args, **kwargs)
        return wrapper

    for name in charts.__all__:
        value = getattr(charts, name)
        if (callable(value) and not isinstance(value, type)
                and getattr(value, "__module__", "").startswith(charts.__name__ + ".")):
            wrapped = counting(value, "figure")
            # Pages name a chart through the package; the figure cache calls it from the module that defines it.
            monkeypatch.setattr(charts, name, wrapped)
            monkeypatch.setattr(sys.modules[value.__module__], name, wrapped)
    monkeypatch.setattr(Store, "versions", counting(Store.versions, "versions"))
    return counted


def load_ten_gold_partners(db: Path, folder: Path) -> None:
    """Load ten new Gold partners into the TINY channel (appended: a new data version)."""
    extra = folder / "more.csv"
    extra.write_text(TINY.splitlines()[0] + "\n" + "".join(
        f"P{n},New {n},2026-05-{n:02d},500,Gold,EMEA,C{n},SMB,Core\n" for n in range(10, 20)))
    with Store(db) as store:
        load_extract(store, extra, mode="append")


def figure_specs(at) -> list[dict]:
    """Give the page's plotly figures as the browser gets them."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("page", ["views/pages/overview.py", "views/pages/engagement.py", "views/pages/dropoffs.py"],
                         ids=["overview", "engagement", "dropoffs"])
def test_warm_run_builds_no_figure_and_reads_the_version_once(tiny_db, calls, page):
    at = open_page(tiny_db, page)
    first = figure_specs(at)
    assert first and calls["figure"] >= len(first)
    calls.clear()
    at.run()
    assert not at.exception
    assert "figure" not in calls  # every figure came from the cache
    assert calls["versions"] == 1  # one query for the run, not one per cached call
    assert figure_specs(at) == first


def test_a_new_load_shows_in_the_figures_at_once(tiny_db, tmp_path):
    at = open_page(tiny_db, "views/pages/overview.py")
    before = figure_specs(at)
    load_ten_gold_partners(tiny_db, tmp_path)
    at.run()
    assert not at.exception
    after = figure_specs(at)
    assert after != before
    # The partners-per-tier bars count the ten new Gold partners (the last trace: now; the first, a year before).
    gold_before, gold_after = (next(y for x, y in zip(s[0]["data"][-1]["x"], trace_values(s[0]["data"][-1]["y"]),
                                                      strict=True) if x == "Gold") for s in (before, after))
    assert gold_after == gold_before + 10




def test_derived_results_follow_their_arguments_and_the_filter(tiny_db):
    at = open_page(tiny_db, "views/pages/dropoffs.py")
    # Over the trailing year P2 fell from 850 to 400 (-53 %), P4 from 70 to nothing; P1 held steady.
    assert metric(at, "Partners down 50 %").value == "2"
    at.slider(key="dropoff_threshold").set_value(60).run()
    assert metric(at, "Partners down 60 %").value == "1"
    at.slider(key="dropoff_threshold").set_value(50).run()
    assert metric(at, "Partners down 50 %").value == "2"
    at.multiselect(key="f_tiers").set_value(["Gold"]).run()  # P2 is Silver now, P4 Bronze
    assert not at.exception
    assert metric(at, "Partners down 50 %").value == "0"


def test_the_app_skips_streamlits_full_garbage_collection_after_every_run(monkeypatch):
    # A full gc.collect(2) after each run was three quarters of a warm visit's server CPU (bench/README.md).
    from streamlit import config

    monkeypatch.delenv("STREAMLIT_RUNNER_POST_SCRIPT_GC", raising=False)
    monkeypatch.chdir(Path(__file__).parents[1])  # `streamlit run app.py` reads .streamlit/config.toml from here
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("runner.postScriptGC") is False
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)


def test_a_new_load_drops_the_older_generation_from_the_caches(tiny_db, tmp_path):
    from views import cache, style

    at = open_page(tiny_db, "views/pages/overview.py")
    assert not at.exception
    assert str(tiny_db) in cache._latest_versions  # the run's versions were seen
    older = [kept[0] for kept in style._SPLIT.values()]  # held here, so their ids stay theirs
    assert older  # the page's figures were split once and kept
    load_ten_gold_partners(tiny_db, tmp_path)
    at.run()
    assert not at.exception
    # Only the new generation is kept: no figure of the older data survived the new version.
    assert style._SPLIT and not any(kept[0] is old for kept in style._SPLIT.values() for old in older)


def test_a_cached_result_is_shared_yet_a_run_that_changes_its_copy_changes_only_its_own():
    # Results are cached once per process (not a pickled copy per run): each run gets a copy-on-write view.
    import numpy as np
    import pandas as pd

    from views.cache import own_view

    shared = {"frame": pd.DataFrame({"revenue": [1.0, 2.0]}), "parts": (pd.Series([1, 2]), np.arange(3)), "n": 2}
    view = own_view(shared)
    assert view["frame"] is not shared["frame"] and view["n"] == 2
    assert np.shares_memory(view["frame"]["revenue"].to_numpy(), shared["frame"]["revenue"].to_numpy())
    view["frame"]["revenue"] = view["frame"]["revenue"] * 100
    view["frame"].loc[0, "revenue"] = -1.0
    view["frame"]["share"] = 0.5
    view["parts"][0].iloc[0] = 99
    view["n"] = 3
    assert shared["frame"].to_dict("list") == {"revenue": [1.0, 2.0]}
    assert shared["parts"][0].tolist() == [1, 2] and shared["n"] == 2
    with pytest.raises(ValueError, match="read-only"):
        view["parts"][1][0] = 5
