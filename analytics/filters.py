"""The sidebar's selection (period, tier, region, country, distributor, segment) and a session's scope, as SQL
every query shares."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from analytics.store.quarters import latest_quarter

if TYPE_CHECKING:
    from analytics.store.store import Store

__all__ = ["ChannelFilter", "SEGMENT_REVENUE_COLUMNS", "as_of_quarter"]

# partner_quarter keeps revenue per customer segment; a segment filter sums only the chosen ones.
SEGMENT_REVENUE_COLUMNS = {
    "SMB": "revenue_smb",
    "Mid-market": "revenue_mid_market",
    "Enterprise": "revenue_enterprise",
}


@dataclass(frozen=True)
class ChannelFilter:
    """A selection of the channel. Empty tuples mean "all"; `quarter` None means the latest quarter.

    The as-of quarter is resolved once, where the selection is made (the sidebar picks a loaded quarter,
    the command line calls `resolved`), and carried: the engine reads `quarter` as given.

    tiers, regions, countries and distributors select partners by the attribute recorded for them in
    each quarter (partner_quarter's own columns); segments count only revenue from customers in those
    segments. `scope` is the regions a signed-in person may see (analytics.access.Actor.regions; empty:
    all): it limits every query like `regions` does, but it is set from the person's role, never from
    the sidebar, and a selection of regions outside it selects nothing.
    """

    quarter: str | None = None
    tiers: tuple[str, ...] = field(default_factory=tuple)
    regions: tuple[str, ...] = field(default_factory=tuple)
    distributors: tuple[str, ...] = field(default_factory=tuple)
    segments: tuple[str, ...] = field(default_factory=tuple)
    countries: tuple[str, ...] = field(default_factory=tuple)
    scope: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        unknown = [s for s in self.segments if s not in SEGMENT_REVENUE_COLUMNS]
        if unknown:
            raise ValueError(f"Unknown segment(s) {unknown}; expected {', '.join(SEGMENT_REVENUE_COLUMNS)}")

    @property
    def is_everything(self) -> bool:
        """Tell whether no tier, region, distributor or segment is selected."""
        return not (self.tiers or self.regions or self.distributors or self.segments or self.countries or self.scope)

    def resolved(self, store: Store) -> ChannelFilter:
        """Give this selection with its as-of quarter named: the latest quarter with data when none was chosen
        (still None in an empty store). A selection with a quarter comes back as it is, without a query."""
        return self if self.quarter else replace(self, quarter=latest_quarter(store))

    def partners_only(self) -> ChannelFilter:
        """Give this selection without its segments: the partners it selects, all their revenue (scope kept)."""
        return replace(self, segments=())

    def scoped(self, scope: tuple[str, ...] | list[str]) -> ChannelFilter:
        """Give this selection limited to the regions `scope` (a person's), which no later choice can widen."""
        return replace(self, scope=tuple(scope))

    def _partner_columns(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return (("tier", self.tiers), ("region", self.regions), ("country", self.countries),
                ("distributor", self.distributors), ("region", self.scope))

    def partner_quarter_where(self, alias: str = "") -> tuple[str, list]:
        """Give a WHERE condition over partner_quarter rows and its parameters (values never in SQL)."""
        prefix = f"{alias}." if alias else ""
        parts, params = ["TRUE"], []
        for column, values in self._partner_columns():
            if values:
                parts.append(f"list_contains(?, {prefix}{column})")
                params.append(list(values))
        return " AND ".join(parts), params

    def revenue_expr(self, alias: str = "") -> str:
        """Give the partner_quarter revenue expression for the chosen segments (all revenue if none)."""
        prefix = f"{alias}." if alias else ""
        if not self.segments:
            return f"{prefix}revenue"
        return " + ".join(f"{prefix}{SEGMENT_REVENUE_COLUMNS[s]}" for s in self.segments)

    def order_lines_where(self, alias: str = "") -> tuple[str, list]:
        """Give a WHERE condition over order_lines rows (segments; partner attributes as recorded per line)."""
        prefix = f"{alias}." if alias else ""
        parts, params = [f"{prefix}replaced_by IS NULL"], []
        for column, values in (*self._partner_columns(), ("customer_segment", self.segments)):
            if values:
                parts.append(f"list_contains(?, {prefix}{column})")
                params.append(list(values))
        return " AND ".join(parts), params

    def describe(self) -> str:
        """Give the selection in words for a caption ("Gold, Silver · EMEA")."""
        chosen = [", ".join(v) for v in (self.tiers, self.regions, self.countries, self.distributors, self.segments)
                  if v]
        if self.scope:
            return " · ".join(chosen) if chosen else f"all of {', '.join(self.scope)}"
        return " · ".join(chosen) if chosen else "whole channel"

    def allows_region(self, region: str | None) -> bool:
        """Tell whether a partner recorded in `region` is within the scope (always, for an unscoped session)."""
        return not self.scope or region in self.scope


def as_of_quarter(store: Store, flt: ChannelFilter, quarter: str | None = None) -> str | None:
    """Give the quarter an analysis is as of: `quarter` when given, else the selection's (ChannelFilter.resolved).

    Pages and the command line pass a resolved selection, so this asks the store nothing; a caller that did
    not resolve (a notebook, a test with ChannelFilter()) gets the latest quarter, as the sidebar would.
    """
    return quarter or flt.resolved(store).quarter
