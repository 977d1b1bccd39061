"""Text from files made safe for Markdown: every special character escaped, bare addresses kept from linking."""

from __future__ import annotations

import re

import pytest

from analytics.formatting import (
    WORD_JOINER,
    count,
    markdown_literal,
    pct,
    pct_magnitude,
    plural,
    probability_text,
)


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


@pytest.mark.parametrize(
    ("share", "decimals", "expected"),
    [(0.234, 0, "23 %"), (0.2345, 1, "23.4 %"), (-0.05, 0, "-5 %"), (1.0, 1, "100.0 %")],
    ids=["whole", "one-decimal", "negative", "all"],
)
def test_pct_writes_a_share_with_a_space_before_the_sign(share, decimals, expected):
    assert pct(share, decimals) == expected


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.004, "under 1 %"), (-0.004, "under 1 %"), (0.996, "over 99 %"), (1.0, "100 %"), (0.0, "0 %"),
     (-0.234, "23 %")],
    ids=["tiny", "tiny-fall", "nearly-all", "all", "none", "fall"],
)
def test_pct_magnitude_drops_the_sign_and_never_rounds_to_a_false_end(share, expected):
    assert pct_magnitude(share) == expected


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [(1234, {}, "1,234"), (None, {}, "n/a"), (float("nan"), {"missing": ""}, ""), (-1234.0, {}, "-1,234"),
     (-5, {"minus": "\u2212"}, "\u22125"), (7.9, {}, "7")],
    ids=["thousands", "missing", "missing-blank", "negative", "typographic-minus", "truncated"],
)
def test_count_writes_a_whole_number_or_the_missing_text(value, kwargs, expected):
    assert count(value, **kwargs) == expected


@pytest.mark.parametrize(
    ("n", "kwargs", "expected"),
    [(1, {}, "1 deal"), (0, {}, "0 deals"), (1234, {}, "1,234 deals"), (1234, {"thousands": False}, "1234 deals"),
     (float("nan"), {}, "deals not known"), (2.0, {}, "2 deals")],
    ids=["one", "none", "thousands", "no-separator", "missing", "float-count"],
)
def test_plural_gives_the_count_with_its_noun(n, kwargs, expected):
    assert plural(n, "deal", **kwargs) == expected
