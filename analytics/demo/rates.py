"""The demo's currencies: each region's currency and the quarterly exchange rates its extracts are written at."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.demo.parameters import REGION_CURRENCY, REGIONS, DemoSpec
from analytics.store.quarters import quarter_index

__all__ = ["demo_rates", "write_demo_rates"]


_CURRENCY_CODES = ("USD", "EUR", "AUD")


@functools.cache
def _region_currency_code() -> np.ndarray:
    """Give, per region (in REGIONS' order), the index of its currency in _CURRENCY_CODES."""
    return np.array([_CURRENCY_CODES.index(REGION_CURRENCY.get(r, "USD")) for r in REGIONS])


@functools.cache
def _region_currency() -> pd.Categorical:
    """Give, per region (in REGIONS' order), its currency: indexed by the lines' regions, a column of codes."""
    return pd.Categorical(np.array(_CURRENCY_CODES)[_region_currency_code()], categories=_CURRENCY_CODES)


def _quarter_rates(label: str) -> dict[str, float]:
    """Give the demo's rate of each currency in a quarter (US dollars per unit): drifting, like real ones, the
    euro between about 1.05 and 1.15, the Australian dollar between about 0.63 and 0.70."""
    k = quarter_index(label)
    return {"EUR": round(1.10 + 0.045 * math.sin(0.7 * k), 4), "AUD": round(0.665 + 0.03 * math.sin(0.5 * k + 1), 4)}


def demo_rates(spec: DemoSpec = DemoSpec()) -> pd.DataFrame:
    """Give the demo's exchange rates: quarter, currency, rate (US dollars per unit), for every quarter it writes."""
    return pd.DataFrame([(label, currency, rate) for label in spec.quarter_labels
                         for currency, rate in _quarter_rates(label).items()],
                        columns=["quarter", "currency", "rate"])


def write_demo_rates(out_dir: Path, spec: DemoSpec = DemoSpec()) -> Path:
    """Write the demo's rates file (CSV: quarter, currency, rate) into out_dir and give its path."""
    path = Path(out_dir) / "rates.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    demo_rates(spec).to_csv(path, index=False, float_format="%.4f")
    return path
