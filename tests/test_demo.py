"""Tests for the generated demo channel: shape, determinism and the signals later analyses rely on."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib

import numpy as np
import pandas as pd
import pytest

from analytics.access import Actor
from analytics.demo import (
    DEFAULT_LAST_QUARTER,
    DEFAULT_QUARTERS,
    ENTERPRISE_PRODUCTS,
    ORDER_LINE_COLUMNS,
    PRODUCTS,
    SEGMENTS,
    TIERS,
    DemoSpec,
    build_demo_channel,
    generate_quarters,
    write_demo_extracts,
)
from analytics.ingest.history import list_loads
from analytics.store import schema
from analytics.store.quarters import quarter_end, quarter_range, quarter_start
from analytics.store.store import Store

COLUMNS = [
    "transaction_id", "order_date", "partner_id", "partner_name", "tier", "region", "country",
    "distributor", "customer_id", "customer_segment", "product", "quantity", "deal_type", "revenue", "contact_email",
    "currency",
]
SMALL = DemoSpec(partners=600)
SCALE = SMALL.partners / 6000


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """The small channel's order lines per quarter."""
    return dict(generate_quarters(SMALL))


@pytest.fixture(scope="module")
def lines(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All order lines of the small channel with the quarter number (0 = first) added."""
    numbered = [frame.assign(q=i) for i, frame in enumerate(frames.values())]
    return pd.concat(numbered, ignore_index=True)


@pytest.fixture(scope="module")
def revenue(lines: pd.DataFrame) -> pd.DataFrame:
    """Revenue per partner (rows) and quarter number (columns), 0 where a partner had no orders."""
    return lines.pivot_table(index="partner_id", columns="q", values="revenue", aggfunc="sum", fill_value=0.0)


def _ordered(revenue: pd.DataFrame) -> pd.DataFrame:
    """Whether each partner ordered anything in each quarter."""
    return revenue != 0


# --- determinism ----------------------------------------------------------------------------------

def test_same_seed_gives_identical_frames(frames: dict[str, pd.DataFrame]) -> None:
    again = dict(generate_quarters(SMALL))
    assert list(again) == list(frames)
    for label, frame in frames.items():
        pd.testing.assert_frame_equal(again[label], frame)


def test_different_seed_gives_different_data(frames: dict[str, pd.DataFrame]) -> None:
    label, frame = next(generate_quarters(DemoSpec(seed=SMALL.seed + 1, partners=SMALL.partners)))
    assert label == next(iter(frames))
    first = frames[label]
    assert len(frame) != len(first) or not frame.equals(first)
    assert set(frame["partner_name"]) != set(first["partner_name"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"partners": 0}, "partners"), ({"quarters": 0}, "quarters"), ({"last_quarter": "2026-3"}, "quarter")],
    ids=["no-partners", "no-quarters", "bad-label"],
)
def test_spec_rejects_nonsense(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DemoSpec(**kwargs)


# --- shape ----------------------------------------------------------------------------------------

def test_columns_and_quarters(frames: dict[str, pd.DataFrame]) -> None:
    first = quarter_range("2023Q4", DEFAULT_LAST_QUARTER)[0]
    assert list(frames) == quarter_range(first, DEFAULT_LAST_QUARTER)
    assert len(frames) == DEFAULT_QUARTERS
    assert list(ORDER_LINE_COLUMNS) == COLUMNS
    for label, frame in frames.items():
        assert list(frame.columns) == COLUMNS, label
        dates = pd.to_datetime(frame["order_date"])
        assert dates.min() >= pd.Timestamp(quarter_start(label)), label
        assert dates.max() <= pd.Timestamp(quarter_end(label)), label


def test_values_are_well_formed(lines: pd.DataFrame) -> None:
    assert lines["transaction_id"].is_unique
    assert lines["transaction_id"].str.fullmatch(r"T\d{8}-\d+").all()
    assert lines["partner_id"].str.fullmatch(r"P\d{6}").all()
    assert lines["customer_id"].str.fullmatch(r"C\d{7}").all()
    assert set(lines["customer_segment"]) == set(SEGMENTS) == {"SMB", "Mid-market", "Enterprise"}
    # ANZ records its own program's designations: no Bronze, Authorised as its entry tier (issue 28).
    anz = lines["region"] == "ANZ"
    assert set(lines.loc[~anz, "tier"]) == set(TIERS)
    assert "Authorised" in set(lines.loc[anz, "tier"]) <= {"Platinum", "Gold", "Silver", "Authorised"}
    assert set(lines["region"]) == {"NA", "EMEA", "ANZ", "APAC", "LATAM"}
    # EMEA sells in euros, ANZ in Australian dollars, the rest in US dollars (issue 28).
    currencies = lines.groupby("region", observed=True)["currency"].unique().map(lambda c: sorted(set(c)))
    assert currencies.to_dict() == {"ANZ": ["AUD"], "APAC": ["USD"], "EMEA": ["EUR"], "LATAM": ["USD"], "NA": ["USD"]}
    assert set(lines.loc[lines["region"] == "ANZ", "country"]) == {"AU", "NZ"}
    assert set(lines["product"]) <= set(PRODUCTS)
    assert set(lines["deal_type"]) == {"New", "Renewal", "Upsell"}
    assert "Direct" in set(lines["distributor"])
    assert lines["quantity"].dtype.kind == "i" and (lines["quantity"] >= 1).all()
    assert np.allclose(lines["revenue"], lines["revenue"].round(2))
    # Credits and returns: about 2 % of lines.
    assert 0.01 < (lines["revenue"] < 0).mean() < 0.035


def test_identities_are_consistent(lines: pd.DataFrame) -> None:
    per_partner = lines.groupby("partner_id")
    assert (per_partner["partner_name"].nunique() == 1).all()
    assert lines.groupby("partner_name")["partner_id"].nunique().max() == 1
    assert (per_partner["region"].nunique() == 1).all()
    assert (per_partner["country"].nunique() == 1).all()
    per_customer = lines.groupby("customer_id")
    assert (per_customer["customer_segment"].nunique() == 1).all()
    assert (per_customer["partner_id"].nunique() == 1).all()
    # The lines of one transaction (T........-n) belong to one deal: partner, customer, day.
    order = lines.assign(order=lines["transaction_id"].str.split("-").str[0]).groupby("order")
    assert (order[["partner_id", "customer_id", "order_date"]].nunique() == 1).all().all()


def test_segments_and_enterprise_products(lines: pd.DataFrame) -> None:
    shares = lines.drop_duplicates("customer_id")["customer_segment"].value_counts(normalize=True)
    assert shares["SMB"] > shares["Mid-market"] > shares["Enterprise"]
    assert 10 <= len(PRODUCTS) <= 14
    assert ENTERPRISE_PRODUCTS < set(PRODUCTS) and len(ENTERPRISE_PRODUCTS) >= 2
    enterprise = lines[lines["product"].isin(ENTERPRISE_PRODUCTS)]
    to_big = enterprise.loc[enterprise["customer_segment"] != "SMB", "revenue"].sum()
    assert to_big / enterprise["revenue"].sum() > 0.8


def test_tier_changes_only_at_the_yearly_review(lines: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> None:
    reviews_so_far = np.cumsum([label.endswith("Q1") for label in frames])
    seen = lines.drop_duplicates(["partner_id", "q"])[["partner_id", "q", "tier"]].sort_values(["partner_id", "q"])
    seen["rank"] = seen["tier"].map({**{t: i for i, t in enumerate(TIERS)}, "Authorised": len(TIERS) - 1})
    seen["review"] = reviews_so_far[seen["q"]]
    previous = seen.groupby("partner_id")[["rank", "review"]].shift()
    moved = previous["rank"].notna() & (seen["rank"] != previous["rank"])
    # Occasional dealers skip quarters, so a move shows at the next order after a Q1 review.
    assert moved.any()
    assert (seen.loc[moved, "review"] > previous.loc[moved, "review"]).all()
    # Each review moves a few percent of the partners up and a few percent down.
    review = next(q for q, label in enumerate(frames) if label.endswith("Q1") and q >= 4)
    ranks = seen.pivot(index="partner_id", columns="q", values="rank")
    before, after = ranks.loc[:, :review - 1].ffill(axis=1)[review - 1], ranks[review]
    both = before.notna() & after.notna()
    assert 0.005 < (after < before)[both].mean() < 0.12
    assert 0.005 < (after > before)[both].mean() < 0.12


# --- channel signals ------------------------------------------------------------------------------

def test_tier_pyramid(lines: pd.DataFrame) -> None:
    first = lines[(lines["q"] == 0) & (lines["region"] != "ANZ")]  # ANZ merges the two entry tiers
    per_partner = first.groupby("partner_id").agg(tier=("tier", "first"), revenue=("revenue", "sum"))
    shares = per_partner["tier"].value_counts(normalize=True).reindex(TIERS)
    assert shares.is_monotonic_increasing, shares  # Platinum fewest ... Authorized most
    assert 0.3 < shares["Authorized"] < 0.5 and shares["Platinum"] < 0.05
    median = per_partner.groupby("tier")["revenue"].median()
    assert median["Platinum"] > 30 * median["Authorized"]
    assert median.reindex(TIERS).is_monotonic_decreasing


def test_churn_share_per_year(revenue: pd.DataFrame) -> None:
    ordered = _ordered(revenue)
    first_year = ordered.iloc[:, :4].any(axis=1)
    last_year = ordered.iloc[:, -4:].any(axis=1)
    gone = (first_year & ~last_year).sum() / first_year.sum()
    # The two yearly windows start two years apart, so a yearly churn of r leaves 1 - (1 - r)^2
    # gone. The channel is built to lose about 10 % a year; 5-20 % leaves room for a small sample.
    per_year = 1 - (1 - gone) ** 0.5
    assert 0.05 < per_year < 0.20


def test_recruits_per_year(revenue: pd.DataFrame) -> None:
    first_order = _ordered(revenue).idxmax(axis=1)
    per_year = [int(first_order.between(4 * y, 4 * y + 3).sum()) for y in (1, 2)]
    # About 500 recruits a year per 6,000 partners; at this size that is about 50 a year. Recruits
    # arrive at random (Poisson) and some place their first order a quarter or two after joining.
    expected = 500 * SCALE
    assert all(0.5 * expected < n < 1.6 * expected for n in per_year), per_year
    assert 0.7 * 2 * expected < sum(per_year) < 1.4 * 2 * expected, per_year


def test_decline_predicts_churn_and_some_decliners_turn_around(revenue: pd.DataFrame) -> None:
    trailing = revenue.T.rolling(4).sum().T  # column q: revenue of quarters q-3..q
    last = revenue.columns.max()
    turned = pd.Series(False, index=revenue.index)
    for q in range(7, last):
        before = trailing[q - 4]
        halved = (before > 0) & (trailing[q] > 0) & (trailing[q] <= 0.5 * before)
        # Back to at least the level before the fall within a year.
        turned |= halved & (trailing.loc[:, q + 1 : min(q + 4, last)].max(axis=1) >= before)
    assert turned.sum() >= 3

    before, during = trailing[3], trailing[7]
    halved = (before > 0) & (during > 0) & (during <= 0.5 * before)
    steady = (before > 0) & (during > 0.9 * before)
    gone = ~_ordered(revenue).iloc[:, 8:].any(axis=1)
    # Falling by half is a strong but imperfect warning: many more leave than among steady partners,
    # yet a good share stays.
    assert gone[halved].mean() > 3 * gone[steady].mean()
    assert 0.1 < gone[halved].mean() < 0.9


def test_many_leavers_stop_without_a_decline_first(revenue: pd.DataFrame) -> None:
    ordered = _ordered(revenue).to_numpy()
    r = revenue.to_numpy()
    quarters = ordered.shape[1]
    last = quarters - 1 - np.argmax(ordered[:, ::-1], axis=1)
    # Partners with a year of history behind their last order and four silent quarters after it.
    stopped = np.flatnonzero(ordered.any(axis=1) & (last >= 4) & (last <= quarters - 5))
    level_before = np.array([r[i, last[i] - 4:last[i] - 1].mean() for i in stopped])
    final_two = np.array([r[i, last[i] - 1:last[i] + 1].mean() for i in stopped])
    abrupt = final_two >= 0.7 * level_before
    # Before the BG/NBD-style stops about a third did (noise, quiet leavers); a falling trend alone no longer
    # announces most of the churn.
    assert len(stopped) > 30 and 0.45 < abrupt.mean() < 0.9, (len(stopped), abrupt.mean())


def test_occasional_dealers(lines: pd.DataFrame) -> None:
    last_year = lines[lines["q"] >= lines["q"].max() - 3]
    deals = last_year.drop_duplicates(["partner_id", "customer_id", "order_date"]).groupby("partner_id").size()
    share = (deals <= 2).mean()
    assert 0.05 < share < 0.2


def test_enterprise_products_to_smb_concentrated_in_few_partners(lines: pd.DataFrame) -> None:
    enterprise = lines[lines["product"].isin(ENTERPRISE_PRODUCTS)]
    per_partner = enterprise.assign(smb=enterprise["revenue"].where(enterprise["customer_segment"] == "SMB", 0.0))
    per_partner = per_partner.groupby("partner_id")[["revenue", "smb"]].sum()
    per_partner = per_partner[per_partner["revenue"] > 0]
    oversellers = per_partner["smb"] / per_partner["revenue"] > 0.4
    assert 0.02 < oversellers.mean() < 0.3
    assert per_partner.loc[oversellers, "smb"].sum() > 0.5 * per_partner["smb"].sum()


def test_default_channel_size() -> None:
    sizes = []
    partners_first_quarter = 0
    for i, (_, frame) in enumerate(generate_quarters()):
        sizes.append(len(frame))
        if i == 0:
            partners_first_quarter = frame["partner_id"].nunique()
    assert len(sizes) == DEFAULT_QUARTERS
    assert 800_000 <= sum(sizes) <= 1_200_000
    # About 6,000 partners, of which the occasional dealers skip most quarters.
    assert 5_000 <= partners_first_quarter <= 6_200


# --- extracts -------------------------------------------------------------------------------------

def test_write_demo_extracts(tmp_path) -> None:
    spec = DemoSpec(partners=150, quarters=3, last_quarter="2025Q2")
    calls: list[tuple[float, str]] = []
    paths = write_demo_extracts(tmp_path / "extracts", spec, progress=lambda f, m: calls.append((f, m)))
    labels = ["2024Q4", "2025Q1", "2025Q2"]
    assert [p.name for p in paths] == [f"sales_{label}.csv" for label in labels]
    assert sorted(p.name for p in (tmp_path / "extracts").iterdir()) == [p.name for p in paths]
    assert len(calls) >= spec.quarters and calls[-1][0] == pytest.approx(1.0)
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)
    expected = dict(generate_quarters(spec))
    for label, path in zip(labels, paths, strict=True):
        assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
        back = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = expected[label]
        assert len(back) == len(frame)
        assert back["order_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
        days = back["order_date"].map(dt.date.fromisoformat)
        assert days.min() >= quarter_start(label) and days.max() <= quarter_end(label)
        assert back["revenue"].str.fullmatch(r"-?\d+\.\d{2}").all()
        assert np.allclose(back["revenue"].astype(float), frame["revenue"])
        assert back["transaction_id"].tolist() == frame["transaction_id"].tolist()
        assert back["partner_name"].tolist() == frame["partner_name"].tolist()


def test_constants_agree_with_schema() -> None:
    assert TIERS == schema.TIERS
    assert SEGMENTS == schema.SEGMENTS
    assert set(ORDER_LINE_COLUMNS) <= set(schema.CANONICAL_COLUMNS)


# The files a small demo channel writes, hashed when regular dealers got quiet quarters (an empty quarter is not
# always churn), the extracts a contact e-mail, and then ANZ split from APAC with EMEA's lines in EUR and ANZ's in
# AUD (issue 28), ANZ's tiers named as its program names them: restructuring the generator must not change its
# output.
SMALL_DEMO_SHA256 = "2c486fd1fe534274dcc2b4625932b4c02d424dd131018a1e19d09228c4e11705"


def test_a_small_demo_channel_is_byte_for_byte_what_it_was(tmp_path):
    digest = hashlib.sha256()
    for path in write_demo_extracts(tmp_path, DemoSpec(partners=300)):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    assert digest.hexdigest() == SMALL_DEMO_SHA256


# --- who the loads table says loaded the demo ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("actor", "by", "expected"),
    [(None, None, f"demo, by local user ({getpass.getuser()})"),
     (Actor("ops@example.com", "operator"), None, "demo, by ops@example.com"),
     (None, f"command line ({getpass.getuser()})", f"demo, by command line ({getpass.getuser()})")],
    ids=["local user", "signed in", "command line"],
)
def test_demo_loads_say_they_are_the_demo_and_who_built_it(store, actor, by, expected) -> None:
    build_demo_channel(store, DemoSpec(partners=40, quarters=2), actor=actor, score=False, by=by)
    assert list_loads(store)["loaded_by"].tolist() == [expected, expected]


def test_the_command_line_demo_records_the_login(tmp_path) -> None:
    from analytics.cli import main

    db = tmp_path / "cli.duckdb"
    assert main(["--db", str(db), "demo", "--partners", "30", "--no-scores"]) == 0
    with Store(db) as store:
        assert set(list_loads(store)["loaded_by"]) == {f"demo, by command line ({getpass.getuser()})"}


def test_regular_dealers_have_quiet_quarters_and_carry_on():
    """An empty quarter is not only a partner that stopped: some regular dealers skip one and order again after."""
    from analytics.demo import DemoSpec, generate_quarters

    busy = []  # per quarter: the partners with three or more order lines (a regular dealer, not an occasional one)
    for _, frame in generate_quarters(DemoSpec(partners=600)):
        lines = frame["partner_id"].value_counts()
        busy.append((set(lines[lines >= 3].index), set(frame["partner_id"])))
    skipped_and_back = set()
    for (before, _), (_, now), (after, _) in zip(busy, busy[1:], busy[2:], strict=False):
        skipped_and_back |= (before & after) - now
    assert len(skipped_and_back) >= 80  # 36 without quiet quarters (declines that recovered), 141 with them


# --- currencies (issue 28) ------------------------------------------------------------------------------------------

def test_the_demo_has_a_plausible_rate_for_every_quarter_and_currency(tmp_path) -> None:
    from analytics.demo import demo_rates, write_demo_rates
    from analytics.store.rates import read_rates

    spec = DemoSpec()
    rates = demo_rates(spec)
    assert sorted(rates["quarter"].unique()) == spec.quarter_labels
    assert rates.groupby("quarter")["currency"].apply(sorted).map(tuple).unique().tolist() == [("AUD", "EUR")]
    eur, aud = (rates.loc[rates["currency"] == c, "rate"] for c in ("EUR", "AUD"))
    assert 1.05 <= eur.min() < eur.max() <= 1.15 and 0.63 <= aud.min() < aud.max() <= 0.70
    # The file the demo loads reads back to the same rates.
    back = read_rates(write_demo_rates(tmp_path, spec), reporting="USD")
    assert back[["quarter", "currency", "rate"]].values.tolist() == rates.values.tolist()


def test_the_demo_loads_its_rates_first_and_stores_each_line_in_its_regions_currency(store) -> None:
    from analytics.demo import demo_rates
    from analytics.store.rates import current_rates

    spec = DemoSpec(partners=60, quarters=2)
    drawn = pd.concat([frame for _, frame in generate_quarters(spec)], ignore_index=True)
    build_demo_channel(store, spec, score=False)
    rates = demo_rates(spec)
    pd.testing.assert_frame_equal(current_rates(store), rates.sort_values(["quarter", "currency"], ignore_index=True))
    stored = store.query_df("SELECT transaction_id, region, quarter, currency, CAST(amount AS DOUBLE) AS amount, "
                            "CAST(revenue AS DOUBLE) AS revenue FROM order_lines ORDER BY transaction_id")
    assert stored["transaction_id"].tolist() == sorted(drawn["transaction_id"])
    # The line as in the extract: its amount and its region's currency.
    assert np.allclose(stored["amount"], drawn.sort_values("transaction_id")["revenue"])
    assert (stored["currency"] == stored["region"].map({"EMEA": "EUR", "ANZ": "AUD"}).fillna("USD")).all()
    # Revenue in dollars: the amount at its quarter's rate, to the cent.
    rate = stored.merge(rates, on=["quarter", "currency"], how="left")["rate"].fillna(1.0)
    assert np.allclose(stored["revenue"], np.round(stored["amount"] * rate + 1e-9 * np.sign(stored["amount"]), 2))
