"""Checks and shapes of frames shared by the analyses: required columns, typed empty frames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

__all__ = ["require_columns", "empty_frame"]


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ValueError naming those of `columns` that `frame` lacks and `what` it is; nothing when it has them all."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(missing)} missing from {what}")


def empty_frame(columns: Sequence[str], dtypes: Mapping[str, str], default: str = "str") -> pd.DataFrame:
    """Give a frame with `columns` and no rows, each typed by `dtypes` (else `default`).

    Typed, so a page's sorting and charts work on "no data" as on data.
    """
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, default)) for c in columns})

