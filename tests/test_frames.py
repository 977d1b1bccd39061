"""Unit tests of the shared frame checks and shapes."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.frames import empty_frame, require_columns


def test_require_columns_names_what_is_missing_and_where():
    frame = pd.DataFrame({"partner_id": ["P1"], "revenue": [1.0]})
    require_columns(frame, ["partner_id", "revenue"], "the rows")
    with pytest.raises(ValueError, match=r"^Required column\(s\) tier, region missing from the rows$"):
        require_columns(frame, ["partner_id", "tier", "region"], "the rows")


def test_empty_frame_is_typed_and_text_by_default():
    frame = empty_frame(["partner_id", "partners", "revenue"], {"partners": "int64", "revenue": "float64"})
    expected = pd.DataFrame({
        "partner_id": pd.Series(dtype="str"),
        "partners": pd.Series(dtype="int64"),
        "revenue": pd.Series(dtype="float64"),
    })
    pd.testing.assert_frame_equal(frame, expected)
