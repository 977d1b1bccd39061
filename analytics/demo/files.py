"""The demo on disk: one CSV extract per quarter, and a bare extract of occasional buyers (for the BTYD model)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.demo.orders import generate_quarters
from analytics.demo.parameters import DEFAULT_LAST_QUARTER, DEFAULT_SEED, DemoSpec
from analytics.store.quarters import quarter_end, quarter_index, quarter_label, quarter_start

__all__ = ["write_demo_extracts", "occasional_buyers_extract"]


def write_demo_extracts(
    out_dir: Path, spec: DemoSpec = DemoSpec(), progress: Callable[[float, str], None] | None = None
) -> list[Path]:
    """Write one CSV per quarter (like real extracts) into out_dir and give their paths, oldest first.

    Files are named like `sales_2025Q3.csv`: a header, comma separated, ISO dates, revenue with two
    decimals and a '.' decimal point. Each file is written under a temporary name and renamed, so a
    reader never sees half a file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    n = spec.quarters
    con = duckdb.connect()
    try:
        for i, (label, frame) in enumerate(generate_quarters(spec)):
            path = out_dir / f"sales_{label}.csv"
            tmp = path.with_name(path.name + ".tmp")
            con.register("order_lines", frame)
            # COPY takes no parameters; the path is ours and quoted as an SQL string literal.
            target = str(tmp).replace("'", "''")
            con.execute(
                "COPY (SELECT transaction_id, CAST(order_date AS DATE) AS order_date, partner_id, partner_name, "
                "tier, region, country, distributor, customer_id, customer_segment, product, quantity, "
                "deal_type, CAST(revenue AS DECIMAL(18, 2)) AS revenue, contact_email, "
                "CAST(currency AS VARCHAR) AS currency FROM order_lines) "
                f"TO '{target}' (FORMAT csv, HEADER, DELIMITER ',')"
            )
            con.unregister("order_lines")
            os.replace(tmp, path)
            paths.append(path)
            if progress is not None:
                progress((i + 1) / n, f"Wrote {path.name} ({len(frame):,} order lines)")
    finally:
        con.close()
    return paths


def occasional_buyers_extract(partners: int = 3000, quarters: int = 10, last_quarter: str = DEFAULT_LAST_QUARTER,
                              seed: int = DEFAULT_SEED) -> str:
    """Give a CSV extract with only partner_id, order_date and revenue: occasional buyers, BG/NBD-style.

    Each partner orders at its own Poisson rate (gamma across partners: once or twice a year on
    average) from its first order on, and after each repeat order stops for good with its own chance
    (beta across partners). First orders are spread over the covered quarters and the two years
    before, so that many partners are older than the data. Like a real extract of small resellers:
    no tier, region, customer or product.
    """
    rng = np.random.default_rng(seed)
    last = quarter_index(last_quarter)
    start = np.datetime64(quarter_start(quarter_label(last - quarters + 1)), "D")
    end = np.datetime64(quarter_end(last_quarter), "D")
    span = int((end - start) / np.timedelta64(1, "D")) + 1
    rate = rng.gamma(0.9, 1.6 / 0.9 / 365.0, partners)       # orders per day; mean 1.6 a year
    dropout = rng.beta(1.0, 5.0, partners)                   # chance of stopping after each repeat order
    born = rng.integers(-730, span - 60, partners)            # first order, in days from the data start
    level = rng.lognormal(8.5, 1.0, partners)
    rows: list[tuple[int, int, float]] = []
    for i in range(partners):
        day = float(born[i])
        while day < span:
            if day >= 0:
                rows.append((i, int(day), level[i] * rng.lognormal(0.0, 0.5)))
            if day > born[i] and rng.random() < dropout[i]:
                break
            day += rng.exponential(1.0 / rate[i])
    frame = pd.DataFrame(rows, columns=["partner", "day", "revenue"])
    lines = ["partner_id,order_date,revenue"]
    dates = (start + frame["day"].to_numpy().astype("timedelta64[D]")).astype(str)
    lines += [f"R{p:05d},{d},{r:.2f}" for p, d, r in zip(frame["partner"], dates, frame["revenue"], strict=True)]
    return "\n".join(lines) + "\n"
