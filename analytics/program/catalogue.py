"""The product catalogue: which products are enterprise-grade (data/products.toml plus their names)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from analytics.paths import PROJECT_ROOT
from analytics.store.store import ACTIVE_LINES, Store

__all__ = ["CATALOGUE_PATH", "enterprise_grade_listed", "enterprise_products"]

CATALOGUE_PATH = PROJECT_ROOT / "data" / "products.toml"


def enterprise_grade_listed(path: str | Path = CATALOGUE_PATH) -> list[str]:
    """Give the products listed as enterprise-grade in the catalogue file (none when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open("rb") as handle:
        try:
            catalogue = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from exc
    listed = catalogue.get("enterprise_grade", [])
    if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
        raise ValueError(f"{path}: enterprise_grade must be a list of product names, like [\"Enterprise Platform\"]")
    return listed


def enterprise_products(store: Store, path: str | Path = CATALOGUE_PATH) -> list[str]:
    """Give the enterprise-grade products, sorted: those listed in `path` plus every stored one named "*enterprise*".

    Real extracts name their enterprise products that way, so a new one counts without editing the file.
    """
    named = store.query_df(
        f"SELECT DISTINCT product FROM order_lines WHERE {ACTIVE_LINES} AND product ILIKE '%enterprise%'"
    )["product"]
    return sorted(set(enterprise_grade_listed(path)) | set(named))
