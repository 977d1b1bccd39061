"""A generated but realistic reseller channel: order lines per quarter, deterministic for a seed.

The channel is simulated partner by partner, one quarter at a time, and every quarter's order lines
are drawn in one vectorised pass. What later analyses and the churn / turnaround model rely on:

* a tier pyramid with lognormal revenue per tier, re-tiered each Q1 from trailing-year revenue with
  hysteresis (so a few percent move up and down each year);
* every year about a tenth of the partners stop ordering. Most decline over one to three quarters
  first, while roughly three in ten of those who start declining turn around and come back to at
  least their old level; the risk of starting to decline rises with low vendor focus, occasional
  dealing, youth and a downward drift. Others stop without warning, in the spirit of a "buy till
  you die" process: each partner has its own small chance per quarter (beta-distributed across
  partners, higher for occasional dealers and low focus) of stopping abruptly, with no decline
  first. So churn is partly but not perfectly predictable, and not only from a falling trend;
* about 500 recruits a year (per 6,000 partners) who start small and ramp up;
* a tenth of the partners deal only once or twice a year: half of them in one quarter of the
  year (seasonal buyers), half at random, each at its own rate; a few oversell enterprise products
  into small businesses;
* customers that belong to one partner and have one fixed segment, Q4 seasonality, credits.

A short burn-in before the first quarter puts the channel in a steady state (some partners already
declining, recruits still ramping) and gives the first Q1 re-tiering a trailing year.

The package's modules, in the order the generator uses them: parameters (DemoSpec and every figure the
simulation draws from), partners (the population and its states), orders (a quarter's order lines),
rates (currencies and exchange rates), files (the CSV extracts), build (written and loaded into a store).
This module is its public face: the names callers use, from the modules that hold them.
"""

from analytics.demo.build import build_demo_channel
from analytics.demo.files import occasional_buyers_extract, write_demo_extracts
from analytics.demo.orders import generate_quarters
from analytics.demo.parameters import (
    DEAL_TYPES,
    DEFAULT_LAST_QUARTER,
    DEFAULT_PARTNERS,
    DEFAULT_QUARTERS,
    DEFAULT_SEED,
    ENTERPRISE_PRODUCTS,
    ORDER_LINE_COLUMNS,
    PRODUCTS,
    REGION_CURRENCY,
    REGIONS,
    DemoSpec,
)
from analytics.demo.rates import demo_rates, write_demo_rates
from analytics.store.schema import SEGMENTS, TIERS

__all__ = [
    "DEFAULT_LAST_QUARTER",
    "DEFAULT_QUARTERS",
    "DEFAULT_PARTNERS",
    "DEFAULT_SEED",
    "TIERS",
    "SEGMENTS",
    "REGIONS",
    "REGION_CURRENCY",
    "demo_rates",
    "write_demo_rates",
    "PRODUCTS",
    "ENTERPRISE_PRODUCTS",
    "DEAL_TYPES",
    "ORDER_LINE_COLUMNS",
    "DemoSpec",
    "generate_quarters",
    "write_demo_extracts",
    "build_demo_channel",
    "occasional_buyers_extract",
]
