"""The quarter in messages: the few statements that matter this quarter, in words, ranked by size.

Each message is made from figures the engine already gives (partners per tier a year apart and the
recorded tier moves between them, the revenue bridge, the significant drop-offs, the recruits'
cohorts, the review's recommendations under the program) and quotes those figures unchanged, so
the Overview, the board pack and `brief` say what the pages that prove them say.

What counts as noise (no message is made from it):

* a tier's active partners changed by fewer than TIER_NOISE_PARTNERS partners or by less than
  TIER_NOISE_SHARE of the tier a year before (a tier of 400 moving by 12 is the usual churn of
  partners who deal once or twice a year, not news);
* the channel's trailing-year revenue changed by less than REVENUE_NOISE_SHARE of the year before;
* the revenue lost by the largest drop-offs is under DROPOFF_NOISE_SHARE of the year before's revenue;
* a cohort of recruits has fewer than COHORT_MIN_RECRUITS partners (a share of a handful means little).

The review's recommended terminations are a count against the program's target, not a change: a
message whenever there is at least one and the churn scores it rests on are stored.

Ranking: by size, the revenue (USD) the message is about (MESSAGE_SIZES says which per kind), largest
first; ties in the order of KINDS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from analytics.analyses.dropoffs import partner_changes, revenue_bridge, significant_dropoffs
from analytics.analyses.queries import ACTIVE_WINDOW, filter_options, partners_by_tier
from analytics.analyses.recruits import cohort_revenue, cohort_table, recruit_history
from analytics.analyses.tiers import tier_moves
from analytics.filters import ChannelFilter
from analytics.formatting import money, pct
from analytics.frames import require_columns
from analytics.model.scoring import score_status
from analytics.periods import trailing_span
from analytics.program.regional_programs import Programs
from analytics.program.rules import ProgramRules
from analytics.review.actions import REVIEW_HORIZON
from analytics.review.decisions import decision_counts, recommendations, review_decisions
from analytics.review.regional import MissingRates, regional_recommendations
from analytics.store.quarters import quarter_index, shift_quarter
from analytics.store.schema import ordered_tiers
from analytics.store.store import Store

__all__ = [
    "KINDS",
    "MESSAGE_SIZES",
    "NOISE_RULES",
    "MESSAGES_SHOWN",
    "TIER_NOISE_PARTNERS",
    "TIER_NOISE_SHARE",
    "REVENUE_NOISE_SHARE",
    "DROPOFF_NOISE_SHARE",
    "DROPOFFS_QUOTED",
    "COHORT_MIN_RECRUITS",
    "COHORT_AGE",
    "Message",
    "QuarterMessages",
    "tier_change",
    "tier_change_table",
    "tier_messages",
    "revenue_message",
    "dropoff_message",
    "recruit_message",
    "review_message",
    "ranked",
    "quarter_messages",
]

TIER_NOISE_PARTNERS = 10   # a tier's change under this many partners is noise...
TIER_NOISE_SHARE = 0.05    # ...and so is one under 5 % of the tier a year before
REVENUE_NOISE_SHARE = 0.01  # the channel's trailing-year revenue moving under 1 % is flat
DROPOFF_NOISE_SHARE = 0.005  # the largest drop-offs losing under 0.5 % of the year's revenue is the usual churn
DROPOFFS_QUOTED = 20       # the drop-offs a message adds up: the ones a channel chief can call this quarter
DROPOFF_FALL = 0.5         # a drop-off: trailing-year revenue down by half or more (the Revenue drop-offs page's)
COHORT_MIN_RECRUITS = 10   # fewer recruits than this in a cohort: no share is quoted
COHORT_AGE = 2             # the cohort quoted is the one recruited this many quarters before the quarter
MESSAGES_SHOWN = 5         # the few that matter: more and an executive reads none
FLOWS_NAMED = 3            # where a tier's leavers went (or joiners came from): the three largest

KINDS = ("revenue", "tier", "dropoffs", "review", "recruits")
MESSAGE_SIZES = {
    "revenue": "the change in the channel's trailing-year revenue",
    "tier": "the trailing-year revenue of the partners who left a shrinking tier (or joined a growing one)",
    "dropoffs": "the revenue the largest drop-offs lost",
    "review": "the trailing-year revenue of the partners recommended for termination",
    "recruits": "the cohort's revenue since it was recruited",
}
NOISE_RULES = (
    f"a tier's active partners changing by fewer than {TIER_NOISE_PARTNERS} or by less than "
    f"{TIER_NOISE_SHARE * 100:.0f} % of the tier a year before; the channel's trailing-year revenue changing by less "
    f"than {REVENUE_NOISE_SHARE * 100:.0f} %; the largest drop-offs losing less than {DROPOFF_NOISE_SHARE * 100:.1f} % "
    f"of the year before's revenue; a cohort of fewer than {COHORT_MIN_RECRUITS} recruits"
)
_MINUS = "\u2212"  # a real minus sign: "−14" reads as a fall where "-14" reads as a dash


@dataclass(frozen=True)
class Message:
    """One statement about the quarter: its words, its size for ranking, the page that proves it, its figures."""

    kind: str                   # one of KINDS
    text: str                   # the statement in full, plain text
    title: str                  # the statement short enough for a slide's title
    size: float                 # USD the message is about (MESSAGE_SIZES), for ranking
    page: str                   # the page script that proves it, e.g. "views/pages/tiers.py"
    page_label: str             # where on it, in words: "Tiers → Tier moves"
    figures: Mapping[str, float] = field(default_factory=dict)  # every number the text quotes, by name
    subject: str = ""           # what it is about within its kind (the tier), "" for the channel


@dataclass(frozen=True)
class QuarterMessages:
    """The messages of a quarter, largest first, the changes left out as noise (in words), and what they rest on.

    The frames they were made from come along (None when not computed), so that the board pack's slides
    show the very figures its messages quote, without computing them twice.
    """

    quarter: str
    messages: tuple[Message, ...]
    within_noise: tuple[str, ...]
    not_available: tuple[str, ...] = ()  # messages that could not be made, and why (no scores, too few quarters)
    tiers: pd.DataFrame | None = None    # tier_change, a year before against now
    moves: pd.DataFrame | None = None    # tier_moves from a year before
    changes: pd.DataFrame | None = None  # partner_changes of the trailing year
    cohorts: pd.DataFrame | None = None  # cohort_table


def _signed_count(n: float) -> str:
    n = int(n)
    return f"{_MINUS}{abs(n):,}" if n < 0 else f"+{n:,}"


def _signed_money(amount: float) -> str:
    return (_MINUS if amount < 0 else "+") + money(abs(amount))


def _signed_pct(share: float) -> str:
    return (_MINUS if share < 0 else "+") + pct(abs(share), 1)


# -- tiers ------------------------------------------------------------------------------------------
TIER_CHANGE_COLUMNS = ["tier", "partners_before", "partners", "net_change", "revenue_before", "revenue"]


def tier_change(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Give per tier the active partners a year before and now, the net change, and their trailing-year revenue.

    `now` and `before` are partners_by_tier frames [tier, partners, revenue_trailing]; a tier missing
    from one has 0 partners there. Highest tier first.
    """
    for frame, what in ((now, "now"), (before, "a year before")):
        require_columns(frame, ["tier", "partners", "revenue_trailing"], f"the partners per tier {what}")
    tiers = ordered_tiers(set(now["tier"]) | set(before["tier"]))
    n, b = now.set_index("tier"), before.set_index("tier")
    out = pd.DataFrame({
        "tier": tiers,
        "partners_before": b["partners"].reindex(tiers, fill_value=0).astype("int64").to_numpy(),
        "partners": n["partners"].reindex(tiers, fill_value=0).astype("int64").to_numpy(),
        "revenue_before": b["revenue_trailing"].reindex(tiers, fill_value=0.0).astype("float64").to_numpy(),
        "revenue": n["revenue_trailing"].reindex(tiers, fill_value=0.0).astype("float64").to_numpy(),
    })
    out["net_change"] = out["partners"] - out["partners_before"]
    return out[TIER_CHANGE_COLUMNS]


def tier_change_table(store: Store, flt: ChannelFilter, quarter: str, programs: Programs | None = None) -> pd.DataFrame:
    """Give tier_change for `quarter` against the same quarter a year before (the Overview's year-ago comparison).

    With `programs`, a regional program's tiers count at their global level (one ladder, see partners_by_tier).
    """
    return tier_change(partners_by_tier(store, flt, quarter, programs),
                       partners_by_tier(store, flt, shift_quarter(quarter, -ACTIVE_WINDOW), programs))


def _is_tier_noise(before: int, change: int) -> bool:
    return abs(change) < TIER_NOISE_PARTNERS or abs(change) < TIER_NOISE_SHARE * before


def tier_messages(change: pd.DataFrame, moves: pd.DataFrame, from_quarter: str,
                  to_quarter: str) -> tuple[list[Message], list[str]]:
    """Give a message per tier whose active partners changed beyond the noise, and the changes within it in words.

    `change` is tier_change; `moves` is tier_moves between the two quarters [partner_id, from_tier,
    to_tier, revenue_from, revenue_to] (no tier on a side: lapsed or new). The message names how
    many partners left the tier and joined it, and where most of the leavers went (or joiners came from).
    """
    require_columns(change, TIER_CHANGE_COLUMNS, "the tier change")
    require_columns(moves, ["from_tier", "to_tier", "revenue_from", "revenue_to"], "the tier moves")
    messages, quiet = [], []
    for row in change.itertuples():
        if _is_tier_noise(row.partners_before, row.net_change):
            quiet.append(f"{row.tier} {row.partners_before:,} → {row.partners:,} ({_signed_count(row.net_change)})")
            continue
        left = moves[(moves["from_tier"] == row.tier) & (moves["to_tier"] != row.tier)]
        joined = moves[(moves["to_tier"] == row.tier) & (moves["from_tier"] != row.tier)]
        fell = row.net_change < 0
        # The flow that explains the change (leavers of a shrinking tier, joiners of a growing one), by where
        # they went or came from, largest first and ties by name, so the words never depend on row order.
        flow, side = (left, "to_tier") if fell else (joined, "from_tier")
        places = flow[side].where(flow[side].notna(), "lapsed" if fell else "new").value_counts()
        top = sorted(places.items(), key=lambda kv: (-kv[1], str(kv[0])))[:FLOWS_NAMED]
        named = ", ".join(f"{n:,} {p}" if p in ("lapsed", "new") else f"{n:,} {'to' if fell else 'from'} {p}"
                          for p, n in top)
        size = float(left["revenue_from"].sum()) if fell else float(joined["revenue_to"].sum())
        text = (f"{row.tier} partners {'fell' if fell else 'rose'} from {row.partners_before:,} to {row.partners:,} "
                f"({_signed_count(row.net_change)}) in the year to {to_quarter}: "
                + (f"{len(left):,} left ({named}), {len(joined):,} joined" if fell
                   else f"{len(joined):,} joined ({named}), {len(left):,} left"))
        title = (f"{row.tier} partners {'fell' if fell else 'rose'} from {row.partners_before:,} to "
                 f"{row.partners:,} ({_signed_count(row.net_change)}) in the year to {to_quarter}")
        messages.append(Message(
            kind="tier", subject=row.tier, text=text, title=title, size=abs(size), page="views/pages/tiers.py",
            page_label="Tiers → Tier moves",
            figures={"partners_before": int(row.partners_before), "partners": int(row.partners),
                     "net_change": int(row.net_change), "left": len(left), "joined": len(joined),
                     **{p if p in ("lapsed", "new") else f"{'to' if fell else 'from'} {p}": int(n) for p, n in top}},
        ))
    return messages, quiet


# -- revenue and drop-offs --------------------------------------------------------------------------
def revenue_message(bridge: pd.DataFrame, period: str, period_before: str) -> tuple[Message | None, str | None]:
    """Give the message of the channel's trailing-year revenue change (revenue_bridge), or None and why it is noise."""
    require_columns(bridge, ["component", "amount"], "the revenue bridge")
    amounts = dict(zip(bridge["component"], bridge["amount"], strict=True))
    before, now = float(bridge["amount"].iloc[0]), float(bridge["amount"].iloc[-1])
    change = now - before
    share = change / before if before > 0 else math.nan
    if before <= 0 or abs(share) < REVENUE_NOISE_SHARE:
        return None, f"revenue {money(before)} → {money(now)}" + (f" ({_signed_pct(share)})" if before > 0 else "")
    new, lapsed = float(amounts["New partners"]), float(amounts["Lapsed"])
    growing, declining = float(amounts["Growing"]), float(amounts["Declining"])
    text = (f"Revenue {'rose' if change > 0 else 'fell'} {pct(abs(share), 1)} to {money(now)} over {period} "
            f"({_signed_money(change)} on {period_before}): growing partners {_signed_money(growing)}, "
            f"declining {_signed_money(declining)}, new {_signed_money(new)}, lapsed {_signed_money(lapsed)}")
    title = (f"Revenue {'rose' if change > 0 else 'fell'} {pct(abs(share), 1)} to {money(now)} over {period} "
             f"({_signed_money(change)})")
    return Message(
        kind="revenue", text=text, title=title, size=abs(change), page="views/pages/dropoffs.py",
        page_label="Revenue drop-offs → Revenue bridge",
        figures={"revenue_before": before, "revenue": now, "change": change, "change_share": share,
                 "growing": growing, "declining": declining, "new_partners": new, "lapsed": lapsed},
    ), None


def dropoff_message(changes: pd.DataFrame, period: str, period_before: str) -> tuple[Message | None, str | None]:
    """Give the message of the revenue lost by the largest drop-offs (partner_changes), or None and why not."""
    fallen = significant_dropoffs(changes, DROPOFF_FALL)
    before = math.fsum(changes["revenue_prev_t4"])
    top = fallen.head(DROPOFFS_QUOTED)
    lost = math.fsum(top["revenue_lost"])
    if fallen.empty or before <= 0 or lost < DROPOFF_NOISE_SHARE * before:
        return None, f"the largest drop-offs lost {money(lost)}"
    share = lost / before
    largest = "largest drop-off" if len(top) == 1 else f"{len(top):,} largest drop-offs"
    text = (f"Revenue lost by the {largest} (partners down {pct(DROPOFF_FALL)} or more, "
            f"{len(fallen):,} in all): {money(lost)} over {period}, {pct(share, 1)} of the revenue of {period_before}")
    title = f"The {largest} lost {money(lost)}, {pct(share, 1)} of the year before's revenue"
    return Message(
        kind="dropoffs", text=text, title=title, size=lost, page="views/pages/dropoffs.py",
        page_label="Revenue drop-offs → Partners down by half or more",
        figures={"partners": len(top), "dropoffs": len(fallen), "revenue_lost": lost, "revenue_before": before,
                 "share_of_revenue_before": share},
    ), None


# -- recruits and the review ------------------------------------------------------------------------
def recruit_message(cohorts: pd.DataFrame, revenue: pd.DataFrame, quarter: str) -> tuple[Message | None, str | None]:
    """Give the message of the cohort recruited COHORT_AGE quarters before `quarter`: how many still order.

    `cohorts` is cohort_table, `revenue` cohort_revenue. The share is active_after_2: recruits with an
    order in their second quarter after joining. Compared with the cohort a year earlier when it is there.
    """
    require_columns(cohorts, ["cohort", "recruited", f"active_after_{COHORT_AGE}"], "the cohorts")
    cohort = shift_quarter(quarter, -COHORT_AGE)
    rows = cohorts.set_index("cohort")
    column = f"active_after_{COHORT_AGE}"
    if cohort not in rows.index or pd.isna(rows.at[cohort, column]):
        return None, None
    recruited, active = int(rows.at[cohort, "recruited"]), float(rows.at[cohort, column])
    if recruited < COHORT_MIN_RECRUITS:
        return None, f"recruits of {cohort}: {recruited:,}"
    year_earlier = shift_quarter(cohort, -ACTIVE_WINDOW)
    figures = {"recruited": recruited, "still_ordering": active}
    text = (f"{recruited:,} recruits in {cohort}: {pct(active)} still ordering two quarters on, in {quarter}")
    if year_earlier in rows.index and not pd.isna(rows.at[year_earlier, column]) \
            and rows.at[year_earlier, "recruited"] >= COHORT_MIN_RECRUITS:
        earlier = float(rows.at[year_earlier, column])
        figures |= {"still_ordering_year_earlier": earlier}
        text += f" (the {year_earlier} cohort: {pct(earlier)})"
    mine = revenue[revenue["cohort"] == cohort]
    title = f"{pct(active)} of the {recruited:,} recruits of {cohort} still order two quarters on"
    return Message(kind="recruits", text=text, title=title, size=float(mine["revenue"].sum()),
                   page="views/pages/recruits.py", page_label="Recruits and ramp → Cohorts", figures=figures), None


def review_message(counts: pd.DataFrame, partners: int, target: float, as_of: str) -> Message | None:
    """Give the message of the terminations the review recommends as of `as_of` against the program's target.

    `counts` is decision_counts of the review's decisions with no change by the chief (the rules and
    model's recommendations); `partners` the partners reviewed; `target` the program's review_out_share.
    """
    require_columns(counts, ["action", "recommended", "revenue_trailing"], "the review's counts")
    row = counts.set_index("action").loc["terminate"]
    terminate = int(row["recommended"])
    if terminate == 0 or partners == 0:
        return None
    share = terminate / partners
    text = (f"{terminate:,} partners recommended for termination in the review as of {as_of} "
            f"({pct(share, 1)} of {partners:,} against a {pct(target)} target), with "
            f"{money(row['revenue_trailing'])} of revenue over the year")
    title = (f"{terminate:,} partners recommended for termination: {pct(share, 1)} against a "
             f"{pct(target)} target")
    return Message(kind="review", text=text, title=title, size=float(row["revenue_trailing"]),
                   page="views/pages/review.py", page_label="Annual review",
                   figures={"terminate": terminate, "partners": partners, "share": share, "target": target,
                            "revenue_trailing": float(row["revenue_trailing"])})


def ranked(messages: list[Message], at_most: int = MESSAGES_SHOWN) -> tuple[Message, ...]:
    """Give the `at_most` largest messages, largest size first (ties in the order of KINDS, then subject)."""
    order = sorted(messages, key=lambda m: (-m.size, KINDS.index(m.kind), m.subject))
    return tuple(order[:at_most])


# -- the quarter ------------------------------------------------------------------------------------
def quarter_messages(store: Store, flt: ChannelFilter, rules: ProgramRules,
                     programs: Programs | None = None) -> QuarterMessages | None:
    """Give the messages of the filter's quarter (default: the latest) for its selection, None without data.

    Everything is compared with a year before: partners per tier and their moves (Tiers), the
    trailing year's revenue and drop-offs against the four quarters before (Revenue drop-offs), the
    cohort recruited two quarters before (Recruits), and the review as of the quarter under `rules`
    with the chief's changes left out (Annual review; only when churn scores are stored for it).
    """
    quarters = filter_options(store).quarters
    if not quarters:
        return None
    quarter = flt.quarter or quarters[-1]
    year_before = shift_quarter(quarter, -ACTIVE_WINDOW)
    messages: list[Message] = []
    quiet: list[str] = []
    missing: list[str] = []
    tiers = moves = changes = None
    # Both years compared must be loaded whole: a year before half-loaded is a growth that never was.
    if shift_quarter(quarter, -2 * ACTIVE_WINDOW + 1) < quarters[0]:
        missing.append(f"No comparison with a year before: it takes the eight quarters to {quarter} and the data "
                       f"start in {quarters[0]}.")
    else:
        moves = tier_moves(store, flt, year_before, quarter)
        tiers = tier_change_table(store, flt, quarter, programs)
        found, calm = tier_messages(tiers, moves, year_before, quarter)
        messages += found
        quiet += calm
        changes = partner_changes(store, flt, quarter)
        period = trailing_span(quarter, ACTIVE_WINDOW)
        period_before = trailing_span(year_before, ACTIVE_WINDOW)
        for message, why in (revenue_message(revenue_bridge(changes), period, period_before),
                             dropoff_message(changes, period, period_before)):
            messages += [message] if message is not None else []
            quiet += [why] if why is not None else []
    first = quarter_index(quarters[0])
    history = recruit_history(store, flt, quarter)
    cohorts = cohort_table(history, first, quarter_index(quarter), rules)
    message, why = recruit_message(cohorts, cohort_revenue(history, first, quarter_index(quarter)), quarter)
    messages += [message] if message is not None else []
    quiet += [why] if why is not None else []
    if score_status(store, quarter, REVIEW_HORIZON).scored:
        # Each partner under its own program (`programs`), as the Annual review judges it, so both say one count.
        try:
            recommended = (recommendations(store, quarter, rules) if programs is None
                           else regional_recommendations(store, quarter, programs, None, flt.scope))
        except MissingRates as exc:
            missing.append(f"No review message: {exc}")
        else:
            decisions = review_decisions(recommended, flt, {})
            message = review_message(decision_counts(decisions), len(decisions), rules.review_out_share, quarter)
            messages += [message] if message is not None else []
    else:
        missing.append(f"No review message: churn scores as of {quarter} are not computed yet.")
    return QuarterMessages(quarter, ranked(messages), tuple(quiet), tuple(missing), tiers, moves, changes, cohorts)

