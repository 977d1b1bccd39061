"""Letters to partners after a saved review: one editable Word document each, and a mail merge file.

Each decision has a plain-text template in data/letters/ (see its README.md) that a chief edits
without code: `$name` placeholders filled from the saved decision. Substitution is one pass of
string.Template, so text from data (a partner's name, a note holding "$revenue" or "{{x}}") goes in
as written and is never read as template syntax.

Each letter is written under the partner's program (analytics.program.regional_programs): its tier names, its
minimums and incentive plans, amounts in its currency (the letter says which). A global-program partner's
letter uses the rules the review was saved under; a regional program's are the program file's (a saved
review keeps the global rules only). Revenue goals are stored in the reporting currency at the review
quarter's rate (analytics.review.regional); a letter converts them back at that same rate.

The documents are Word files python-docx reads and Word edits. Writing 6,000 of them through
python-docx's object model took about 50 ms each; here python-docx builds the document once (styles,
page set-up) and each letter only swaps in its own paragraphs, a few milliseconds each.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd

from analytics.access import Actor, check_scope
from analytics.cells import safe_cell
from analytics.formatting import count
from analytics.paths import PROJECT_ROOT
from analytics.periods import trailing_span
from analytics.program.regional_programs import GLOBAL, Programs, load_programs
from analytics.program.rules import ProgramRules, TierRule, rules_from_json
from analytics.review.actions import PROVISIONAL
from analytics.review.regional import currency_rates, money_exact_in, partner_locations, revenue_in_currency
from analytics.store.quarters import shift_quarter
from analytics.store.store import ACTIVE_LINES, Store

__all__ = ["LETTERS_DIR", "TEMPLATE_FILES", "PLACEHOLDERS", "LetterTemplate", "load_templates", "letter_fields",
           "render_letter", "letter_docx", "write_letters", "letters_zip", "review_for_letters", "LetterProgram",
           "letter_programs", "letter_currencies"]

LETTERS_DIR = PROJECT_ROOT / "data" / "letters"
TEMPLATE_FILES = {"promote": "promote.txt", "retain": "retain.txt", "demote": "demote.txt",
                  PROVISIONAL: "provisional.txt", "terminate": "terminate.txt"}
PLACEHOLDERS = (
    "partner_id", "partner_name", "review", "review_year", "as_of", "effective_quarter", "decision", "tier",
    "tier_after", "revenue", "deals", "customers", "min_revenue", "min_deals", "min_customers", "goal_quarters",
    "revenue_goal", "deals_goal", "incentive_plan", "incentive_terms", "incentive", "note", "currency", "program",
)
# Characters XML 1.0 cannot hold (control characters other than tab and newlines): dropped from letters.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class LetterTemplate:
    """One decision's letter: its subject and paragraphs, each a string.Template."""

    decision: str
    path: Path
    subject: Template
    paragraphs: tuple[Template, ...]


def _template(decision: str, path: Path) -> LetterTemplate:
    """Read one template, refusing an unknown or malformed placeholder with its name and the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ValueError(f"The letter template for {decision} is missing: {path}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text") from exc
    whole = Template(text)
    if not whole.is_valid():
        bad = re.search(r"\$(?!\$|[_a-zA-Z]|\{[_a-zA-Z][_a-zA-Z0-9]*\})", text)
        line = text[:bad.start()].count("\n") + 1 if bad else 1
        raise ValueError(f"{path}, line {line}: a $ that starts no placeholder (write $$ for a dollar sign)")
    unknown = [name for name in whole.get_identifiers() if name not in PLACEHOLDERS]
    if unknown:
        raise ValueError(f"{path} names unknown placeholder(s) {', '.join('$' + u for u in unknown)}; "
                         f"known: {', '.join('$' + p for p in PLACEHOLDERS)}")
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    if not lines or not lines[0].lower().startswith("subject:"):
        raise ValueError(f"{path}, line 1: a letter template starts with its subject line, 'Subject: ...'")
    body = "\n".join(lines[1:])
    paragraphs = tuple(Template(p.strip()) for p in re.split(r"\n\s*\n", body) if p.strip())
    return LetterTemplate(decision, path, Template(lines[0].split(":", 1)[1].strip()), paragraphs)


def load_templates(folder: Path = LETTERS_DIR) -> dict[str, LetterTemplate]:
    """Give every decision's letter template from `folder`, or a ValueError naming the file and what is wrong."""
    return {decision: _template(decision, Path(folder) / name) for decision, name in TEMPLATE_FILES.items()}


def _tier_rule(rules: ProgramRules, name: str | None) -> TierRule | None:
    return next((t for t in rules.tiers if t.name == name), None)


@dataclass(frozen=True)
class LetterProgram:
    """The program a partner's letter is written under: its name, rules, currency, and the review quarter's rate.

    `rate` is units of the reporting currency per unit of `currency` (1 for the reporting currency);
    `revenue` the partner's review-year revenue in `currency` (None: the saved figure, in the reporting one).
    """

    name: str
    rules: ProgramRules
    currency: str = "USD"
    rate: float = 1.0
    revenue: float | None = None
    reporting: str = "USD"


def letter_fields(decision: Mapping[str, Any], review: str, as_of: str, rules: ProgramRules | LetterProgram,
                  include_note: bool = False) -> dict[str, str]:
    """Give the placeholders' text for one saved decision (a row of analytics.review.saved_reviews.load_review).

    `rules` is the partner's program (a LetterProgram), or bare rules for a letter in the reporting currency.
    """
    program = rules if isinstance(rules, LetterProgram) else LetterProgram(GLOBAL, rules)
    rules, currency = program.rules, program.currency
    converted = currency != program.reporting
    kind = decision["decision"]
    tier_after = decision.get("tier_after") or ""
    # The minimums the letter sets the figures against: the tier held after the review, or the entry tier for a
    # termination (what it would have taken to stay), or the tier reviewed in for a provisional continuation.
    against = (rules.tiers[-1] if kind == "terminate" else
               _tier_rule(rules, decision.get("tier")) if kind == PROVISIONAL else _tier_rule(rules, tier_after))
    against = against or _tier_rule(rules, decision.get("tier")) or rules.tiers[-1]
    plan = decision.get("incentive_plan") or ""
    terms = next((p.terms for p in rules.incentive_plans if p.name == plan),
                 rules.default_incentive_terms if plan == rules.default_incentive else "")
    note = str(decision.get("note") or "").strip()
    return {
        "partner_id": str(decision["partner_id"]),
        "partner_name": str(decision.get("partner_name") or decision["partner_id"]),
        "review": review,
        "review_year": trailing_span(as_of),
        "as_of": as_of,
        "effective_quarter": shift_quarter(as_of, 1),
        "decision": kind,
        "tier": str(decision.get("tier") or ""),
        "tier_after": tier_after,
        "revenue": money_exact_in(program.revenue if program.revenue is not None
                                  else decision.get("revenue_trailing") or 0.0, currency),
        "deals": count(decision.get("deals_trailing"), missing=""),
        "customers": count(decision.get("customers_trailing"), missing=""),
        "min_revenue": money_exact_in(against.min_revenue, currency),
        "min_deals": f"{against.min_deals:,}",
        "min_customers": f"{against.min_customers:,}",
        "goal_quarters": str(decision.get("goal_quarters") or ""),
        # Stored in the reporting currency at the review quarter's rate: back at the same rate, to the cent.
        "revenue_goal": "" if pd.isna(decision.get("revenue_goal")) else money_exact_in(
            round(float(decision["revenue_goal"]) / program.rate, 2), currency, cents=converted),
        "deals_goal": count(decision.get("deals_goal"), missing=""),
        "incentive_plan": plan,
        "incentive_terms": terms,
        "incentive": f"Your incentive plan: {plan}. {terms}".strip() if plan else "",
        "note": f"A note from the channel chief: {note}" if include_note and note else "",
        "currency": currency,
        "program": program.name,
    }


def render_letter(template: LetterTemplate, fields: dict[str, str]) -> tuple[str, list[str]]:
    """Give a letter's subject and paragraphs, the placeholders filled (paragraphs that come out empty left out)."""
    paragraphs = [p.substitute(fields).strip() for p in template.paragraphs]
    return template.subject.substitute(fields), [p for p in paragraphs if p]


class _Skeleton:
    """A Word document built once by python-docx; each letter replaces only its body's paragraphs."""

    def __init__(self) -> None:
        from docx import Document
        from docx.shared import Pt

        document = Document()
        document.styles["Normal"].font.name = "Calibri"
        document.styles["Normal"].font.size = Pt(11)
        document.add_paragraph("SUBJECT", style="Heading 1")
        document.add_paragraph("BODY")
        buffer = io.BytesIO()
        document.save(buffer)
        with zipfile.ZipFile(buffer) as parts:
            xml = parts.read("word/document.xml").decode("utf-8")
            # Every part but the body, compressed once: each letter appends only its own document.xml.
            rest = io.BytesIO()
            with zipfile.ZipFile(rest, "w", zipfile.ZIP_DEFLATED) as static:
                for name in parts.namelist():
                    if name != "word/document.xml":
                        static.writestr(name, parts.read(name))
            self.static = rest.getvalue()
        start = xml.index("<w:body>") + len("<w:body>")
        end = xml.index("<w:sectPr")
        self.head, self.tail = xml[:start], xml[end:]
        paragraphs = re.findall(r"<w:p>.*?</w:p>|<w:p .*?</w:p>", xml[start:end], flags=re.S)
        self.heading = paragraphs[0].split("<w:r>")[0]  # the Heading 1 paragraph's start and properties

    def document(self, subject: str, paragraphs: list[str]) -> bytes:
        def run(text: str) -> str:
            return f'<w:r><w:t xml:space="preserve">{escape(_NOT_XML.sub("", text))}</w:t></w:r>'

        body = [f"{self.heading}{run(subject)}</w:p>"]
        for paragraph in paragraphs:
            lines = paragraph.split("\n")
            runs = "<w:r><w:br/></w:r>".join(run(line) for line in lines)
            body.append(f"<w:p>{runs}</w:p>")
        buffer = io.BytesIO(self.static)
        with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as out:
            out.writestr("word/document.xml", (self.head + "".join(body) + self.tail).encode("utf-8"))
        return buffer.getvalue()


def letter_docx(subject: str, paragraphs: list[str], skeleton: _Skeleton | None = None) -> bytes:
    """Give one letter as a Word document (.docx bytes): the subject as a heading, then its paragraphs."""
    return (skeleton or _Skeleton()).document(subject, paragraphs)


def review_for_letters(store: Store, name: str, scope: tuple[str, ...] = ()) -> tuple[str, ProgramRules, pd.DataFrame]:
    """Give a saved review's as-of quarter, the rules it was saved under and its decisions; ValueError if none.

    With a `scope` (a person's regions) the decisions on their regions' partners only.
    """
    from analytics.review.saved_reviews import load_review

    found = store.query_df("SELECT as_of, rules FROM reviews WHERE name = ?", [name])
    if found.empty:
        raise ValueError(f"No saved review is named {name!r}")
    return found["as_of"].iloc[0], rules_from_json(found["rules"].iloc[0]), load_review(store, name, scope)


def letter_programs(store: Store, as_of: str, saved_rules: ProgramRules, decisions: pd.DataFrame,
                    programs: Programs | None = None) -> dict[str, LetterProgram]:
    """Give the program each partner of `decisions` gets its letter under, by partner id.

    A partner's program is the one of its latest recorded region and country up to `as_of`, as the review
    chose it (Programs.program_for); the global program's rules are the review's saved ones (`saved_rules`).
    `programs` defaults to the program file's. Raises MissingRates (a ValueError) naming a currency's
    quarters without an exchange rate.
    """
    programs = (programs if programs is not None else load_programs()).with_global_rules(saved_rules)
    if decisions.empty:
        return {}
    lookback = max(p.rules.review_lookback_quarters for p in programs.all)
    places = partner_locations(store, as_of, lookback).set_index("partner_id")
    countries = places["country"].to_dict()
    chosen: dict[str, list[str]] = {}
    for pid, region in zip(decisions["partner_id"].astype(str), decisions["region"], strict=True):
        country = countries.get(pid)
        program = programs.program_for(region if isinstance(region, str) else None,
                                       country if isinstance(country, str) else None)
        chosen.setdefault(program.name, []).append(pid)
    reporting = programs.reporting_currency
    out = {}
    for name, partner_ids in chosen.items():
        program = programs.named(name)
        if program.currency == reporting:
            out |= {pid: LetterProgram(name, program.rules, reporting, 1.0, None, reporting) for pid in partner_ids}
            continue
        rate = currency_rates(store, program.currency, [as_of], reporting)[as_of]
        revenue = revenue_in_currency(store, partner_ids, as_of, program.currency, reporting)
        out |= {pid: LetterProgram(name, program.rules, program.currency, rate, revenue.get(pid, 0.0), reporting)
                for pid in partner_ids}
    return out


def letter_currencies(store: Store, review: str, scope: tuple[str, ...] = (),
                      programs: Programs | None = None) -> dict[str, int]:
    """Give how many letters of saved review `review` (in `scope`) are in each currency, e.g. {"AUD": 2, "USD": 2}.

    Raises what the letters would: ValueError for an unknown review, MissingRates for a missing rate.
    """
    as_of, rules, decisions = review_for_letters(store, review, scope)
    counts: dict[str, int] = {}
    for program in letter_programs(store, as_of, rules, decisions, programs).values():
        counts[program.currency] = counts.get(program.currency, 0) + 1
    return dict(sorted(counts.items()))


def _letter_scope(actor: Actor | None, scope: tuple[str, ...]) -> tuple[str, ...]:
    """Give the regions whose letters are written: `scope`, which a scoped actor's regions must hold (else theirs)."""
    if actor is None or not actor.regions:
        return tuple(scope)
    check_scope(actor, scope)  # a regional reviewer asking for another region's letters is refused
    return tuple(scope) or actor.regions


MAILMERGE_COLUMNS = ["partner_id", "partner_name", "contact_email", "decision", "subject", "letter"]


def _letters(review: str, as_of: str, programs: dict[str, LetterProgram], decisions: pd.DataFrame, templates: dict,
             include_notes: bool, contacts: dict[str, str]) -> Iterator[tuple[str, bytes, dict]]:
    skeleton = _Skeleton()
    for row in decisions.to_dict("records"):
        program = programs[str(row["partner_id"])]
        subject, paragraphs = render_letter(templates[row["decision"]],
                                            letter_fields(row, review, as_of, program, include_notes))
        merge = {"partner_id": row["partner_id"], "partner_name": row.get("partner_name") or "",
                 "contact_email": contacts.get(row["partner_id"], ""), "decision": row["decision"],
                 "subject": subject, "letter": "\n\n".join(paragraphs)}
        yield str(row["partner_id"]), skeleton.document(subject, paragraphs), merge


def _safe_file_name(partner_id: str) -> str:
    """Give a file name for a partner id: anything but letters, digits, dot, dash and underscore becomes '_'."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", partner_id).lstrip(".") or "partner"
    return name[:120]


def _mailmerge_csv(rows: list[dict]) -> bytes:
    """Give the mail merge file: one row per letter, no cell a spreadsheet runs as a formula, paragraphs kept."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MAILMERGE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "\n".join(safe_cell(line) for line in str(v).split("\n")) if k == "letter"
                         else safe_cell(str(v)) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8-sig")


def _contacts(store: Store, partner_ids: list[str]) -> dict[str, str]:
    """Give each partner's latest contact e-mail where its extracts carry one (none: an empty map)."""
    columns = set(store.query_df("SELECT column_name FROM duckdb_columns() WHERE table_name = 'order_lines'")
                  ["column_name"])
    if "contact_email" not in columns:
        return {}
    found = store.query_df(f"SELECT partner_id, arg_max(contact_email, order_date) AS email FROM order_lines "
                           f"WHERE {ACTIVE_LINES} AND contact_email IS NOT NULL AND contact_email <> '' "
                           "GROUP BY partner_id")
    wanted = set(partner_ids)
    return {pid: email for pid, email in zip(found["partner_id"], found["email"], strict=True) if pid in wanted}


def write_letters(store: Store, review: str, out: Path, include_notes: bool = False,
                  folder: Path = LETTERS_DIR, progress: Callable[[int, int], None] | None = None,
                  programs: Programs | None = None, actor: Actor | None = None, scope: tuple[str, ...] = ()) -> int:
    """Write `out/<partner_id>.docx` for every partner of saved review `review` and `out/mailmerge.csv`; give the count.

    Each letter under its partner's program (letter_programs; `programs` defaults to the program file's).
    A scoped `actor` gets only their regions' letters, and AccessDenied for a `scope` outside them.
    Raises ValueError for an unknown review, a bad template or a missing exchange rate (nothing is written then).
    """
    templates = load_templates(folder)
    as_of, rules, decisions = review_for_letters(store, review, _letter_scope(actor, scope))
    chosen = letter_programs(store, as_of, rules, decisions, programs)
    out.mkdir(parents=True, exist_ok=True)
    merge, total = [], len(decisions)
    contacts = _contacts(store, decisions["partner_id"].tolist())
    for done, (partner_id, document, row) in enumerate(
            _letters(review, as_of, chosen, decisions, templates, include_notes, contacts), start=1):
        (out / f"{_safe_file_name(partner_id)}.docx").write_bytes(document)
        merge.append(row)
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)
    (out / "mailmerge.csv").write_bytes(_mailmerge_csv(merge))
    return len(merge)


def letters_zip(store: Store, review: str, include_notes: bool = False, folder: Path = LETTERS_DIR,
                scope: tuple[str, ...] = (), programs: Programs | None = None, actor: Actor | None = None) -> bytes:
    """Give every letter of saved review `review` and mailmerge.csv as one zip file (for the page's download).

    With a `scope` (a person's regions) the letters of their regions' partners only; a scoped `actor` gets
    their regions' letters whatever `scope` says, and AccessDenied for a region outside them. Each letter
    under its partner's program, as write_letters.
    """
    templates = load_templates(folder)
    as_of, rules, decisions = review_for_letters(store, review, _letter_scope(actor, scope))
    chosen = letter_programs(store, as_of, rules, decisions, programs)
    contacts = _contacts(store, decisions["partner_id"].tolist())
    buffer, merge = io.BytesIO(), []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # the letters are compressed already
        for partner_id, document, row in _letters(review, as_of, chosen, decisions, templates, include_notes,
                                                  contacts):
            archive.writestr(f"letters/{_safe_file_name(partner_id)}.docx", document)
            merge.append(row)
        archive.writestr("letters/mailmerge.csv", _mailmerge_csv(merge))
    return buffer.getvalue()
