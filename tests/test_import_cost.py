"""A command imports what it needs when it needs it: `ingest --no-scores` never pays for the model or the exports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Over a second of imports together (scikit-learn alone about 1.2 s), none of which loading a file uses.
HEAVY = ("sklearn", "scipy", "openpyxl", "plotly", "pptx", "docx", "streamlit", "uvicorn", "httpx")

IMPORTED_AFTER = """
import sys
from analytics import cli
code = cli.main(sys.argv[1:])
print("exit", code)
print("heavy", ",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_modules_after(*args: str) -> tuple[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", IMPORTED_AFTER.format(heavy=HEAVY), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("exit ", "heavy ")))
    assert "heavy" in lines, done.stdout + done.stderr
    return lines["exit"], [m for m in lines["heavy"].split(",") if m]


def test_ingest_without_scores_imports_no_model_and_no_export_library(tmp_path: Path):
    extract = tmp_path / "q1.csv"
    extract.write_text("partner_id,order_date,revenue\nP1,2026-01-05,100\nP2,2026-02-01,50\n")
    code, heavy = _heavy_modules_after("--db", str(tmp_path / "channel.duckdb"), "ingest", str(extract),
                                       "--no-scores")
    assert code == "0"
    assert heavy == []


@pytest.mark.parametrize("command", [["loads"], ["summary"]], ids=["loads", "summary"])
def test_reading_commands_import_no_model(tmp_path: Path, command: list[str]):
    code, heavy = _heavy_modules_after("--db", str(tmp_path / "channel.duckdb"), *command)
    assert code == "0"
    assert not {"sklearn", "scipy"} & set(heavy), heavy
