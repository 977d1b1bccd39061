"""What reading an extract found, and the extract ready to store: problems, notes, the report.

The reader (analytics.ingest.extract) fills an ExtractReport; the Upload page and the command line
render it; a PreparedExtract carries it, with the content hash and the lines, to the load.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

__all__ = [
    "Progress",
    "Problem",
    "RowsNoted",
    "AmbiguousColumn",
    "ExtractReport",
    "ExtractInvalid",
    "PreparedExtract",
]

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an extract: where (row as a spreadsheet numbers it, header = 1) and what."""

    row: int | None
    column: str | None
    message: str
    value: str | None = None
    # A problem of the whole file that merely points at a row (dates in another order than requested):
    # setting that row aside would not fix the file.
    whole_file: bool = False


@dataclass(frozen=True)
class RowsNoted:
    """Rows (or cells) that reading treated in some noted way: how many, and the first few row numbers."""

    count: int
    first_rows: tuple[int, ...]


@dataclass(frozen=True)
class AmbiguousColumn:
    """A required column that several of the file's columns could hold, with different values in some rows."""

    column: str                  # the canonical column, e.g. "revenue"
    headers: tuple[str, ...]     # the file's candidate headers, the one matched first first
    differing_rows: int
    first_rows: tuple[int, ...]  # the first rows (spreadsheet numbers) where they differ


@dataclass
class ExtractReport:
    """What reading an extract found: rows, the column mapping, problems (blocking) and warnings."""

    file: str
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    quarters: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Encoding -> the rows with non-ASCII text read in it; empty for a file that is UTF-8 throughout.
    encodings: dict[str, RowsNoted] = field(default_factory=dict)
    # The file's header -> the cells whose invisible characters, spaces or forms were normalised.
    normalised: dict[str, RowsNoted] = field(default_factory=dict)
    ambiguous: list[AmbiguousColumn] = field(default_factory=list)
    # Required columns no header matched ("order_date" stands for a date or a quarter column).
    missing: list[str] = field(default_factory=list)
    # Problems of rows a person chose to set aside (analytics.ingest.rejects): they no longer block.
    set_aside: list[Problem] = field(default_factory=list)
    # Rows DuckDB could not split into columns: reported, and absent from the rows read.
    unsplit_rows: int = 0
    # The currencies of the amounts, and one sentence saying where they come from (a column, the revenue
    # column's header, the currency chosen for the file, or none: the reporting currency).
    currencies: list[str] = field(default_factory=list)
    currency_note: str = ""

    @property
    def ok(self) -> bool:
        """Tell whether the extract can be loaded (no problems; warnings do not block)."""
        return not self.problems

    @property
    def bad_rows(self) -> list[int]:
        """Give the data rows (spreadsheet numbers) that have a problem of their own, in file order."""
        return sorted({p.row for p in self.problems if p.row is not None and p.row > 1 and not p.whole_file})

    @property
    def can_set_aside(self) -> bool:
        """Tell whether every problem belongs to a row that can be set aside, leaving good rows to load."""
        return (bool(self.problems) and not self.missing and not self.ambiguous
                and all(p.row is not None and p.row > 1 and not p.whole_file for p in self.problems)
                and len(self.bad_rows) < self.rows)

    def problems_frame(self) -> pd.DataFrame:
        """Give every problem as a table with file, row, column, problem and value."""
        return pd.DataFrame(
            [(self.file, p.row, p.column, p.message, p.value) for p in self.problems],
            columns=["file", "row", "column", "problem", "value"],
        )

    def describe(self, limit: int = 25) -> str:
        """Give the report as text for a terminal: counts, then the problems (at most `limit`)."""
        lines = [f"{self.file}: {self.rows:,} data rows, {len(self.problems):,} problem(s)"]
        lines += [f"  currency: {self.currency_note}"] if self.currency_note else []
        lines += [f"  warning: {w}" for w in self.warnings]
        for p in self.problems[:limit]:
            parts = (f"row {p.row}" if p.row else "", f"column {p.column!r}" if p.column else "")
            where = ", ".join(x for x in parts if x)
            value = f" (value: {p.value!r})" if p.value is not None else ""
            prefix = "" if not where and p.message.startswith(self.file) else f"{self.file}: "
            lines.append(f"  {prefix}{where + ': ' if where else ''}{p.message}{value}")
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit:,} more problem(s)")
        return "\n".join(lines)


class ExtractInvalid(ValueError):
    """An extract with problems; nothing from it was stored. `report` lists every problem."""

    def __init__(self, report: ExtractReport):
        self.report = report
        super().__init__(report.describe())


@dataclass
class PreparedExtract:
    """A validated extract ready to store: its report, content hash and the normalised order lines."""

    file_name: str
    content_hash: str
    report: ExtractReport
    lines: pa.Table | None
    # The rows with problems as they were in the file, with row number and reason (rejects.rejected_rows).
    rejects: pd.DataFrame | None = None


def _rows_text(rows: Sequence[int], total: int | None = None, word: str = "row") -> str:
    """Give row numbers as a short phrase: "row 5", "rows 2, 3, 4 and 97 more"."""
    total = len(rows) if total is None else total
    shown = ", ".join(str(r) for r in rows[:5])
    more = f" and {total - len(rows[:5]):,} more" if total > len(rows[:5]) else ""
    return f"{word}{'s' if total > 1 else ''} {shown}{more}"




def _shown(text: str | None, at_most: int = 200) -> str | None:
    """Give a value for a problem's report cut to `at_most` characters: a rejected line can be a megabyte."""
    return text if text is None or len(text) <= at_most else f"{text[:at_most]}… ({len(text):,} characters)"
