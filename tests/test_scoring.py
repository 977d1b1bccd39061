"""Stored model scores: computed when the data change, read by the pages, never trained by a page visit."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.cli import main
from analytics.ingest.load import load_extract
from analytics.ingest.rollback import rollback_load
from analytics.model import fit as model_module
from analytics.model import scoring
from analytics.model.features import load_panel
from analytics.model.fit import SCORE_COLUMNS, fit_models, score_partners
from analytics.model.scoring import (
    NOT_ENOUGH_HISTORY,
    refresh_scores,
    refresher,
    score_status,
    stale_runs,
    stored_report,
    stored_scores,
    supported_horizons,
)
from analytics.store.store import Store
from tests.apptest_helpers import metric, open_page
from tests.builders import minimal_extract

NEW_PARTNER = "partner_id,order_date,revenue\nPNEW,{date},100\n"


@pytest.mark.parametrize(
    ("quarters", "horizons"),
    [(3, (4,)), (6, (2, 4)), (12, (2, 4)), (17, (2, 4)), (18, (2, 4, 6)), (24, (2, 4, 6, 8))],
    ids=["three quarters: the default only", "six", "the demo's twelve", "seventeen", "eighteen", "twenty-four"],
)
def test_horizons_offered_are_those_the_data_can_be_tested_on(quarters, horizons):
    assert supported_horizons(quarters) == horizons


def _history(db, folder) -> None:
    (folder / "history.csv").write_text(minimal_extract("2023Q1", 12))
    with Store(db) as store:
        load_extract(store, folder / "history.csv")


@pytest.fixture
def history(databases, tmp_path):
    """A store holding twelve quarters (2023Q1-2025Q4) of partner, date and revenue, with nothing scored yet."""
    with Store(databases.copy("scoring_history", _history, tmp_path / "channel.duckdb")) as store:
        yield store


def test_refresh_stores_what_the_model_gives_for_every_supported_horizon(history):
    assert stale_runs(history) == [("2025Q4", 2), ("2025Q4", 4)]
    assert stored_scores(history, "2025Q4", 4).empty and not score_status(history, "2025Q4", 4).scored
    runs = refresh_scores(history)
    assert [(r.as_of, r.horizon, r.status) for r in runs] == [("2025Q4", 2, "scored"), ("2025Q4", 4, "scored")]
    assert stale_runs(history) == []

    panel = load_panel(history)
    fitted = fit_models(panel, "2025Q4", 4)
    expected = score_partners(panel, fitted).sort_values(["churn_probability", "partner_id"],
                                                         ascending=[False, True], ignore_index=True)
    stored = stored_scores(history, "2025Q4", 4)
    assert list(stored.columns) == SCORE_COLUMNS
    def plain(frame: pd.DataFrame) -> pd.DataFrame:  # missing text is None from the model, NaN through Arrow
        return frame.astype(object).where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(stored), plain(expected), check_exact=False, rtol=1e-9)

    report = stored_report(history, "2025Q4", 4)
    assert report.partners_scored == len(stored) and not report.drivers.empty
    assert report.train_quarters == fitted.train_quarters and report.data_version == history.data_version()
    churn = report.evaluations["churn"]
    pd.testing.assert_frame_equal(churn.metrics, fitted.evaluations["churn"].metrics, check_exact=False)
    assert churn.metrics.index.name == "candidate" and churn.test_quarters == fitted.evaluations["churn"].test_quarters


def test_scores_are_computed_again_only_when_the_data_change(history, write_file, monkeypatch):
    refresh_scores(history)
    fits = []
    real = scoring.fit_models
    monkeypatch.setattr(scoring, "fit_models", lambda *a, **k: fits.append(a[1:3]) or real(*a, **k))
    assert refresh_scores(history) == [] and fits == []  # nothing changed: nothing fitted

    load_extract(history, write_file("one.csv", NEW_PARTNER.format(date="2025-11-01")), mode="append")
    before = score_status(history, "2025Q4", 4)
    assert before.scored and not before.current  # old scores stay readable until the new ones are written
    assert not stored_scores(history, "2025Q4", 4).empty
    refresh_scores(history)
    assert sorted(fits) == [("2025Q4", 2), ("2025Q4", 4)]
    after = score_status(history, "2025Q4", 4)
    assert after.current and after.run.data_version == history.data_version()
    assert "PNEW" in set(stored_scores(history, "2025Q4", 4)["partner_id"])
    runs = history.query_df("SELECT as_of, horizon, count(*) AS n FROM model_runs GROUP BY ALL")
    assert (runs["n"] == 1).all()  # a new run replaces the old one of the same quarter and horizon


def test_rolling_back_a_quarter_removes_its_scores(history, write_file):
    load = load_extract(history, write_file("next.csv", NEW_PARTNER.format(date="2026-02-01")))
    refresh_scores(history)
    assert score_status(history, "2026Q1", 4).scored
    rollback_load(history, load.load_id, force=True)
    refresh_scores(history)
    assert score_status(history, "2026Q1", 4).run is None
    assert score_status(history, "2025Q4", 4).current


def test_a_short_history_is_stored_as_scored_by_bgnbd_alone_and_says_so(store, write_file):
    load_extract(store, write_file("short.csv", minimal_extract("2025Q1", 3)))
    (run,) = refresh_scores(store)
    assert run.horizon == 4 and run.status == "scored" and run.partners > 300
    assert any("BG/NBD model alone" in note for note in stored_report(store, "2025Q3", 4).notes)


def test_without_any_order_the_models_words_are_stored_instead_of_scores(store, write_file):
    load_extract(store, write_file("credits.csv", "partner_id,order_date,revenue\nP1,2025-02-01,-50\n"))
    (run,) = refresh_scores(store)
    assert run.status == NOT_ENOUGH_HISTORY and "No orders up to 2025Q1" in run.message
    assert stored_scores(store, "2025Q1", 4).empty and stored_report(store, "2025Q1", 4) is None


def test_ingest_and_rollback_on_the_command_line_bring_the_scores_up_to_date(tmp_path, write_file, capsys):
    db = tmp_path / "cli.duckdb"
    history = write_file("history.csv", minimal_extract("2023Q1", 12))
    assert main(["--db", str(db), "ingest", "--no-scores", str(history)]) == 0
    with Store(db) as store:
        assert len(stale_runs(store)) == 2
    assert main(["--db", str(db), "rescore"]) == 0
    assert "2-quarter horizon" in capsys.readouterr().out
    with Store(db) as store:
        assert stale_runs(store) == []
    one = write_file("one.csv", NEW_PARTNER.format(date="2025-11-02"))
    assert main(["--db", str(db), "ingest", "--append", str(one)]) == 0
    with Store(db) as store:
        assert stale_runs(store) == [] and "PNEW" in set(stored_scores(store, "2025Q4", 4)["partner_id"])


def test_the_background_refresher_brings_old_scores_up_to_date(history, write_file):
    refresh_scores(history)
    load_extract(history, write_file("one.csv", NEW_PARTNER.format(date="2025-11-01")), mode="append")
    history.close()
    worker = refresher(history.path)
    assert worker.start() is True
    worker.join(120)
    assert not worker.state.running and worker.state.error == ""
    with Store(history.path) as store:
        assert stale_runs(store) == [] and score_status(store, "2025Q4", 4).current


@pytest.fixture
def no_training(monkeypatch):
    """Make any model fit in this process fail, as a page that trains would."""
    def refuse(*args, **kwargs):
        raise AssertionError("a page visit trained a model")

    monkeypatch.setattr(scoring, "fit_models", refuse)
    monkeypatch.setattr(model_module, "fit_models", refuse)


@pytest.mark.parametrize("page", ["views/pages/risk.py", "views/pages/model.py", "views/pages/review.py",
                                  "views/pages/partner.py"])
def test_no_page_trains_a_model(demo_db, no_training, page):
    at = open_page(demo_db, page, partner_id="P000001")
    assert not at.exception
    assert not [e for e in at.error if "failed" in e.value]


def test_pages_show_scores_computed_in_the_background_after_new_data(history, write_file, monkeypatch):
    history.close()
    monkeypatch.setenv("CHANNEL_BACKGROUND_SCORES", "1")
    at = open_page(history.path, "views/pages/risk.py")
    assert any("being computed" in i.value or "No scores" in i.value for i in at.info)
    refresher(history.path).join(120)
    at.run()
    assert not at.exception
    assert metric(at, "Likely to churn").value.endswith(" of " + f"{len(stored_scores_of(history.path)):,}")


def stored_scores_of(path) -> pd.DataFrame:
    with Store(path) as store:
        return stored_scores(store, "2025Q4", 4)
