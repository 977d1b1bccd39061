"""The review's shared words: its actions, the statuses of revised goals, the quarters it looks at."""

from __future__ import annotations

__all__ = ["ACTIONS", "PROVISIONAL", "REVIEW_HORIZON", "NOT_YET_KNOWN", "ON_TRACK", "BEHIND", "MET", "MISSED"]


ACTIONS = ("promote", "retain", "demote", "provisional continuation", "terminate")
PROVISIONAL = "provisional continuation"
REVIEW_HORIZON = 4  # the review looks at the trailing year and the model's next four quarters
GOAL_QUARTERS = 2   # revised goals cover the two quarters after the review
NOT_YET_KNOWN = "not yet known"
ON_TRACK, BEHIND, MET, MISSED = "on track", "behind", "met", "missed"
