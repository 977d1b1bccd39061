"""The hand-made regional channel of tests/test_regions.py (its docstring gives the figures), shared by the tests
of regional reviews, letters and what-ifs."""

from __future__ import annotations

import csv
import io

from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.rates import load_rates
from analytics.store.store import Store

# The two people of the regional page tests: a reviewer scoped to APAC, and the global chief.
APAC_REVIEWER = "apac.manager@example.com"
GLOBAL_CHIEF = "channel.chief@example.com"

AS_OF = "2026Q2"
QUARTERS = [quarter_label(i) for i in range(quarter_index("2024Q3"), quarter_index(AS_OF) + 1)]
MONTH = {1: "02", 2: "05", 3: "08", 4: "11"}

PROGRAM = """
reporting_currency = "USD"
nursery_quarters = 4

[tiers.Gold]
min_revenue = 650_000
min_deals = 15
min_customers = 8

[tiers.Silver]
min_revenue = 200_000
min_deals = 6
min_customers = 4

[tiers.Bronze]
min_revenue = 60_000
min_deals = 2
min_customers = 1

[tiers.Authorized]
min_revenue = 15_000
min_deals = 1
min_customers = 1

[programs.ANZ]
regions = ["ANZ"]
currency = "AUD"

[programs.ANZ.tier_levels]
Gold = "Gold"
Silver = "Silver"
Authorised = "Authorized"

[programs.ANZ.tiers.Gold]
min_revenue = 975_000
min_deals = 15
min_customers = 8

[programs.ANZ.tiers.Silver]
min_revenue = 300_000
min_deals = 6
min_customers = 4

[programs.ANZ.tiers.Authorised]
min_revenue = 22_500
min_deals = 1
min_customers = 1
"""


def regional_lines() -> str:
    """Give the hand-made regional channel's extract (AU1, US1, MV1, JP1 from 2024Q3 to AS_OF)."""
    rows = []

    def add(pid, name, tier, region, country, quarter, revenue_each, lines=2):
        year, q = quarter[:4], int(quarter[-1])
        for n in range(lines):
            rows.append((pid, name, f"{year}-{MONTH[q]}-{10 + n:02d}", revenue_each, tier, region, country,
                         f"{pid}-C{quarter}-{n}", "SMB"))

    for quarter in QUARTERS:
        add("AU1", "Aussie Silver", "Silver", "ANZ", "AU", quarter, 20_000)
        add("US1", "Yankee Silver", "Silver", "NA", "US", quarter, 20_000)
        moved = quarter >= "2026Q1"
        add("MV1", "Mover Gold", "Gold", "ANZ" if moved else "APAC", "AU" if moved else "JP", quarter, 5_000)
        add("JP1", "Nippon Bronze", "Bronze", "APAC", "JP", quarter, 10_000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["partner_id", "partner_name", "order_date", "revenue", "tier", "region", "country",
                     "customer_id", "customer_segment"])
    writer.writerows(rows)
    return out.getvalue()


def aud_rates(store: Store, quarters=QUARTERS, rate: float = 0.5) -> None:
    """Load AUD at `rate` US dollars for each quarter."""
    # As operations load them: a rates file (quarter, currency, rate) through analytics.store.rates.
    body = "quarter,currency,rate\n" + "".join(f"{q},AUD,{rate}\n" for q in quarters)
    load_rates(store, body.encode(), file_name="aud.csv")
