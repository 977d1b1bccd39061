"""Text from files made safe for Markdown: every special character escaped, bare addresses kept from linking."""

from __future__ import annotations

import re

import pytest

from analytics.formatting import WORD_JOINER, markdown_literal


@pytest.mark.parametrize(
    "text",
    ["**bold** _it_ $x$", ":red[alert]", "[site](http://example.invalid/a)", "![img](https://example.invalid/a.png)",
     "<img src='http://example.invalid/b.png'>", "see www.example.invalid", "orders@example.invalid", "1. first"],
    ids=["emphasis-maths", "colour", "link", "image", "html-image", "www", "e-mail", "list"],
)
def test_markdown_literal_escapes_and_breaks_addresses(text):
    shown = markdown_literal(text)
    # What a reader sees: the escapes resolved (and the invisible joiner) give the text back exactly.
    assert re.sub(r"\\(.)", r"\1", shown).replace(WORD_JOINER, "").replace("&lt;", "<") == text
    # Nothing that Markdown would read as a link, an address to link or raw HTML is left.
    assert not re.search(r"(?i)://(?!\u2060)|www\\?\.|[^\u2060]@|<", shown), shown
