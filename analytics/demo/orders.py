"""A quarter's orders from the simulated population: each partner's revenue and orders, then the order lines
(customers, products, dates, amounts); generate_quarters yields them quarter by quarter."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from analytics.demo.parameters import (
    _AFFINITY,
    _AFFINITY_OVERSELL,
    _ANZ,
    _BURN_IN,
    _COUNTRIES,
    _CREDIT_SHARE,
    _DECLINING,
    _DISTRIBUTORS,
    _IS_ENTERPRISE,
    _LINE_WEIGHT,
    _PRICE,
    _QUIET_QUARTER,
    _SEASON,
    _SEGMENT_ORDER_SIZE,
    _TIER_LABELS,
    _TIER_MEDIAN,
    DEAL_TYPES,
    ORDER_LINE_COLUMNS,
    PRODUCTS,
    REGIONS,
    DemoSpec,
)
from analytics.demo.partners import _Channel, _choice
from analytics.demo.rates import _CURRENCY_CODES, _quarter_rates, _region_currency, _region_currency_code
from analytics.store.quarters import quarter_end, quarter_index, quarter_label, quarter_start
from analytics.store.schema import SEGMENTS, TIERS

__all__ = ["generate_quarters"]


def _labelled(labels: Sequence[str] | np.ndarray, codes: np.ndarray) -> pd.Series:
    """Give a string column holding labels[code] for each code."""
    # Taking from a short string array stays in Arrow; building Python strings per line is slow.
    return pd.Series(pd.array(np.asarray(labels, dtype=object), dtype="str")).take(codes).reset_index(drop=True)


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Give a string column of numbers zero-padded to `width` digits after a prefix ("C0001234")."""
    return prefix + pd.Series(numbers).astype("str").str.zfill(width)


def quarter_plan(channel: _Channel, t: int, q_of_year: int) -> tuple[np.ndarray, np.ndarray]:
    """Give each partner's revenue this quarter and its number of orders."""
    p, rng = channel.partners_now, channel.rng
    age = t - p.joined
    ramp = np.where(p.recruit, 1 - 0.75 * np.exp(-age / 2.5), 1.0)
    m = channel.multiplier()
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
    quiet = ~low & (channel.quiet_rng.random(len(orders)) < _QUIET_QUARTER)
    orders[quiet] = 0
    sigma = 0.12 + 0.3 * (1 - p.focus)
    noise = rng.lognormal(-(sigma**2) / 2, sigma)
    revenue = nominal * _SEASON[q_of_year] * m * noise * orders / np.maximum(lam_rev, 1e-9)
    return revenue, orders


# -- order lines -----------------------------------------------------------------------------
def _order_customers(channel: _Channel, owner: np.ndarray, orders: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Give each order's customer id and whether it is a new customer; counts the partners' new customers."""
    p, rng = channel.partners_now, channel.rng
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
    p.cust_n = cust_n + np.bincount(owner[is_new], minlength=channel.n)
    return customer, is_new


def order_lines(channel: _Channel, label: str, revenue: np.ndarray, orders: np.ndarray, t: int) -> pd.DataFrame:
    """Give the quarter's order lines, spreading each partner's revenue over its orders."""
    p, rng = channel.partners_now, channel.rng
    owner = np.repeat(np.arange(channel.n), orders)
    n_orders = len(owner)

    customer, is_new = _order_customers(channel, owner, orders, t)
    segment = channel.cust_seg[customer]

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
    total = np.bincount(line_owner, weights=weight, minlength=channel.n)
    amount = revenue[line_owner] * weight / total[line_owner]
    credit = rng.random(n_lines) < _CREDIT_SHARE
    amount = np.where(credit, -amount * rng.uniform(0.2, 1.0, n_lines), amount)
    amount = np.round(amount, 2)
    discount = rng.uniform(0.65, 0.98, n_lines)
    quantity = np.maximum(1, np.round(np.abs(amount) / (_PRICE[product] * discount))).astype(np.int64)

    # Transaction numbers follow the calendar, like a real order system.
    order_rank = np.empty(n_orders, dtype=np.int64)
    order_rank[np.lexsort((owner, day))] = np.arange(n_orders)
    order_no = channel.next_order + order_rank
    channel.next_order += n_orders
    line_no = np.arange(n_lines) - np.repeat(np.cumsum(lines_per_order) - lines_per_order, lines_per_order) + 1
    by_time = np.lexsort((line_no, order_rank[order_of_line]))

    channel.revenue.append(np.bincount(line_owner, weights=amount, minlength=channel.n))

    o = order_of_line[by_time]
    lo = line_owner[by_time]
    partner_ids = np.char.add("P", np.char.zfill(np.arange(1, channel.n + 1).astype(str), 6))
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
            "partner_name": _labelled(channel.partner_names(), lo),
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
        revenue, orders = quarter_plan(channel, t, q_of_year)
        if t < 0:
            # Burn-in: only the partner revenue history matters, no order lines.
            channel.revenue.append(revenue)
        else:
            frame = order_lines(channel, label, revenue, orders, t)
            if progress is not None:
                progress((t + 1) / len(labels), f"Generated {label}: {len(frame):,} order lines")
            yield label, frame
        channel.drift_levels()
