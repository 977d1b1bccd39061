"""Shared fixtures: a real DuckDB file per test and real CSV files written to a temporary folder.

Every test also starts and ends with Streamlit's caches cleared and $CHANNEL_DB as it found it, so
an AppTest (see apptest_helpers.py) never sees another test's database or cached frames.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import streamlit as st

from analytics.ingest.load import load_extract
from analytics.store.store import Store
from tests import browser
from tests.builders import PERIODS_CSV, TINY, DatabaseCache, quarter_file

# Plain asserts in the helper module report their values, as in a test.
pytest.register_assert_rewrite("tests.apptest_helpers")

ROOT = Path(__file__).resolve().parents[1]

# No thread fits models behind a test's back: tests that want the app's background scoring turn it on.
os.environ["CHANNEL_BACKGROUND_SCORES"] = "0"


@pytest.fixture(scope="session", autouse=True)
def shared_servers_stopped():
    """Stop the app servers that browser tests shared (tests/browser.py's app_server) when the session ends."""
    yield
    browser.stop_shared_servers()


@pytest.fixture(autouse=True)
def fresh_caches():
    """Clear Streamlit's caches before and after each test: they outlive an AppTest inside one process."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def channel_db_restored():
    """Put $CHANNEL_DB back after each test: apptest_helpers.open_page points the app at a test's file with it."""
    before = os.environ.get("CHANNEL_DB")
    yield
    if before is None:
        os.environ.pop("CHANNEL_DB", None)
    else:
        os.environ["CHANNEL_DB"] = before


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> DatabaseCache:
    """Give the session's databases, each built once on first use; fixtures hand each test a copy."""
    return DatabaseCache(tmp_path_factory.mktemp("built"))


@pytest.fixture
def store(tmp_path: Path):
    """Give a fresh channel database in a temporary file."""
    with Store(tmp_path / "channel.duckdb") as opened:
        yield opened


@pytest.fixture(scope="module")
def channel(request, tmp_path_factory):
    """Give a store holding the test module's CHANNEL_CSV (one CSV text, or several loaded in order).

    Built once per module: the module's tests only read it.
    """
    texts = request.module.CHANNEL_CSV
    folder = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    with Store(folder / "channel.duckdb") as store:
        for number, text in enumerate([texts] if isinstance(texts, str) else texts, start=1):
            path = folder / f"channel_{number}.csv"
            path.write_text(text)
            load_extract(store, path)
        yield store


@pytest.fixture
def write_file(tmp_path: Path):
    """Give a function that writes text (or bytes) to a named file in the test's folder."""

    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode(encoding))
        return path

    return write


def built_for_the_run(tmp_path_factory, name: str, build) -> Path:
    """Give this process a copy of the database `name`, which build(store) fills once for the whole run.

    Under pytest-xdist the workers share one build (the first to come builds it under a file lock, the others
    wait for it, rather than each building it at half speed) and each gets its own copy: two processes cannot
    both open one DuckDB file for writing.
    """
    import fcntl
    import shutil

    own = tmp_path_factory.mktemp(name) / f"{name}.duckdb"
    run = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run = run.parent  # the run's folder, above each worker's
    else:
        run = own.parent
    shared, done = run / f"{name}.built.duckdb", run / f"{name}.built"
    with (run / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            with Store(shared) as store:
                build(store)
            done.touch()
    shutil.copyfile(shared, own)
    return own


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """Give a database file holding the full demo channel, built once per test run."""
    from analytics.demo import build_demo_channel

    path = built_for_the_run(tmp_path_factory, "demo", build_demo_channel)
    browser.serve_once(path)  # tests only read it: the browser tests share one app server of it
    return path


@pytest.fixture
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    """Give a copy of the demo database that a test may change."""
    import shutil

    copy = tmp_path / "demo_copy.duckdb"
    shutil.copy(demo_db, copy)
    return copy


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """Give a small demo channel with its scores, built once per test run (300 partners: the review page runs
    in about a second)."""
    from analytics.demo import DemoSpec, build_demo_channel

    return built_for_the_run(tmp_path_factory, "small_demo",
                             lambda store: build_demo_channel(store, DemoSpec(partners=300)))


@pytest.fixture
def review_db(small_demo: Path, tmp_path: Path) -> Path:
    """Give a copy of the small demo channel that a test may change (save a review, keep a draft, load a file)."""
    import shutil

    copy = tmp_path / "channel.duckdb"
    shutil.copy(small_demo, copy)
    return copy


def _small_channel(db: Path, folder: Path) -> None:
    with Store(db) as store:
        for month in ("2025-01", "2025-04", "2025-07", "2025-10"):
            load_extract(store, quarter_file(folder / f"small_{month}.csv", month, lines=400))


@pytest.fixture
def small_channel_db(databases: DatabaseCache, tmp_path: Path) -> Path:
    """Give a small channel database: 40 partners over 2025Q1-2025Q4 (400 lines a quarter), no stored scores."""
    return databases.copy("small_channel", _small_channel, tmp_path / "small_channel.duckdb")


def _one_file(name: str, text: str):
    """Give a builder of a database holding one loaded CSV file of `text`, called `name`."""
    def build(db: Path, folder: Path) -> None:
        csv = folder / name
        csv.write_text(text)
        with Store(db) as store:
            load_extract(store, csv)
    return build


@pytest.fixture
def tiny_db(databases: DatabaseCache, tmp_path: Path) -> Path:
    """Give a database holding the hand-made TINY channel of tests/builders.py (numbers checked by hand)."""
    return databases.copy("tiny", _one_file("tiny.csv", TINY), tmp_path / "tiny.duckdb")


@pytest.fixture
def periods_db(databases: DatabaseCache, tmp_path: Path) -> Path:
    """Give a database holding the hand-made PERIODS_CSV channel of tests/builders.py (two periods compared)."""
    return databases.copy("periods", _one_file("periods.csv", PERIODS_CSV), tmp_path / "periods.duckdb")


@pytest.fixture
def apac_db(review_db: Path, tmp_path: Path, monkeypatch) -> Path:
    """Give the small demo with AUD rates, APAC under its own program in AUD, and an APAC-scoped reviewer."""
    from analytics.program.rules import PROGRAM_PATH
    from analytics.store.rates import load_rates
    from tests.regional_channel import APAC_REVIEWER, GLOBAL_CHIEF

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "program.toml").write_text(PROGRAM_PATH.read_text().replace('regions = ["ANZ"]', 'regions = ["APAC"]'))
    monkeypatch.setenv("CHANNEL_RULES_DIR", str(rules))
    roles = tmp_path / "roles.toml"
    roles.write_text(f'[people]\n"{APAC_REVIEWER}" = {{ role = "reviewer", regions = ["APAC"] }}\n'
                     f'"{GLOBAL_CHIEF}" = "reviewer"\n')
    monkeypatch.setenv("CHANNEL_ROLES", str(roles))
    with Store(review_db) as store:
        quarters = store.query_df("SELECT DISTINCT quarter FROM partner_quarter ORDER BY quarter")["quarter"]
        load_rates(store, ("quarter,currency,rate\n" + "".join(f"{q},AUD,0.65\n" for q in quarters)).encode(),
                   file_name="aud.csv")
    return review_db
