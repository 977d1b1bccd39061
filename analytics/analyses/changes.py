"""What changed with the last load: the channel before the latest load in effect against the channel after it.

"Before" is the order lines without the latest active load, with the lines that load set aside by a
replace back in; "after" is what counts now (analytics.store.store.ACTIVE_LINES). Rolled-back loads have
no lines left, so they are in neither. Each side is judged as of its own latest quarter, so a load
that adds a quarter compares the trailing year to that quarter with the trailing year to the one before.

Rows, one per partner and kind of change (a partner may have several):

* qualifies higher / qualifies lower: the tier its figures meet (the highest tier whose minimums in
  data/program.toml its trailing four quarters meet, the review's own rule,
  analytics.review.decisions.qualifying_tier) changed. These are *qualifying* tier moves, not the
  recorded tier moves of the Tiers page (analytics.analyses.tiers.tier_moves): the tier recorded in
  the data can stay Bronze while the figures meet Gold;
* risk rose: churn probability below RISK_THRESHOLD in the stored run as of the quarter before the
  latest and at or above it in the run as of the latest (both runs must be stored; no model is trained);
* behind goals: a partner on provisional continuation in the latest review saved before the latest
  quarter that is behind its revised goals pro rata, or missed them, once this load brought one of
  its goal quarters (analytics.review.saved_reviews.provisional_follow_up);
* drop-off: a significant trailing-year fall (analytics.analyses.dropoffs) after the load that was not one before,
  the DROPOFFS_SHOWN largest by revenue lost;
* new: orders after the load and none before it (a recruit: for a load that adds the latest
  quarter, its first order ever is in it, the Overview's "new");
* lapsed: lapsed in the latest quarter after the load (an order in the four quarters to the one
  before, none in the four to it: analytics.analyses.queries.lapsed_partners, the Overview's
  "lapsed"), and not lapsed in the latest quarter before the load;
* gone: an order in the quarter before the latest and none in the latest, after the load but not
  before (analytics.analyses.queries.gone_partners, as the Upload page's summary counts them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.analyses.dropoffs import compute_changes, significant_dropoffs
from analytics.analyses.queries import gone_partners, lapsed_partners
from analytics.formatting import money
from analytics.frames import empty_frame
from analytics.model.features import DEFAULT_HORIZON
from analytics.model.scoring import score_status, stored_scores
from analytics.periods import trailing_span
from analytics.program.regional_programs import Programs
from analytics.program.rules import ProgramRules, load_program
from analytics.review.actions import BEHIND, GOAL_QUARTERS, MISSED
from analytics.review.decisions import qualifying_tier
from analytics.review.regional import currency_rates
from analytics.review.saved_reviews import provisional_follow_up
from analytics.store.quarters import YEAR, quarter_index, quarter_label, shift_quarter
from analytics.store.store import ACTIVE_LINES, Store

__all__ = [
    "KINDS",
    "CHANGE_ROW_COLUMNS",
    "RISK_THRESHOLD",
    "DROPOFFS_SHOWN",
    "LoadChanges",
    "load_changes",
]

KINDS = ("qualifies higher", "qualifies lower", "risk rose", "behind goals", "drop-off", "new", "lapsed", "gone")
RISK_THRESHOLD = 0.5
DROPOFFS_SHOWN = 20
CHANGE_ROW_COLUMNS = [
    "partner_id", "partner_name", "change", "what_changed",
    "revenue_trailing_before", "revenue_trailing_after", "revenue_latest_quarter",
    "churn_probability_before", "churn_probability_after",
]
_DTYPES = {c: "float64" for c in CHANGE_ROW_COLUMNS if c.startswith(("revenue", "churn"))}
NONE = "none"  # qualifies for no tier

# The two sides as conditions on order_lines; `?` is the latest load's id. Constant strings only.
_AFTER = ACTIVE_LINES
_BEFORE = f"(({ACTIVE_LINES}) AND load_id <> ?) OR replaced_by = ?"


@dataclass(frozen=True)
class LoadChanges:
    """What the latest load changed: the load, the quarters each side is judged at, the rows and notes.

    `before_quarter` is None when nothing was stored before the load (the first load): then `rows` is
    empty and `notes` says so. `counts` has every kind in KINDS (zeros included).
    """

    load_id: int
    file_name: str
    loaded_at: object
    before_quarter: str | None
    after_quarter: str
    rows: pd.DataFrame
    counts: dict[str, int]
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Side:
    """One side of the comparison: the data after the latest load, or before it.

    The after side is what the derived tables hold. The before side differs from it only in the
    quarters the load touched, so only those are derived again from the lines (with the lines the load
    set aside back in); the rest is read from partner_quarter and partner_year as they are.
    """

    before: bool
    load_id: int
    load_quarters: tuple[str, ...]

    def _lines(self) -> tuple[str, list]:
        """Give the condition on order_lines of the touched quarters on this side, and its parameters."""
        where = _BEFORE if self.before else _AFTER
        return (f"({where}) AND list_contains(?, quarter)",
                [*([self.load_id, self.load_id] if self.before else []), list(self.load_quarters)])

    def latest_quarter(self, store: Store) -> str | None:
        if not self.before:
            return store.query_df("SELECT max(quarter) AS q FROM partner_quarter").iloc[0]["q"] or None
        where, params = self._lines()
        return store.query_df(
            f"""
            SELECT max(q) AS q FROM (
                SELECT max(quarter) AS q FROM partner_quarter WHERE NOT list_contains(?, quarter)
                UNION ALL SELECT max(quarter) FROM order_lines WHERE {where})
            """,
            [list(self.load_quarters), *params],
        ).iloc[0]["q"] or None

    def partners(self, store: Store) -> set:
        """Give every partner with an order on this side."""
        if not self.before:
            return set(store.query_df("SELECT DISTINCT partner_id FROM partner_quarter")["partner_id"])
        where, params = self._lines()
        return set(store.query_df(
            f"""
            SELECT DISTINCT partner_id FROM partner_quarter WHERE NOT list_contains(?, quarter)
            UNION SELECT DISTINCT partner_id FROM order_lines WHERE {where}
            """,
            [list(self.load_quarters), *params],
        )["partner_id"])

    def partner_quarters(self, store: Store, quarter: str) -> pd.DataFrame:
        """Give the partner x quarter rows of the 8 quarters to `quarter` (revenue, deals, name, tier, region)."""
        first = shift_quarter(quarter, -(2 * YEAR - 1))
        columns = "partner_id, q_index, revenue, deals, partner_name, tier, region"
        kept = store.query_df(
            f"SELECT {columns} FROM partner_quarter WHERE quarter BETWEEN ? AND ? "
            + ("AND NOT list_contains(?, quarter)" if self.before else ""),
            [first, quarter, *([list(self.load_quarters)] if self.before else [])],
        )
        if not self.before:
            return kept
        where, params = self._lines()
        # Deals as in store._refresh_partner_quarter: one customer on one day; undated rows one each.
        derived = store.query_df(
            f"""
            SELECT partner_id,
                   CAST(substr(quarter, 1, 4) AS INTEGER) * 4 + CAST(substr(quarter, 6, 1) AS INTEGER) - 1 AS q_index,
                   CAST(sum(revenue) AS DOUBLE) AS revenue,
                   count(DISTINCT (customer_id, order_date)) FILTER (WHERE order_date IS NOT NULL)
                       + count(*) FILTER (WHERE order_date IS NULL) AS deals,
                   arg_max(partner_name, row_no) FILTER (WHERE partner_name IS NOT NULL) AS partner_name,
                   arg_max(tier, row_no) FILTER (WHERE tier IS NOT NULL) AS tier,
                   arg_max(region, row_no) FILTER (WHERE region IS NOT NULL) AS region
            FROM order_lines WHERE {where} AND quarter BETWEEN ? AND ?
            GROUP BY partner_id, quarter
            """,
            [*params, first, quarter],
        )
        frames = [f for f in (kept, derived) if not f.empty]
        return (pd.concat(frames, ignore_index=True) if frames else kept).astype({"q_index": "int64"})

    def trailing(self, store: Store, quarter: str, pq: pd.DataFrame) -> pd.DataFrame:
        """Give [partner_id, revenue_trailing, deals_trailing, customers_trailing] over the 4 quarters to `quarter`."""
        last = quarter_index(quarter)
        sums = pq[pq["q_index"] > last - YEAR].groupby("partner_id")[["revenue", "deals"]].sum().rename(
            columns={"revenue": "revenue_trailing", "deals": "deals_trailing"})
        window = [shift_quarter(quarter, -k) for k in range(YEAR)]
        if not self.before or not set(window) & set(self.load_quarters):
            # The year's distinct customers are kept per window in partner_year (the same on both sides here).
            customers = store.query_df(
                "SELECT partner_id, customers AS customers_trailing FROM partner_year WHERE quarter = ?", [quarter])
        else:
            customers = store.query_df(
                f"""
                SELECT partner_id, count(DISTINCT customer_id) AS customers_trailing FROM order_lines
                WHERE (({_BEFORE}) AND quarter BETWEEN ? AND ?) GROUP BY partner_id
                """,
                [self.load_id, self.load_id, window[-1], quarter],
            )
        return sums.join(customers.set_index("partner_id"), how="outer").fillna(0).reset_index()


def _qualifying(trailing: pd.DataFrame, rules: ProgramRules) -> pd.Series:
    """Give the highest tier each partner meets (the review's own rule), indexed by partner_id."""
    if trailing.empty:
        return pd.Series(dtype=object)
    return pd.Series(qualifying_tier(trailing, rules), index=trailing["partner_id"].to_numpy())


def _tier_rows(before: pd.DataFrame, after: pd.DataFrame, recruits: set, rules: ProgramRules) -> pd.DataFrame:
    names = list(rules.tier_names) + [NONE]
    was, now = _qualifying(before, rules), _qualifying(after, rules)
    partners = sorted((set(was.index) | set(now.index)) - recruits)
    was = was.reindex(partners).fillna(NONE).to_numpy()
    now = now.reindex(partners).fillna(NONE).to_numpy()
    moved = np.flatnonzero(was != now)  # words only for those that moved: a loop over all was a third of a second
    rows = []
    for i in moved:
        before, after = was[i], now[i]
        up = names.index(after) < names.index(before)
        if up:
            words = f"now meets the {after} minimums (met {'no tier' if before == NONE else before} before)"
        elif after == NONE:
            words = f"fell below the {before} minimums and now meets no tier's"
        else:
            words = f"fell below the {before} minimums; now meets {after}"
        rows.append({"partner_id": partners[i], "change": "qualifies higher" if up else "qualifies lower",
                     "what_changed": words})
    return pd.DataFrame(rows, columns=["partner_id", "change", "what_changed"])


def _tier_rows_by_program(store: Store, sides: tuple[_Side, _Side], quarters: tuple[str, str],
                          frames: tuple[pd.DataFrame, pd.DataFrame], recruits: set,
                          programs: Programs) -> pd.DataFrame:
    """Give _tier_rows with each partner judged under its latest region's program, in its currency.

    `sides`, `quarters` and `frames` are (before, after): the sides, their latest quarters and their partner x
    quarter rows. A program in another currency converts each quarter's revenue at that quarter's rate
    (analytics.review.regional.currency_rates: MissingRates names a quarter without one).
    """
    located = pd.concat(frames).dropna(subset=["region"]).sort_values("q_index", kind="stable")
    program_of = located.groupby("partner_id")["region"].last().map(lambda r: programs.program_for(r).name)
    parts = []
    for program in programs.all:
        ids = set(program_of.index[program_of == program.name])
        if program is programs.global_program:  # partners with no region recorded are under the global program
            ids |= set(pd.concat(frames)["partner_id"]) - set(program_of.index)
        if not ids:
            continue
        trailing = []
        for side, quarter, pq in zip(sides, quarters, frames, strict=True):
            mine = pq[pq["partner_id"].isin(ids)]
            if program.currency != programs.reporting_currency and not mine.empty:
                labels = mine["q_index"].map(quarter_label)
                rates = currency_rates(store, program.currency, sorted(set(labels)), programs.reporting_currency)
                mine = mine.assign(revenue=mine["revenue"] / labels.map(rates).to_numpy())
            judged = side.trailing(store, quarter, mine)
            trailing.append(judged[judged["partner_id"].isin(ids)])
        parts.append(_tier_rows(trailing[0], trailing[1], recruits, program.rules))
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["partner_id", "change",
                                                                                    "what_changed"])


def _risk_rows(store: Store, quarter: str, horizon: int) -> tuple[pd.DataFrame, str | None]:
    """Give the partners whose churn risk rose past the threshold between the two stored runs, or a note why not."""
    previous = shift_quarter(quarter, -1)
    stored = [score_status(store, q, horizon).scored for q in (previous, quarter)]
    if not all(stored):
        return pd.DataFrame(), (
            f"Whose churn risk rose past {RISK_THRESHOLD:.0%} needs the stored scores as of both {previous} and "
            f"{quarter} ({horizon}-quarter horizon); {'only one is' if any(stored) else 'neither is'}"
            f" stored yet, so those rows are left out until they are: the app computes them in the background "
            "after a load or a rollback."
        )
    was = stored_scores(store, previous, horizon)[["partner_id", "churn_probability"]]
    now = stored_scores(store, quarter, horizon)[["partner_id", "churn_probability", "revenue_at_stake"]]
    both = now.merge(was, on="partner_id", suffixes=("_after", "_before"))
    crossed = (both["churn_probability_before"] < RISK_THRESHOLD) & (both["churn_probability_after"] >= RISK_THRESHOLD)
    rose = both[crossed]
    rose = rose.assign(
        change="risk rose",
        what_changed=[f"churn probability rose from {b:.0%} ({previous}) to {a:.0%} ({quarter}); "
                      f"{money(r)} of revenue at stake"
                      for b, a, r in zip(rose["churn_probability_before"], rose["churn_probability_after"],
                                         rose["revenue_at_stake"], strict=True)],
    )
    return rose[["partner_id", "change", "what_changed", "churn_probability_before", "churn_probability_after"]], None


def _goal_rows(store: Store, quarter: str, load_quarters: tuple[str, ...]) -> pd.DataFrame:
    """Give the last review's provisional partners behind or past their goals, once a load brings a goal quarter."""
    found = store.query_df("SELECT name, as_of FROM reviews WHERE as_of < ? ORDER BY as_of DESC, saved_at DESC LIMIT 1",
                           [quarter])
    if found.empty:
        return pd.DataFrame()
    name, as_of = found.iloc[0]["name"], found.iloc[0]["as_of"]
    goal_quarters = {shift_quarter(as_of, k) for k in range(1, GOAL_QUARTERS + 1)}
    if not goal_quarters & set(load_quarters):
        return pd.DataFrame()
    follow = provisional_follow_up(store, name)
    late = follow[follow["status"].isin([BEHIND, MISSED])]
    words = [f"{'missed' if status == MISSED else 'behind'} its revised goals of review {name}: revenue "
             f"{money(revenue)} of {money(goal)} in {loaded}" + ("" if status == MISSED else
                                                                 f" (goal {money(full)} for {quarters})")
             for status, revenue, goal, full, loaded, quarters in zip(
                 late["status"], late["revenue"], late["revenue_goal_so_far"], late["revenue_goal"],
                 late["quarters_loaded"], late["goal_quarters"], strict=True)]
    return pd.DataFrame({"partner_id": late["partner_id"], "change": "behind goals", "what_changed": words})


def _dropoff_rows(before_pq: pd.DataFrame, before_q: str, after_pq: pd.DataFrame, after_q: str) -> pd.DataFrame:
    was = significant_dropoffs(compute_changes(before_pq, quarter_index(before_q)))
    now = significant_dropoffs(compute_changes(after_pq, quarter_index(after_q)))
    new = now[~now["partner_id"].isin(set(was["partner_id"]))].head(DROPOFFS_SHOWN)
    words = [f"trailing-year revenue down {-c:.0%} ({money(b)} to {money(a)}): {money(lost)} lost"
             for c, b, a, lost in zip(new["change_t4"], new["revenue_prev_t4"], new["revenue_t4"],
                                      new["revenue_lost"], strict=True)]
    return pd.DataFrame({"partner_id": new["partner_id"], "change": "drop-off", "what_changed": words})


def load_changes(store: Store, rules: ProgramRules | None = None, horizon: int = DEFAULT_HORIZON,
                 scope: tuple[str, ...] = (), programs: Programs | None = None) -> LoadChanges | None:
    """Give what the latest load in effect changed (see the module's docstring), or None when no load is in effect.

    With a `scope` (a person's regions) only partners whose latest recorded region is one of them are listed
    and counted. With `programs` (and regional ones among them) "qualifies higher / lower" judges each partner
    under its own region's program, in its currency; `rules` is then the global program's.
    """
    latest = store.query_df(
        "SELECT load_id, file_name, loaded_at FROM loads WHERE status = 'active' ORDER BY load_id DESC LIMIT 1")
    if latest.empty:
        return None
    load_id, file_name, loaded_at = latest.iloc[0][["load_id", "file_name", "loaded_at"]]
    load_id = int(load_id)
    quarters = store.query_df("SELECT quarters FROM loads WHERE load_id = ?", [load_id]).iloc[0]["quarters"]
    before, after = _Side(True, load_id, tuple(quarters)), _Side(False, load_id, tuple(quarters))
    after_q, before_q = after.latest_quarter(store), before.latest_quarter(store)
    counts = dict.fromkeys(KINDS, 0)
    if before_q is None or after_q is None:
        return LoadChanges(load_id, file_name, loaded_at, None, after_q or "", empty_frame(CHANGE_ROW_COLUMNS, _DTYPES),
                           counts, ("Nothing was stored before this load, so there is nothing to compare it with.",))
    rules = rules or load_program()
    before_pq, after_pq = before.partner_quarters(store, before_q), after.partner_quarters(store, after_q)
    before_t, after_t = before.trailing(store, before_q, before_pq), after.trailing(store, after_q, after_pq)
    recruits = after.partners(store) - before.partners(store)
    first_quarters = store.query_df(
        "SELECT partner_id, min(quarter) AS first FROM partner_quarter WHERE list_contains(?, partner_id) "
        "GROUP BY partner_id", [sorted(recruits)]).set_index("partner_id")["first"]
    recruit_rows = pd.DataFrame({
        "partner_id": sorted(recruits), "change": "new",
        "what_changed": [f"new partner: first order ever in {first_quarters.get(p, after_q)}"
                         for p in sorted(recruits)],
    })
    lapsed = sorted(lapsed_partners(after_pq, after_q) - lapsed_partners(before_pq, before_q))
    lapsed_rows = pd.DataFrame({
        "partner_id": lapsed, "change": "lapsed",
        "what_changed": f"last order in {shift_quarter(after_q, -YEAR)}: none in the four quarters "
                        f"{trailing_span(after_q)}",
    })
    gone = sorted(gone_partners(after_pq, after_q) - gone_partners(before_pq, before_q))
    gone_rows = pd.DataFrame({
        "partner_id": gone, "change": "gone",
        "what_changed": f"ordered in {shift_quarter(after_q, -1)}, no order in {after_q}",
    })
    risk, risk_note = _risk_rows(store, after_q, horizon)
    if programs is not None and programs.regional:
        tier_rows = _tier_rows_by_program(store, (before, after), (before_q, after_q), (before_pq, after_pq), recruits,
                                          programs.with_global_rules(rules))
    else:
        tier_rows = _tier_rows(before_t, after_t, recruits, rules)
    parts = [tier_rows, risk, _goal_rows(store, after_q, tuple(quarters)),
             _dropoff_rows(before_pq, before_q, after_pq, after_q), recruit_rows, lapsed_rows, gone_rows]
    rows = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) \
        else pd.DataFrame(columns=["partner_id", "change", "what_changed"])
    rows = _with_figures(rows, before_t, after_t, before_pq, after_pq, after_q)
    if scope:
        located = pd.concat([before_pq, after_pq]).dropna(subset=["region"])
        latest_region = located.sort_values("q_index", kind="stable").groupby("partner_id")["region"].last()
        rows = rows[rows["partner_id"].map(latest_region).isin(scope)].reset_index(drop=True)
    for kind, n in rows["change"].value_counts().items():
        counts[kind] = int(n)
    notes = (risk_note,) if risk_note else ()
    return LoadChanges(load_id, file_name, loaded_at, before_q, after_q, rows, counts, notes)


def _with_figures(rows: pd.DataFrame, before_t: pd.DataFrame, after_t: pd.DataFrame, before_pq: pd.DataFrame,
                  after_pq: pd.DataFrame, after_q: str) -> pd.DataFrame:
    """Give the rows with names and figures, in KINDS order then by trailing revenue after, largest first."""
    if rows.empty:
        return empty_frame(CHANGE_ROW_COLUMNS, _DTYPES)
    out = rows.copy()
    for column in ("churn_probability_before", "churn_probability_after"):
        if column not in out:
            out[column] = np.nan
    trailing = lambda t: t.set_index("partner_id")["revenue_trailing"]  # noqa: E731
    out["revenue_trailing_before"] = out["partner_id"].map(trailing(before_t)).fillna(0.0)
    out["revenue_trailing_after"] = out["partner_id"].map(trailing(after_t)).fillna(0.0)
    latest = after_pq[after_pq["q_index"] == quarter_index(after_q)].set_index("partner_id")["revenue"]
    out["revenue_latest_quarter"] = out["partner_id"].map(latest).fillna(0.0)
    # The latest recorded name after the load, else before it (a partner whose lines a replace took away).
    names = pd.concat([before_pq, after_pq]).dropna(subset=["partner_name"]).sort_values("q_index", kind="stable") \
        .groupby("partner_id")["partner_name"].last()
    out["partner_name"] = out["partner_id"].map(names)
    out["_kind"] = out["change"].map(KINDS.index)
    # Risk and drop-offs keep their own order (riskiest, largest loss first); the rest go by revenue now.
    keep_order = out["change"].isin(["risk rose", "drop-off"])
    out["_order"] = np.where(keep_order, np.arange(len(out)), -out["revenue_trailing_after"])
    out = out.sort_values(["_kind", "_order", "partner_id"])
    return out.reset_index(drop=True)[CHANGE_ROW_COLUMNS].astype(_DTYPES)
