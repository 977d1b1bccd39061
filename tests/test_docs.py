"""The README and docs/ say only what runs: each command names a real subcommand and its flags, each link resolves.

The commands are checked against the argparse parser of analytics/cli.py (what `--help` lists), not run: spawning
each would cost seconds per command, and many of them write.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from analytics.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The options `python -m analytics` itself takes before the subcommand, each with its value.
GLOBAL_OPTIONS = {"--db", "--wait"}
# A written command ends at the end of its code span or line, or where the shell takes over.
COMMAND_END = re.compile(r"`|\s#|\s>>|\s2>&1|\s&&")
FENCE = re.compile(r"^```")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`[^`]*`")
# The synopsis in docs/command-line.md: a subcommand two spaces in with its options, continued on lines that
# start with `[`; three spaces or more part them from the description, which may name other commands' options.
SYNOPSIS_GAP = re.compile(r"\s{3,}")


def subcommand_flags(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """Give each subcommand of the parser with the option strings its `--help` lists."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: {s for action in sub._actions for s in action.option_strings}
            for name, sub in commands.choices.items()}


COMMANDS = subcommand_flags(build_parser())


def _flag(token: str) -> str | None:
    """Give the option a written token names (`[--force]`, `--column=X`, `--keep,`), or None for a value."""
    token = token.strip("[](),;.")
    if not token.startswith("--"):
        return None
    return token.split("=", 1)[0]


def check_command(words: list[str]) -> list[str]:
    """Give what is wrong with one written command (the words after `python -m analytics`): nothing when it runs."""
    words = list(words)
    while words and _flag(words[0]) in GLOBAL_OPTIONS:
        words = words[2:] if "=" not in words[0] else words[1:]
    if not words:
        return []
    name = words[0].strip("[](),;.:")
    if name.isupper() or name.startswith("<"):  # a placeholder such as COMMAND: the synopsis of every command
        return []
    if name not in COMMANDS:
        return [f"`{name}` is not a subcommand of python -m analytics (it has {', '.join(sorted(COMMANDS))})"]
    return [f"`{name}` has no option {flag} (its --help lists {', '.join(sorted(COMMANDS[name]))})"
            for flag in map(_flag, words[1:]) if flag and flag not in COMMANDS[name]]


def written_commands(text: str) -> list[tuple[int, list[str]]]:
    """Give every command a document writes out: `python -m analytics ...`, and code spans like `ingest --force`."""
    found = []
    for number, line in enumerate(text.split("\n"), 1):
        for match in re.finditer(r"python -m analytics\b", line):
            rest = COMMAND_END.split(line[match.end():], maxsplit=1)[0]
            found.append((number, rest.split()))
        for span in CODE_SPAN.findall(line):
            words = span.strip("`").split()
            if len(words) > 1 and words[0] in COMMANDS and any(_flag(w) for w in words[1:]):
                found.append((number, words))
    return found


def synopsis_commands(text: str) -> list[tuple[int, list[str]]]:
    """Give each command of a synopsis (a ```text block that opens with `python -m analytics`) with its options."""
    found: list[tuple[int, list[str]]] = []
    block: list[str] | None = None  # the lines of the ```text block we are in, None outside one
    for number, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            block = [] if line.strip() == "```text" and block is None else None
            continue
        if block is None:
            continue
        block.append(line)
        if "-m analytics" not in block[0]:
            continue
        usage = SYNOPSIS_GAP.split(line.strip(), maxsplit=1)[0]
        if re.match(r"  [a-z]", line):
            found.append((number, usage.split()))
        elif usage.startswith("[") and found:
            found[-1][1].extend(usage.split())
    return found


def relative_links(text: str) -> list[tuple[int, str]]:
    """Give every link outside code that points into the project rather than to a web address, with its line.

    Link text may run over a line break, so the whole text is searched, with code blocks blanked line for line.
    """
    lines, in_code = [], False
    for line in text.split("\n"):
        fence = bool(FENCE.match(line))
        in_code = in_code != fence
        lines.append("" if in_code or fence else CODE_SPAN.sub("", line))
    prose = "\n".join(lines)
    return [(prose.count("\n", 0, m.start()) + 1, m.group(1)) for m in LINK.finditer(prose)
            if not re.match(r"[a-z]+:", m.group(1))]


def anchor(heading: str) -> str:
    """Give the anchor GitHub makes for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return {anchor(m) for m in re.findall(r"^#+ (.*)$", text, flags=re.M)}


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_every_command_names_a_real_subcommand_and_its_flags(doc: Path) -> None:
    text = doc.read_text()
    problems = [f"{_name(doc)}, line {number}: {problem}"
                for number, words in written_commands(text) + synopsis_commands(text)
                for problem in check_command(words)]
    assert problems == []


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_every_relative_link_points_to_an_existing_file(doc: Path) -> None:
    problems = []
    for number, target in relative_links(doc.read_text()):
        path_part, _, fragment = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.exists():
            problems.append(f"{_name(doc)}, line {number}: {target} points to no file")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            problems.append(f"{_name(doc)}, line {number}: {target} names no heading of {path.name}")
    assert problems == []


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_every_bench_script_named_exists(doc: Path) -> None:
    missing = sorted({s for s in re.findall(r"bench/[\w]+\.py", doc.read_text()) if not (ROOT / s).exists()})
    assert missing == []


APP_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && "
               ".venv/bin/python -m analytics demo --if-empty && .venv/bin/streamlit run app.py")
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/python -m pytest"


def test_the_readme_is_short_and_keeps_its_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().split("\n")
    assert len(lines) <= 200
    assert APP_COMMAND in lines and TEST_COMMAND in lines


def test_a_link_whose_text_runs_over_a_line_break_is_checked() -> None:
    text = "see [Engagement and\nfit](executives.md#engagement-and-fit) and `[x](nowhere.md)`\n```\n[y](z.md)\n```\n"
    assert relative_links(text) == [(1, "executives.md#engagement-and-fit")]


def test_the_command_line_guide_shows_every_subcommand() -> None:
    shown = {words[0] for _, words in synopsis_commands((ROOT / "docs" / "command-line.md").read_text())}
    assert shown == set(COMMANDS)


@pytest.mark.parametrize(("text", "problem"), [
    ("`python -m analytics ingest q3.csv --made-up-flag`", "`ingest` has no option --made-up-flag"),
    ("`python -m analytics reviews --as-of 2026Q3`", "`reviews` is not a subcommand"),
    ("run `rollback 7 --replace` to", "`rollback` has no option --replace"),
    (".venv/bin/python -m analytics --db x.duckdb backup DIR [--keep N] [--purge]", "`backup` has no option --purge"),
], ids=["made-up flag", "made-up command", "code span without the prefix", "after the global options"])
def test_a_command_that_would_not_run_is_named(text: str, problem: str) -> None:
    problems = [p for _, words in written_commands(text) for p in check_command(words)]
    assert len(problems) == 1 and problems[0].startswith(problem)


@pytest.mark.parametrize("text", [
    "`python -m analytics ingest FILE... [--replace [--force] | --append [--force]] --column revenue=\"A (USD)\"`",
    ".venv/bin/python -m analytics [--db PATH] [--wait SECONDS] COMMAND",
    "0 2 * * * cd /opt && .venv/bin/python -m analytics backup /srv/b --keep 14 >> /var/log/b.log 2>&1",
], ids=["options in brackets", "the synopsis line", "a cron line"])
def test_a_command_that_runs_passes(text: str) -> None:
    assert [p for _, words in written_commands(text) for p in check_command(words)] == []


def test_the_synopsis_reads_only_the_usage_before_the_description() -> None:
    block = "\n".join(["```text", "python -m analytics COMMAND",
                       "  rescore" + " " * 41 + "bring scores up to date (or --no-scores)", "  loads --bogus", "```"])
    problems = [p for _, words in synopsis_commands(block) for p in check_command(words)]
    assert problems == ["`loads` has no option --bogus (its --help lists --help, -h)"]
