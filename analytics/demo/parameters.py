"""The demo channel's parameters: what to generate (DemoSpec), geography and company names, the product
catalogue, tier sizes, seasonality, and the odds of decline and turnaround."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.store.quarters import quarter_index, quarter_label
from analytics.store.schema import LINE_COLUMNS, TIERS

__all__ = [
    "DEFAULT_LAST_QUARTER",
    "DEFAULT_QUARTERS",
    "DEFAULT_PARTNERS",
    "DEFAULT_SEED",
    "REGIONS",
    "REGION_CURRENCY",
    "PRODUCTS",
    "ENTERPRISE_PRODUCTS",
    "DEAL_TYPES",
    "ORDER_LINE_COLUMNS",
    "DemoSpec",
]


DEFAULT_LAST_QUARTER = "2026Q3"
DEFAULT_QUARTERS = 12
DEFAULT_PARTNERS = 6000
DEFAULT_SEED = 7

DEAL_TYPES = ("New", "Renewal", "Upsell")
# The stored line columns as an extract carries them: the order date up front, no quarter (it
# follows from the date) and no row number (the reader counts rows).
# The amount is in the line's currency under the header "revenue", as extracts carry it; the store keeps it as the
# line's amount and derives revenue in the reporting currency (analytics.store.rates).
ORDER_LINE_COLUMNS = ("transaction_id", "order_date") + tuple(
    c for c in LINE_COLUMNS if c not in ("row_no", "transaction_id", "order_date", "quarter", "amount")
)

# --- Geography -------------------------------------------------------------------------------------
# region -> (share of partners, countries with their shares within the region)
_GEOGRAPHY: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "NA": (0.40, (("US", 0.85), ("CA", 0.15))),
    "EMEA": (0.32, (("DE", 0.28), ("GB", 0.27), ("FR", 0.20), ("NL", 0.13), ("SE", 0.12))),
    # ANZ runs its own program in AUD (issue 28); the rest of Asia-Pacific sells in USD.
    "ANZ": (0.08, (("AU", 0.80), ("NZ", 0.20))),
    "APAC": (0.10, (("JP", 0.40), ("SG", 0.20), ("IN", 0.40))),
    "LATAM": (0.10, (("BR", 0.60), ("MX", 0.40))),
}
# The currency each region's extracts are in; regions not named sell in US dollars.
REGION_CURRENCY = {"EMEA": "EUR", "ANZ": "AUD"}
# ANZ records its partners under its own program's designations (data/program.toml, [programs.ANZ]):
# no Bronze, and Authorised (its entry tier) where the rest of the world has Bronze and Authorized.
_ANZ_TIERS = {"Platinum": "Platinum", "Gold": "Gold", "Silver": "Silver", "Bronze": "Authorised",
              "Authorized": "Authorised"}
REGIONS = tuple(_GEOGRAPHY)
_COUNTRIES = tuple(c for _, countries in _GEOGRAPHY.values() for c, _ in countries)
_ANZ = REGIONS.index("ANZ")
# Tier labels by code: the global names, then (code + len(TIERS)) the ANZ program's for the same levels.
_TIER_LABELS = TIERS + tuple(_ANZ_TIERS[t] for t in TIERS)
_LEGAL_FORMS = {
    "US": ("Inc.", "LLC"), "CA": ("Inc.", "Ltd."), "DE": ("GmbH", "AG"), "GB": ("Ltd", "PLC"),
    "FR": ("SAS", "SARL"), "NL": ("B.V.",), "SE": ("AB",), "AU": ("Pty Ltd",), "NZ": ("Ltd",), "JP": ("K.K.",),
    "SG": ("Pte Ltd",), "IN": ("Pvt Ltd",), "BR": ("Ltda.",), "MX": ("S.A. de C.V.",),
}

# Distributors serving each region; partners buy through one of them (or direct from the vendor).
_DISTRIBUTORS = (
    "Direct",
    "Northbridge Distribution",
    "Crestline Tech Supply",
    "Eurovia Distribution",
    "Pacifica Channel Services",
    "Southern Cross Distribution",
    "Andina Tech Distribution",
)
_REGION_DISTRIBUTORS = {
    "NA": ((1, 0.6), (2, 0.4)),
    "EMEA": ((3, 0.6), (1, 0.4)),
    "ANZ": ((5, 0.70), (4, 0.30)),
    "APAC": ((4, 0.70), (5, 0.30)),
    "LATAM": ((6, 0.7), (1, 0.3)),
}
# The biggest partners buy direct from the vendor far more often.
_DIRECT_BY_TIER = np.array([0.60, 0.30, 0.10, 0.04, 0.02])

# --- Partner names -----------------------------------------------------------------------------------
_NAME_HEADS = (
    "Blue", "North", "Silver", "Iron", "Red", "Cedar", "Summit", "Bright", "Clear", "Stone", "Oak",
    "Falcon", "Harbor", "Maple", "River", "Sky", "Star", "Sun", "West", "East", "Golden", "Green",
    "Crystal", "Granite", "Pine", "Polar", "Rapid", "Swift", "True", "Vista", "Apex", "Nova",
    "Terra", "Alder", "Birch", "Copper", "Delta", "Echo", "Fern", "Glen", "High", "Lake", "Moss",
    "Orbit", "Quartz", "Ridge", "Sage", "Tide",
)
_NAME_TAILS = (
    "peak", "bridge", "stone", "field", "wave", "line", "point", "gate", "view", "path", "crest",
    "brook", "wood", "ford", "haven", "light", "mark", "port", "shore", "vale", "wind", "works",
    "spring", "forge", "core", "sphere", "scape", "loop", "rock", "hill", "stream", "dale",
    "bay", "cliff", "land", "mount", "side", "way", "star", "ware",
)
_NAME_TRADES = (
    "Systems", "Solutions", "Technologies", "IT", "Networks", "Consulting", "Digital", "Data",
    "Computing", "Integration", "Software", "Infotech", "Cloud", "Services", "Technik", "Labs",
)
_NAME_VARIANTS = ("", " Group", " Partners", " International")

# --- Products ----------------------------------------------------------------------------------------
# name -> (list price per unit, popularity among partners, enterprise-grade)
_CATALOGUE: dict[str, tuple[float, float, bool]] = {
    "Business Suite": (1_200.0, 3.0, False),
    "Starter Edition": (400.0, 2.0, False),
    "Cloud Backup": (900.0, 2.0, False),
    "Endpoint Protection": (60.0, 2.5, False),
    "Collaboration Hub": (180.0, 2.0, False),
    "Workflow Automation": (2_500.0, 1.2, False),
    "Analytics Pro": (4_800.0, 1.0, False),
    "Identity Manager": (1_500.0, 1.0, False),
    "Premium Support": (6_000.0, 1.2, False),
    "Enterprise Platform": (48_000.0, 0.8, True),
    "Enterprise Data Hub": (32_000.0, 0.6, True),
    "Enterprise Security Suite": (22_000.0, 0.6, True),
}
PRODUCTS: tuple[str, ...] = tuple(_CATALOGUE)
ENTERPRISE_PRODUCTS: frozenset[str] = frozenset(p for p, (_, _, ent) in _CATALOGUE.items() if ent)
_PRICE = np.array([v[0] for v in _CATALOGUE.values()])
_POPULARITY = np.array([v[1] for v in _CATALOGUE.values()])
_IS_ENTERPRISE = np.array([v[2] for v in _CATALOGUE.values()])
# How much of an order's value a line of each product carries, before noise.
_LINE_WEIGHT = _PRICE**0.5
# Affinity of customer segment (rows: SMB, Mid-market, Enterprise) for each product.
_AFFINITY = np.ones((3, len(PRODUCTS)))
_AFFINITY[:, _IS_ENTERPRISE] = np.array([[0.02], [0.5], [2.0]])
_AFFINITY[:, PRODUCTS.index("Starter Edition")] = (1.6, 0.5, 0.1)
_AFFINITY[:, PRODUCTS.index("Premium Support")] = (0.4, 1.0, 1.6)
# Overselling partners push enterprise products into small businesses.
_AFFINITY_OVERSELL = _AFFINITY.copy()
_AFFINITY_OVERSELL[0, _IS_ENTERPRISE] = 6.0
_SEGMENT_ORDER_SIZE = np.array([0.6, 1.2, 2.5])

# --- Tiers and revenue -------------------------------------------------------------------------------
_TIER_SHARE = np.array([0.02, 0.08, 0.20, 0.30, 0.40])
_TIER_MEDIAN = np.array([1_000_000.0, 300_000.0, 100_000.0, 30_000.0, 8_000.0])  # per quarter
_LEVEL_SIGMA = 0.45
# Annual revenue that earns each tier above Authorized: geometric midpoints between tier medians.
_TIER_ENTRY = 4 * np.sqrt(_TIER_MEDIAN[:-1] * _TIER_MEDIAN[1:])
_HYSTERESIS = 1.25  # promoted above entry * this; demoted below entry / this
_SEASON = np.array([0.94, 0.99, 0.97, 1.10])  # Q1..Q4
_SEGMENT_MIX_BY_TIER = np.array(
    [[0.35, 0.35, 0.30], [0.45, 0.33, 0.22], [0.55, 0.30, 0.15], [0.65, 0.25, 0.10], [0.75, 0.20, 0.05]]
)
_POOL_BY_TIER = np.array([220.0, 90.0, 40.0, 16.0, 7.0])  # customers a partner already has
_ENTERPRISE_PORTFOLIO_BY_TIER = np.array([0.95, 0.8, 0.45, 0.2, 0.08])
_OVERSELL_BY_TIER = np.array([0.03, 0.05, 0.07, 0.06, 0.035])
_LOW_ENGAGEMENT_BY_TIER = np.array([0.0, 0.02, 0.05, 0.10, 0.16])
_RECRUIT_TIER_SHARE = np.array([0.0, 0.0, 0.05, 0.25, 0.70])
_RECRUITS_PER_YEAR = 500 / 6000  # per partner active at the start
_QUIET_QUARTER = 0.03  # the chance that a regular dealer books nothing in a quarter and carries on after

# --- Decline, churn and turnaround -------------------------------------------------------------------
_ACTIVE, _DECLINING, _BOTTOM, _RECOVERING, _CHURNED = range(5)
_BURN_IN = 4
_CREDIT_SHARE = 0.02


@dataclass(frozen=True)
class DemoSpec:
    """What demo channel to generate: seed, size and the quarters it covers."""

    seed: int = DEFAULT_SEED
    partners: int = DEFAULT_PARTNERS  # partners active at the start; 60_000 is ten times the default
    quarters: int = DEFAULT_QUARTERS
    last_quarter: str = DEFAULT_LAST_QUARTER

    def __post_init__(self) -> None:
        if self.partners < 1:
            raise ValueError(f"partners must be at least 1, got {self.partners}")
        if self.quarters < 1:
            raise ValueError(f"quarters must be at least 1, got {self.quarters}")
        quarter_index(self.last_quarter)  # raises ValueError for a bad label

    @property
    def quarter_labels(self) -> list[str]:
        """Give the labels of the quarters covered, oldest first."""
        last = quarter_index(self.last_quarter)
        return [quarter_label(i) for i in range(last - self.quarters + 1, last + 1)]


# The odds, as a logit per quarter, that an active partner starts to decline: what its history shows
# explains part of it (focus, engagement, being a young recruit, tier, revenue drift), chance the rest.
@dataclass(frozen=True)
class _DeclineOdds:
    base: float = -3.75
    unfocused: float = 2.2  # per unit of focus below the mean
    low_engagement: float = 0.9
    young_recruit: float = 0.6  # a recruit in its first two years
    top_two_tiers: float = 0.5  # subtracted: Platinum and Gold decline less often
    drift: float = 18.0  # subtracted, per unit of revenue drift above the mean


# The odds that a partner starting to decline will turn around rather than churn (before noise).
@dataclass(frozen=True)
class _TurnaroundOdds:
    base: float = -0.7
    focus: float = 2.5  # per unit of focus above the mean
    top_three_tiers: float = 0.5
    young_recruit: float = 0.7  # subtracted: young recruits turn around less often


_DECLINE_ODDS = _DeclineOdds()
_TURNAROUND_ODDS = _TurnaroundOdds()
_FOCUS_MEAN = 0.55  # the centre the odds measure focus from (focus is beta(2.2, 1.8): mean 0.55)
_DRIFT_MEAN = 0.008  # partners' mean revenue drift per quarter (log scale)
