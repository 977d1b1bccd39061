"""Text from files made safe for Markdown: every special character escaped, bare addresses kept from linking."""

from __future__ import annotations

import re

import pytest

from analytics.formatting import WORD_JOINER, markdown_literal, probability_text


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


@pytest.mark.parametrize(
    ("p", "expected"),
    [(0.0, "under 5 %"), (0.0499, "under 5 %"), (0.05, "5 %"), (0.0549, "5 %"), (0.23, "23 %"), (0.5, "50 %"),
     (0.9449, "94 %"), (0.95, "95 %"), (0.9501, "over 95 %"), (0.9975, "over 95 %"), (1.0, "over 95 %"),
     (None, ""), (float("nan"), "")],
    ids=["zero", "just-under-floor", "floor", "rounds-down-to-floor", "middle", "half", "rounds-to-94", "ceiling",
         "just-over-ceiling", "platinum-with-an-empty-quarter", "one", "none", "nan"],
)
def test_probability_text_bands_at_the_edges(p, expected):
    assert probability_text(p) == expected


@pytest.mark.parametrize("p", [-0.01, 1.2], ids=["negative", "above-one"])
def test_probability_text_refuses_a_number_that_is_no_probability(p):
    with pytest.raises(ValueError, match=rf"between 0 and 1, got {p}"):
        probability_text(p)


def test_probability_text_never_writes_0_or_100_percent():
    said = {probability_text(i / 10_000) for i in range(10_001)}
    assert not said & {"0 %", "100 %"} and "under 5 %" in said and "over 95 %" in said
