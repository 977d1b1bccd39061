"""Who the Annual review lists for provisional continuation, and the review's tallies that the page states.

Rules of the review that the page used to write itself: the review's decisions come from
analytics.review.decisions.review_decisions; these functions read that frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.frames import require_columns
from analytics.review.decisions import PROVISIONAL

__all__ = ["provisional_candidates", "ReviewTally", "review_tally"]


def provisional_candidates(decisions: pd.DataFrame) -> pd.DataFrame:
    """Give the partners for provisional continuation: recommended for it or granted it, likeliest to turn around first.

    A candidate is a partner the rules and model recommend for provisional continuation (an underperformer
    with a turnaround probability of at least the program's threshold) or that the chief put on it
    (`grant`). Ordered by turnaround probability, then revenue over the review year, both falling; ties
    keep the decisions' order.
    """
    require_columns(decisions, ["grant", "recommendation", "turnaround_probability", "revenue_trailing"],
                    "the review's decisions")
    picked = decisions[decisions["grant"].astype(bool) | (decisions["recommendation"] == PROVISIONAL)]
    return picked.sort_values(["turnaround_probability", "revenue_trailing"], ascending=False, kind="stable")


@dataclass(frozen=True)
class ReviewTally:
    """The review's counts the page states: partners, dormant ones, terminations worth a second look, changes."""

    partners: int
    dormant: int        # an order in the look-back years, none in the review year
    second_looks: int   # recommended terminations marked as worth a second look
    changed: int        # partners whose decision differs from the recommendation

    @property
    def active(self) -> int:
        """Give the partners with an order in the review year."""
        return self.partners - self.dormant


def review_tally(decisions: pd.DataFrame) -> ReviewTally:
    """Give the counts of the review's decisions (review_decisions' frame)."""
    require_columns(decisions, ["dormant", "second_look", "decision", "recommendation"], "the review's decisions")
    return ReviewTally(
        partners=len(decisions),
        dormant=int(decisions["dormant"].astype(bool).sum()),
        second_looks=int((decisions["second_look"] != "").sum()),
        changed=int((decisions["decision"] != decisions["recommendation"]).sum()),
    )
