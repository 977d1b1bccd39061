"""Where the project is on disk: the folder that holds data/ (the database, program rules, roles, products).

At the very bottom of the engine, so that access and the program rules find their files without importing
the store.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # this file is analytics/paths.py
