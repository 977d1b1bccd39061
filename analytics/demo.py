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
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.store.quarters import quarter_end, quarter_index, quarter_label, quarter_start
from analytics.store.schema import LINE_COLUMNS, SEGMENTS, TIERS

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


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Give one category index per row of `probs` (rows need not sum to one)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _labelled(labels: Sequence[str] | np.ndarray, codes: np.ndarray) -> pd.Series:
    """Give a string column holding labels[code] for each code."""
    # Taking from a short string array stays in Arrow; building Python strings per line is slow.
    return pd.Series(pd.array(np.asarray(labels, dtype=object), dtype="str")).take(codes).reset_index(drop=True)


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Give a string column of numbers zero-padded to `width` digits after a prefix ("C0001234")."""
    return prefix + pd.Series(numbers).astype("str").str.zfill(width)


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


@dataclass
class _Partners:
    """The simulated partners, one array per attribute with one entry per partner (in order of joining)."""

    tier: np.ndarray
    focus: np.ndarray
    level: np.ndarray
    drift: np.ndarray
    region: np.ndarray
    country: np.ndarray
    legal: np.ndarray
    distributor: np.ndarray
    alt_distributor: np.ndarray
    low_engagement: np.ndarray
    phase: np.ndarray
    seg_probs: np.ndarray
    oversell: np.ndarray
    portfolio: np.ndarray
    cust_start: np.ndarray
    cust_n: np.ndarray
    cust_cap: np.ndarray
    joined: np.ndarray
    recruit: np.ndarray
    state: np.ndarray
    step: np.ndarray
    fall: np.ndarray
    bottom: np.ndarray
    rise: np.ndarray
    m_min: np.ndarray
    m_final: np.ndarray
    turner: np.ndarray
    cooldown: np.ndarray
    declines: np.ndarray
    turnarounds: np.ndarray
    stops: np.ndarray
    stop_hazard: np.ndarray
    random_buyer: np.ndarray
    buy_rate: np.ndarray

    def extended(self, more: _Partners) -> _Partners:
        """Give these partners followed by `more`."""
        return _Partners(**{f.name: np.concatenate([getattr(self, f.name), getattr(more, f.name)])
                            for f in dataclasses.fields(self)})


class _Channel:
    """The simulated partner population: one array per partner attribute, grown by recruiting."""

    def __init__(self, spec: DemoSpec) -> None:
        self.rng = np.random.default_rng(spec.seed)
        # Quiet quarters draw from their own stream, so the rest of the channel is what it always was.
        self.quiet_rng = np.random.default_rng([spec.seed, 7])
        self.partners = spec.partners
        self.name_order = self.rng.permutation(
            len(_NAME_HEADS) * len(_NAME_TAILS) * len(_NAME_TRADES) * len(_NAME_VARIANTS)
        )
        self.p: _Partners | None = None
        self.n = 0
        self.cust_seg = np.zeros(0, dtype=np.int8)
        self.revenue: list[np.ndarray] = []  # realised revenue per partner, one array per quarter
        self.next_order = 1
        self._names = np.empty(0, dtype=object)
        # The burn-in recruits a few more partners than it loses: start a little below the target.
        self._add_partners(round(spec.partners * 0.97), joined=-_BURN_IN, recruits=False)

    @property
    def partners_now(self) -> _Partners:
        """Give the partners so far (the starting channel is added on creation, so there always are some)."""
        assert self.p is not None
        return self.p

    # -- population -----------------------------------------------------------------------------
    def _add_partners(self, k: int, joined: int, recruits: bool) -> None:
        """Add k partners who join in quarter `joined`, as recruits or as the starting channel."""
        rng = self.rng
        if k == 0:
            return
        shares = _RECRUIT_TIER_SHARE if recruits else _TIER_SHARE
        if recruits:
            tier = rng.choice(5, size=k, p=shares)
        else:
            # The starting channel has its pyramid exactly; chance shows in what follows.
            counts = np.floor(shares * k).astype(np.int64)
            counts[-1] += k - counts.sum()
            tier = rng.permutation(np.repeat(np.arange(5), counts))
        focus = rng.beta(2.2, 1.8, size=k)
        level = (
            np.log(_TIER_MEDIAN[tier])
            + rng.normal(0.0, _LEVEL_SIGMA + 0.1 * recruits, size=k)
            + 0.5 * (focus - _FOCUS_MEAN)
        )
        region, country, distributor, alt_distributor = self._draw_routes(tier)

        low_engagement = rng.random(k) < _LOW_ENGAGEMENT_BY_TIER[tier] * (1.6 - 1.2 * focus) / 0.94
        seg_gamma = rng.gamma(8.0 * _SEGMENT_MIX_BY_TIER[tier])
        seg_probs = seg_gamma / seg_gamma.sum(axis=1, keepdims=True)
        oversell = rng.random(k) < _OVERSELL_BY_TIER[tier]

        portfolio = self._draw_portfolio(tier, focus, oversell)

        pool, capacity, cust_start = self._draw_customers(tier, focus, seg_probs, recruits)

        added = _Partners(
            tier=tier,
            focus=focus,
            level=level,
            drift=rng.normal(_DRIFT_MEAN, 0.015, size=k),
            region=region,
            country=country,
            legal=rng.integers(0, 2, size=k),
            distributor=distributor,
            alt_distributor=alt_distributor,
            low_engagement=low_engagement,
            phase=rng.integers(0, 4, size=k),
            seg_probs=seg_probs,
            oversell=oversell,
            portfolio=portfolio,
            cust_start=cust_start,
            cust_n=pool,
            cust_cap=capacity,
            joined=np.full(k, joined),
            recruit=np.full(k, recruits),
            state=np.full(k, _ACTIVE),
            step=np.zeros(k, dtype=np.int64),
            fall=np.ones(k, dtype=np.int64),
            bottom=np.zeros(k, dtype=np.int64),
            rise=np.ones(k, dtype=np.int64),
            m_min=np.ones(k),
            m_final=np.ones(k),
            turner=np.zeros(k, dtype=bool),
            cooldown=np.zeros(k, dtype=np.int64),
            # Counted only to inspect the simulation; nothing reads them.
            declines=np.zeros(k, dtype=np.int64),
            turnarounds=np.zeros(k, dtype=np.int64),
            stops=np.zeros(k, dtype=np.int64),
            # Chance per quarter of stopping without warning: beta(0.5, 45) has a mean of 1.1 % and a long
            # tail, so a few partners are far more likely to stop than most.
            stop_hazard=rng.beta(0.5, 45.0, size=k) * (1.6 - focus) * np.where(low_engagement, 1.8, 1.0),
            # Occasional dealers that buy at random (at their own rate per quarter) rather than in one quarter.
            random_buyer=rng.random(k) < 0.5,
            buy_rate=rng.uniform(0.15, 0.55, size=k),
        )
        self.p = added if self.p is None else self.p.extended(added)
        self.n += k

    def _draw_routes(self, tier: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Give new partners' region, country, distributor (0: buying direct) and other way in."""
        rng, k = self.rng, len(tier)
        region = rng.choice(len(REGIONS), size=k, p=[s for s, _ in _GEOGRAPHY.values()])
        country = np.empty(k, dtype=np.int64)
        distributor = np.empty(k, dtype=np.int64)
        alt_distributor = np.empty(k, dtype=np.int64)
        offset = 0
        for r, (name, (_, countries)) in enumerate(_GEOGRAPHY.items()):
            mask = region == r
            m = int(mask.sum())
            shares = np.array([s for _, s in countries])
            country[mask] = offset + rng.choice(len(countries), size=m, p=shares)
            offset += len(countries)
            distis = np.array([d for d, _ in _REGION_DISTRIBUTORS[name]])
            dshares = np.array([s for _, s in _REGION_DISTRIBUTORS[name]])
            main = distis[rng.choice(len(distis), size=m, p=dshares)]
            alt = distis[rng.choice(len(distis), size=m, p=dshares)]
            alt = np.where(alt == main, 0, alt)  # the other way in is often buying direct
            distributor[mask] = main
            alt_distributor[mask] = alt
        direct = rng.random(k) < _DIRECT_BY_TIER[tier]
        distributor = np.where(direct, 0, distributor)
        return region, country, distributor, alt_distributor

    def _draw_portfolio(self, tier: np.ndarray, focus: np.ndarray, oversell: np.ndarray) -> np.ndarray:
        """Give new partners' weight for each product (zero for products they do not carry)."""
        rng, k = self.rng, len(tier)
        # Product portfolio: focused and bigger partners carry more of the range.
        ent_incl = np.clip(_ENTERPRISE_PORTFOLIO_BY_TIER[tier] * (0.6 + 0.8 * focus), 0, 0.97)
        std_incl = np.clip(0.25 + 0.6 * focus + 0.08 * (4 - tier), 0.1, 0.95)
        incl_p = np.where(_IS_ENTERPRISE[None, :], ent_incl[:, None], std_incl[:, None])
        included = rng.random((k, len(PRODUCTS))) < incl_p
        included[:, PRODUCTS.index("Enterprise Platform")] |= oversell
        no_standard = ~included[:, ~_IS_ENTERPRISE].any(axis=1)
        included[no_standard, PRODUCTS.index("Business Suite")] = True
        portfolio = included * _POPULARITY[None, :] * rng.lognormal(0.0, 0.5, size=(k, len(PRODUCTS)))
        return portfolio

    def _draw_customers(
        self, tier: np.ndarray, focus: np.ndarray, seg_probs: np.ndarray, recruits: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Give new partners' customers so far, room for customers and first customer id; draws their segments."""
        rng, k = self.rng, len(tier)
        # Customer pool: a block of ids per partner with room to win new customers.
        pool = np.where(
            recruits, 0, np.maximum(1, np.round(_POOL_BY_TIER[tier] * rng.lognormal(0, 0.35, k) * (0.7 + 0.6 * focus)))
        ).astype(np.int64)
        capacity = np.maximum(2 * pool, 12) + np.round(_POOL_BY_TIER[tier] * 2).astype(np.int64)
        cust_start = len(self.cust_seg) + np.concatenate([[0], np.cumsum(capacity)[:-1]])
        new_segs = _choice(rng, np.repeat(seg_probs, capacity, axis=0)).astype(np.int8)
        self.cust_seg = np.concatenate([self.cust_seg, new_segs])
        return pool, capacity, cust_start

    def recruit(self, t: int) -> None:
        """Add this quarter's recruits."""
        k = int(self.rng.poisson(_RECRUITS_PER_YEAR / 4 * self.partners))
        self._add_partners(k, joined=t, recruits=True)

    # -- dynamics -------------------------------------------------------------------------------
    def advance_states(self, t: int) -> None:
        """Move partners along decline, recovery and churn, and start this quarter's declines."""
        p, rng = self.partners_now, self.rng
        state, step = p.state, p.step
        was = state.copy()
        p.cooldown = np.maximum(p.cooldown - 1, 0)

        dec = was == _DECLINING
        cont = dec & (step < p.fall)
        step[cont] += 1
        done = dec & ~cont
        state[done & ~p.turner] = _CHURNED
        to_bottom = done & p.turner & (p.bottom > 0)
        state[to_bottom] = _BOTTOM
        step[to_bottom] = 1
        to_rise = done & p.turner & (p.bottom == 0)

        bot = was == _BOTTOM
        cont = bot & (step < p.bottom)
        step[cont] += 1
        to_rise |= bot & ~cont
        state[to_rise] = _RECOVERING
        step[to_rise] = 1

        rec = (was == _RECOVERING) & ~to_rise
        cont = rec & (step < p.rise)
        step[cont] += 1
        back = rec & ~cont
        state[back] = _ACTIVE
        p.level[back] += np.log(p.m_final[back])
        p.cooldown[back] = 4
        p.turnarounds[back] += 1

        # Who starts to decline now: partly explained by what history shows, partly chance.
        at_risk = (was == _ACTIVE) & (p.cooldown == 0) & (p.joined < t)
        young = p.recruit & (t - p.joined < 8)
        odds = _DECLINE_ODDS
        logit = (
            odds.base
            + odds.unfocused * (_FOCUS_MEAN - p.focus)
            + odds.low_engagement * p.low_engagement
            + odds.young_recruit * young
            - odds.top_two_tiers * (p.tier <= 1)
            - odds.drift * (p.drift - _DRIFT_MEAN)
        )
        start = at_risk & (rng.random(self.n) < 1 / (1 + np.exp(-logit)))
        k = int(start.sum())
        turn = _TURNAROUND_ODDS
        turn_logit = (
            turn.base + turn.focus * (p.focus[start] - _FOCUS_MEAN) + turn.top_three_tiers * (p.tier[start] <= 2)
        )
        turn_logit -= turn.young_recruit * young[start]
        turner = rng.random(k) < 1 / (1 + np.exp(-(turn_logit + rng.normal(0, 0.5, k))))
        p.turner[start] = turner
        p.state[start] = _DECLINING
        p.step[start] = 1
        p.fall[start] = rng.choice([1, 2, 3], size=k, p=[0.3, 0.4, 0.3])
        p.bottom[start] = rng.choice([0, 1, 2], size=k, p=[0.4, 0.4, 0.2])
        p.rise[start] = rng.choice([1, 2, 3], size=k, p=[0.45, 0.4, 0.15])
        # Those who will turn around fall less deep, on average; the ranges overlap on purpose. Some
        # leavers give little warning: one quarter a bit below normal, then nothing.
        quiet = ~turner & (rng.random(k) < 0.15)
        p.fall[start] = np.where(quiet, 1, p.fall[start])
        m_min = np.where(turner, rng.uniform(0.2, 0.6, k), rng.uniform(0.08, 0.45, k))
        p.m_min[start] = np.where(quiet, rng.uniform(0.5, 0.9, k), m_min)
        p.m_final[start] = rng.uniform(1.0, 1.4, k)
        p.declines[start] += 1
        # Others stop at once, with nothing in their history to announce it.
        abrupt = at_risk & ~start & (rng.random(self.n) < p.stop_hazard)
        state[abrupt] = _CHURNED
        p.stops[abrupt] += 1

    def retier(self, t: int) -> None:
        """Re-set tiers from trailing-year revenue, one step at a time and with hysteresis."""
        p = self.partners_now
        trailing = np.zeros(self.n)
        for rev in self.revenue[-4:]:
            trailing[: len(rev)] += rev
        tier = p.tier
        # Recruits keep their entry tier until they have a full year behind them.
        eligible = (p.state != _CHURNED) & (p.joined <= t - 4)
        up_entry = _TIER_ENTRY[np.maximum(tier - 1, 0)]
        promote = eligible & (tier > 0) & (trailing >= up_entry * _HYSTERESIS)
        down_entry = _TIER_ENTRY[np.minimum(tier, 3)]
        demote = eligible & (tier < 4) & (trailing < down_entry / _HYSTERESIS)
        p.tier = tier - promote + demote

    def multiplier(self) -> np.ndarray:
        """Give each partner's revenue multiplier for its decline / recovery state."""
        p = self.partners_now
        state, step = p.state, p.step
        m = np.ones(self.n)
        dec = state == _DECLINING
        m[dec] = p.m_min[dec] ** (step[dec] / p.fall[dec])
        bot = state == _BOTTOM
        m[bot] = p.m_min[bot]
        rec = state == _RECOVERING
        m[rec] = p.m_min[rec] * (p.m_final[rec] / p.m_min[rec]) ** (step[rec] / p.rise[rec])
        m[state == _CHURNED] = 0.0
        return m

    def drift_levels(self) -> None:
        """Let active partners' underlying revenue drift for the next quarter."""
        p = self.partners_now
        active = p.state == _ACTIVE
        p.level[active] += p.drift[active] + self.rng.normal(0, 0.06, int(active.sum()))

    def quarter_plan(self, t: int, q_of_year: int) -> tuple[np.ndarray, np.ndarray]:
        """Give each partner's revenue this quarter and its number of orders."""
        p, rng = self.partners_now, self.rng
        age = t - p.joined
        ramp = np.where(p.recruit, 1 - 0.75 * np.exp(-age / 2.5), 1.0)
        m = self.multiplier()
        nominal = np.exp(p.level) * ramp
        lam = 3.7 * np.sqrt(nominal / _TIER_MEDIAN[-1]) * (0.75 + 0.5 * p.focus)
        lam_rev = lam.copy()
        # A decline shows mostly as fewer deals, and a little as smaller ones.
        lam *= m**0.7
        orders = rng.poisson(lam)
        # Occasional dealers buy in one quarter of the year, sometimes once more.
        low = p.low_engagement
        chance = np.where(p.random_buyer, p.buy_rate, np.where(p.phase == q_of_year, 0.92, 0.12)) * np.sqrt(m)
        orders[low] = (rng.random(int(low.sum())) < chance[low]).astype(orders.dtype)
        lam_rev[low] = 0.32
        # Real channels have quiet quarters: a regular dealer between projects, a budget freeze at its customers,
        # orders booked through a sister company. Without them an empty quarter would only ever mean a partner
        # that stopped for good, and the model would learn that no order once is certain churn.
        quiet = ~low & (self.quiet_rng.random(len(orders)) < _QUIET_QUARTER)
        orders[quiet] = 0
        sigma = 0.12 + 0.3 * (1 - p.focus)
        noise = rng.lognormal(-(sigma**2) / 2, sigma)
        revenue = nominal * _SEASON[q_of_year] * m * noise * orders / np.maximum(lam_rev, 1e-9)
        return revenue, orders

    # -- order lines ----------------------------------------------------------------------------
    def _order_customers(self, owner: np.ndarray, orders: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Give each order's customer id and whether it is a new customer; counts the partners' new customers."""
        p, rng = self.partners_now, self.rng
        n_orders = len(owner)
        # Customer of each order: an existing one (the older, bigger ones more often) or a new one.
        declining = p.state == _DECLINING
        p_new = np.where(declining, 0.03, 0.12)
        p_new = np.where(p.recruit & (t - p.joined < 4), 0.5, p_new)
        cust_n = p.cust_n
        is_new = (rng.random(n_orders) < p_new[owner]) | (cust_n[owner] == 0)
        first = np.concatenate([[0], np.cumsum(orders)[:-1]])
        csum = np.cumsum(is_new)
        rank = csum - (csum - is_new)[first[owner]] - 1  # rank among this partner's new customers
        local_new = cust_n[owner] + rank
        is_new &= local_new < p.cust_cap[owner]
        gamma = np.where(declining & ~p.turner, 2.2, np.where(declining, 1.7, 1.3))
        local_old = np.floor(cust_n[owner] * rng.random(n_orders) ** gamma[owner]).astype(np.int64)
        customer = p.cust_start[owner] + np.where(is_new, local_new, local_old)
        p.cust_n = cust_n + np.bincount(owner[is_new], minlength=self.n)
        return customer, is_new

    def order_lines(self, label: str, revenue: np.ndarray, orders: np.ndarray, t: int) -> pd.DataFrame:
        """Give the quarter's order lines, spreading each partner's revenue over its orders."""
        p, rng = self.partners_now, self.rng
        owner = np.repeat(np.arange(self.n), orders)
        n_orders = len(owner)

        customer, is_new = self._order_customers(owner, orders, t)
        segment = self.cust_seg[customer]

        deal = np.where(is_new, 0, np.where(rng.random(n_orders) < 0.62, 1, 2))
        via_alt = rng.random(n_orders) < 0.05
        distributor = np.where(via_alt, p.alt_distributor[owner], p.distributor[owner])
        start, end = quarter_start(label), quarter_end(label)
        days = (end - start).days + 1
        # Deals bunch up towards the end of the quarter.
        day = np.floor(days * rng.random(n_orders) ** 0.8).astype(np.int64)

        # Lines per order: bigger partners write bigger baskets.
        mu = np.clip(0.35 + 0.3 * np.log10(np.maximum(np.exp(p.level) / _TIER_MEDIAN[-1], 1.0)), 0.2, 1.4)
        lines_per_order = 1 + rng.poisson(mu[owner])
        order_of_line = np.repeat(np.arange(n_orders), lines_per_order)
        n_lines = len(order_of_line)
        line_owner = owner[order_of_line]
        line_seg = segment[order_of_line]

        affinity = np.where(
            p.oversell[line_owner, None], _AFFINITY_OVERSELL[line_seg], _AFFINITY[line_seg]
        )
        product = _choice(rng, p.portfolio[line_owner] * affinity)
        size = _SEGMENT_ORDER_SIZE[line_seg]
        # An oversold enterprise product is a big deal for the small customer who buys it.
        oversold = p.oversell[line_owner] & _IS_ENTERPRISE[product] & (line_seg == 0)
        size = np.where(oversold, _SEGMENT_ORDER_SIZE[1], size)
        weight = _LINE_WEIGHT[product] * size * rng.lognormal(0, 0.7, n_lines)
        total = np.bincount(line_owner, weights=weight, minlength=self.n)
        amount = revenue[line_owner] * weight / total[line_owner]
        credit = rng.random(n_lines) < _CREDIT_SHARE
        amount = np.where(credit, -amount * rng.uniform(0.2, 1.0, n_lines), amount)
        amount = np.round(amount, 2)
        discount = rng.uniform(0.65, 0.98, n_lines)
        quantity = np.maximum(1, np.round(np.abs(amount) / (_PRICE[product] * discount))).astype(np.int64)

        # Transaction numbers follow the calendar, like a real order system.
        order_rank = np.empty(n_orders, dtype=np.int64)
        order_rank[np.lexsort((owner, day))] = np.arange(n_orders)
        order_no = self.next_order + order_rank
        self.next_order += n_orders
        line_no = np.arange(n_lines) - np.repeat(np.cumsum(lines_per_order) - lines_per_order, lines_per_order) + 1
        by_time = np.lexsort((line_no, order_rank[order_of_line]))

        self.revenue.append(np.bincount(line_owner, weights=amount, minlength=self.n))

        o = order_of_line[by_time]
        lo = line_owner[by_time]
        partner_ids = np.char.add("P", np.char.zfill(np.arange(1, self.n + 1).astype(str), 6))
        # Amounts are drawn in US dollars; EMEA's and ANZ's extracts carry them in their own currency at the
        # quarter's rate (demo_rates), so converted back they are the channel the generator drew, to the cent.
        line_currency = _region_currency()[p.region[lo]]
        rates = _quarter_rates(label)
        to_local = np.array([1.0 / rates.get(c, 1.0) for c in _CURRENCY_CODES])[_region_currency_code()[p.region[lo]]]
        frame = pd.DataFrame(
            {
                "transaction_id": _numbered("T", order_no[o], 8) + "-" + _numbered("", line_no[by_time], 1),
                "order_date": np.datetime64(start, "D") + day[o],
                "partner_id": _labelled(partner_ids, lo),
                "partner_name": _labelled(self.partner_names(), lo),
                "tier": _labelled(_TIER_LABELS, p.tier[lo] + len(TIERS) * (p.region[lo] == _ANZ)),
                "region": _labelled(REGIONS, p.region[lo]),
                "country": _labelled(_COUNTRIES, p.country[lo]),
                "distributor": _labelled(_DISTRIBUTORS, distributor[o]),
                "customer_id": _numbered("C", customer[o] + 1, 7),
                "customer_segment": _labelled(SEGMENTS, line_seg[by_time]),
                "product": _labelled(PRODUCTS, product[by_time]),
                "quantity": quantity[by_time],
                "deal_type": _labelled(DEAL_TYPES, deal[o]),
                "revenue": np.round(amount[by_time] * to_local, 2),
                # A partner's channel contact, as a CRM export carries it (the letters' mail merge reads it).
                "contact_email": _labelled(np.char.add(np.char.lower(partner_ids), "@partners.example.com"), lo),
                "currency": line_currency,
            },
            columns=list(ORDER_LINE_COLUMNS),
        )
        return frame

    def partner_names(self) -> np.ndarray:
        """Give every partner's company name (unique, fixed for a partner)."""
        cached = self._names
        if len(cached) == self.n:
            return cached
        p = self.partners_now
        space = len(self.name_order)
        names = np.empty(self.n, dtype=object)
        for i in range(len(cached), self.n):
            code = int(self.name_order[i % space])
            code, variant = divmod(code, len(_NAME_VARIANTS))
            code, trade = divmod(code, len(_NAME_TRADES))
            head, tail = divmod(code, len(_NAME_TAILS))
            country = _COUNTRIES[p.country[i]]
            forms = _LEGAL_FORMS[country]
            repeat = f" {i // space + 1}" if i >= space else ""
            names[i] = (
                f"{_NAME_HEADS[head]}{_NAME_TAILS[tail]} {_NAME_TRADES[trade]}{_NAME_VARIANTS[variant]}{repeat} "
                f"{forms[p.legal[i] % len(forms)]}"
            )
        names[: len(cached)] = cached
        self._names = names
        return names


def generate_quarters(
    spec: DemoSpec = DemoSpec(), progress: Callable[[float, str], None] | None = None
) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield (quarter_label, order_lines_frame) for each quarter, oldest first.

    The same spec always gives the same frames. `progress(fraction_done, message)` is called once
    per quarter, after the quarter is generated.
    """
    channel = _Channel(spec)
    labels = spec.quarter_labels
    first = quarter_index(labels[0])
    for t in range(-_BURN_IN, len(labels)):
        label = quarter_label(first + t)
        q_of_year = (first + t) % 4
        if t > -_BURN_IN:
            channel.recruit(t)
        if t >= 0 and q_of_year == 0:
            channel.retier(t)
        channel.advance_states(t)
        revenue, orders = channel.quarter_plan(t, q_of_year)
        if t < 0:
            # Burn-in: only the partner revenue history matters, no order lines.
            channel.revenue.append(revenue)
        else:
            frame = channel.order_lines(label, revenue, orders, t)
            if progress is not None:
                progress((t + 1) / len(labels), f"Generated {label}: {len(frame):,} order lines")
            yield label, frame
        channel.drift_levels()


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


def build_demo_channel(
    store,
    spec: DemoSpec = DemoSpec(),
    progress: Callable[[float, str], None] | None = None,
    extracts_dir: Path | None = None,
    hold_back: tuple[str, ...] = (),
    actor=None,
    score: bool = True,
    by: str | None = None,
) -> list:
    """Give the load results of writing the demo's quarterly extracts and loading each through the importer.

    With `score`, the model's scores are then brought up to date (analytics.model.scoring), as after any load.

    `actor` (analytics.access.Actor) is who loads them: refused before anything is written unless
    their role may load; None is the machine's operator.

    The extracts go to a temporary folder unless `extracts_dir` is given (then they are kept there).
    Quarters in `hold_back` are written but not loaded, to be uploaded later as a real extract would be.
    Each load is recorded as loaded by "demo, by " and `by` (the command line says "command line (<login>)"),
    else the actor's name, else the local user's login.
    """
    # Imported here: the generator itself needs no database, and ingest must not import the demo.
    from analytics.access import check, local_actor
    from analytics.ingest.limits import COMMAND_LINE_LIMITS
    from analytics.ingest.load import load_extract
    from analytics.model.features import DEFAULT_HORIZON
    from analytics.model.scoring import refresh_scores
    from analytics.store.rates import load_rates

    check(actor, "load")
    # The loads table says these rows are generated, and who had them generated.
    loaded_by = f"demo, by {by or (actor or local_actor()).who}"
    notify = progress or (lambda fraction, message: None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(extracts_dir) if extracts_dir is not None else Path(tmp)
        # Writing is the quicker part; loading (validation, insert, derived table) and scoring take the time.
        loading = 0.5 if score else 0.7
        # The rates first: the EMEA and ANZ extracts are in euros and Australian dollars.
        rates = write_demo_rates(folder, spec)
        notify(0.0, f"Loading exchange rates ({rates.name}) for {spec.quarters} quarters")
        load_rates(store, rates, actor=actor, loaded_by=loaded_by)
        paths = write_demo_extracts(folder, spec, progress=lambda f, m: notify(0.3 * f, m))
        to_load = [p for p in paths if p.stem.removeprefix("sales_") not in hold_back]
        results = []
        for i, path in enumerate(to_load):
            def step(fraction: float, message: str, i: int = i) -> None:
                notify(0.3 + loading * (i + fraction) / len(to_load), message)

            # The demo's own files (12 of 1.2 GB at --partners 600000) are streamed, as the command line's are.
            results.append(load_extract(store, path, progress=step, actor=actor, loaded_by=loaded_by,
                                        limits=COMMAND_LINE_LIMITS))
    if score:
        refresh_scores(store, progress=lambda f, m: notify(0.8 + 0.15 * f, m))
        # The quarter before too, at the default horizon: the Overview's "what changed with the last load"
        # compares each partner's risk with the one stored for it then (a real channel has it from its
        # previous load).
        quarters = sorted({q for r in results for q in r.quarters})
        if len(quarters) > 1:
            refresh_scores(store, progress=lambda f, m: notify(0.95 + 0.05 * f, m), as_of=quarters[-2],
                           horizons=(DEFAULT_HORIZON,))
    notify(1.0, f"Demo channel ready: {sum(r.rows_added for r in results):,} order lines")
    return results


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
