"""Text made safe for a spreadsheet cell: on one line, without control characters, never run as a formula.

Below the exports and the letters (which both write cells), so neither has to import the other.
"""

from __future__ import annotations

import re

__all__ = ["NEEDS_WORK", "one_line", "safe_cell"]

# Line breaks (and the tab, itself a formula start and a separator) become one space. Spreadsheets,
# import wizards and line-based tools disagree about a quoted line break (pandas does not even quote
# a lone CR), so a cell that keeps one can be split and the text after it start a new cell; with the
# breaks gone there is nothing to split on, and the words stay readable ("Acme =1+1").
_BREAKS = re.compile("\r\n|[\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029]")
# Other control characters are invisible, and openpyxl refuses to write them at all.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f]")
# A spreadsheet runs a piece of text that starts with one of these as a formula (CSV injection). A
# piece starts at the start of the cell and, where a spreadsheet might split a cell with a separator
# it guesses (`,` `;` `|`), right after one; an import that trims spaces would bring a sign after
# spaces to the front, so each such piece gets a quote in front of it.
_FORMULA_AFTER_SPLIT = re.compile(r"(^|[,;|])(?=[ ]*[=+\-@])")
# Most cells need none of this: one search (vectorised on text columns) finds those that do.
NEEDS_WORK = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]|(?:^|[,;|]) *[=+\\-@]")


def one_line(text: str) -> str:
    """Give text on one line without control characters (see _BREAKS and _CONTROL)."""
    return _CONTROL.sub("", _BREAKS.sub(" ", text))


def safe_cell(value: object) -> object:
    """Give a text value that no spreadsheet runs as a formula, however it splits it; other values as they are."""
    if not isinstance(value, str):
        return value
    return _FORMULA_AFTER_SPLIT.sub(r"\1'", one_line(value))
