"""The simulated partner population: who joins with which tier, focus, customers and routes to market, and how
each partner drifts, declines, churns, turns around and is re-tiered quarter by quarter."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from analytics.demo.parameters import (
    _ACTIVE,
    _BOTTOM,
    _BURN_IN,
    _CHURNED,
    _COUNTRIES,
    _DECLINE_ODDS,
    _DECLINING,
    _DIRECT_BY_TIER,
    _DRIFT_MEAN,
    _ENTERPRISE_PORTFOLIO_BY_TIER,
    _FOCUS_MEAN,
    _GEOGRAPHY,
    _HYSTERESIS,
    _IS_ENTERPRISE,
    _LEGAL_FORMS,
    _LEVEL_SIGMA,
    _LOW_ENGAGEMENT_BY_TIER,
    _NAME_HEADS,
    _NAME_TAILS,
    _NAME_TRADES,
    _NAME_VARIANTS,
    _OVERSELL_BY_TIER,
    _POOL_BY_TIER,
    _POPULARITY,
    _RECOVERING,
    _RECRUIT_TIER_SHARE,
    _RECRUITS_PER_YEAR,
    _REGION_DISTRIBUTORS,
    _SEGMENT_MIX_BY_TIER,
    _TIER_ENTRY,
    _TIER_MEDIAN,
    _TIER_SHARE,
    _TURNAROUND_ODDS,
    PRODUCTS,
    REGIONS,
    DemoSpec,
)


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Give one category index per row of `probs` (rows need not sum to one)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1)


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
