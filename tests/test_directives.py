"""Streamlit's directives (:material/...:, :red[...], emoji codes) in data or names are shown as text."""

from __future__ import annotations

from analytics.formatting import markdown_literal

NAME = ":material/shield: :red[Admin] :smile:"


def test_directives_are_escaped_so_markdown_shows_them_as_written():
    assert markdown_literal(NAME) == r"\:material/shield\: \:red\[Admin\] \:smile\:"
