"""The partner program's terms (data/program.toml): tier minimums, nursery, review-out share, at-risk limits,
distributors' target."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from analytics.paths import PROJECT_ROOT
from analytics.store.currencies import DEFAULT_REPORTING_CURRENCY, is_currency_code

__all__ = ["PROGRAM_PATH", "RULES_HISTORY", "SEGMENTS", "TierRule", "IncentivePlan", "ProgramRules", "load_program",
           "rules_from_table", "read_program_file",
           "save_program", "program_files", "rules_folder", "program_path", "rules_file_stem", "save_program_as",
           "rules_versions", "rules_from_json", "rules_terms", "rules_settings"]

PROGRAM_PATH = PROJECT_ROOT / "data" / "program.toml"
# Every version of a rules file saved from the review's what-if, kept beside the files it was saved to.
RULES_HISTORY = "rules_history"
AT_RISK_KEYS = ("at_risk_churn", "at_risk_fall", "at_risk_latest_share")
# Shares that tell which recommended terminations deserve a second look (see ProgramRules).
SECOND_LOOK_KEYS = ("second_look_churn", "second_look_shortfall")


@dataclass(frozen=True)
class TierRule:
    """What a partner needs over the trailing four quarters to hold a tier."""

    name: str
    min_revenue: float
    min_deals: int
    min_customers: int


SEGMENTS = ("SMB", "Mid-market", "Enterprise")


@dataclass(frozen=True)
class IncentivePlan:
    """An incentive plan a partner gets when the given customer segments hold at least `min_share` of its revenue."""

    name: str
    segments: tuple[str, ...]
    min_share: float
    terms: str = ""


@dataclass(frozen=True)
class ProgramRules:
    """The program's terms; `tiers` run from the highest tier down."""

    tiers: tuple[TierRule, ...]
    nursery_quarters: int = 4
    review_out_share: float = 0.10
    provisional_threshold: float = 0.30
    # A partner kept in its tier is flagged at risk from this churn probability, this fall year over
    # year, or a latest quarter below this share of its quarterly average (see analytics.review.decisions).
    at_risk_churn: float = 0.40
    at_risk_fall: float = 0.50
    at_risk_latest_share: float = 0.10
    # The share of each distributor's revenue the program wants through Silver, Bronze and Authorized
    # partners rather than Gold and Platinum ([distributors] in program.toml).
    target_lower_tier_share: float = 0.5
    # Who is in the review: every partner with an order in this many quarters to the review's quarter (the
    # review year and the year before by default), so partners that stopped ordering are reviewed too.
    review_lookback_quarters: int = 8
    # A recommended termination a chief would question: a churn probability under this, or revenue short
    # of the lowest tier's minimum by less than this share of it.
    second_look_churn: float = 0.20
    second_look_shortfall: float = 0.10
    # Each partner's incentive plan follows its segment focus over the review year: the first plan whose
    # segments hold at least its share of the partner's revenue, else the default ([incentives] in program.toml).
    incentive_plans: tuple[IncentivePlan, ...] = ()
    default_incentive: str = "Standard plan"
    default_incentive_terms: str = ""
    # The currency channel-wide figures are in (ISO 4217); lines in other currencies are converted by the
    # quarter's exchange rate (analytics.store.rates). A top-level key of the program file.
    reporting_currency: str = DEFAULT_REPORTING_CURRENCY
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("The program names no tiers")
        revenues = [t.min_revenue for t in self.tiers]
        if revenues != sorted(revenues, reverse=True):
            raise ValueError("Tier minimum revenues must fall from the highest tier to the lowest")
        shares = ("review_out_share", "provisional_threshold", "at_risk_churn", "at_risk_fall", "at_risk_latest_share",
                  "second_look_churn", "second_look_shortfall")
        outside = [name for name in shares if not 0 <= getattr(self, name) <= 1]
        if outside:
            raise ValueError(f"{', '.join(outside)} must be shares between 0 and 1")
        if not 0 <= self.target_lower_tier_share <= 1:
            raise ValueError("distributors.target_lower_tier_share is a share between 0 and 1 (0.5 = 50 %)")
        if self.nursery_quarters < 0:
            raise ValueError("nursery_quarters cannot be negative")
        for plan in self.incentive_plans:
            unknown = [seg for seg in plan.segments if seg not in SEGMENTS]
            if unknown or not plan.segments:
                raise ValueError(f"incentive plan {plan.name!r}: segments must be some of {', '.join(SEGMENTS)}, "
                                 f"not {', '.join(unknown) or 'none'}")
            if not 0 <= plan.min_share <= 1:
                raise ValueError(f"incentive plan {plan.name!r}: min_share must be a share between 0 and 1")
        if not is_currency_code(self.reporting_currency):
            raise ValueError(f"reporting_currency must be an ISO 4217 code like USD, EUR or AUD, "
                             f"not {self.reporting_currency!r}")
        if self.review_lookback_quarters < 4:
            raise ValueError("review_lookback_quarters must be at least 4 (the review year)")

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def minimum_revenue(self) -> dict[str, float]:
        """Give each tier's minimum trailing-year revenue by tier name."""
        return {t.name: t.min_revenue for t in self.tiers}

    def with_minimums(self, revenue: dict[str, float], deals: dict[str, int] | None = None,
                      customers: dict[str, int] | None = None) -> ProgramRules:
        """Give these rules with some tiers' minimum revenue, deals or customers changed (for what-if questions)."""
        deals, customers = deals or {}, customers or {}
        tiers = tuple(replace(t, min_revenue=float(revenue.get(t.name, t.min_revenue)),
                              min_deals=int(deals.get(t.name, t.min_deals)),
                              min_customers=int(customers.get(t.name, t.min_customers)))
                      for t in self.tiers)
        return replace(self, tiers=tiers)


def _number(value: object, where: str, whole: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{where} must be a number of at least 0, not {value!r}")
    if whole and value != int(value):
        raise ValueError(f"{where} must be a whole number, not {value!r}")
    return int(value) if whole else float(value)


def read_program_file(path: str | Path) -> dict:
    """Give a program file's TOML as a table, or a ValueError naming the file (missing, or not TOML)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ValueError(f"Program rules file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from exc


def load_program(path: str | Path = PROGRAM_PATH) -> ProgramRules:
    """Give the program rules read from a TOML file, or a ValueError that names the file and the key at fault."""
    return rules_from_table(read_program_file(path), str(path), source=str(path))


def rules_from_table(raw: dict, where: str, source: str = "") -> ProgramRules:
    """Give the program rules of one TOML table (the file's top level, or a regional program's table).

    `where` names the file and table in every error ("data/program.toml: programs.ANZ").
    """
    path = where
    tiers_raw = raw.get("tiers")
    if not isinstance(tiers_raw, dict) or not tiers_raw:
        raise ValueError(f"{path}: needs a [tiers.NAME] table per tier, highest first")
    tiers = []
    for name, terms in tiers_raw.items():
        if not isinstance(terms, dict):
            raise ValueError(f"{path}: [tiers.{name}] must be a table of minimums")
        missing = [k for k in ("min_revenue", "min_deals", "min_customers") if k not in terms]
        if missing:
            raise ValueError(f"{path}: [tiers.{name}] lacks {', '.join(missing)}")
        tiers.append(TierRule(
            name=name,
            min_revenue=_number(terms["min_revenue"], f"{path}: tiers.{name}.min_revenue"),
            min_deals=_number(terms["min_deals"], f"{path}: tiers.{name}.min_deals", whole=True),
            min_customers=_number(terms["min_customers"], f"{path}: tiers.{name}.min_customers", whole=True),
        ))
    incentives = raw.get("incentives", {})
    if not isinstance(incentives, dict) or not isinstance(incentives.get("plans", []), list):
        raise ValueError(f"{path}: [incentives] must be a table with [[incentives.plans]] entries")
    plans = []
    for number, plan in enumerate(incentives.get("plans", []), start=1):
        where = f"{path}: incentives.plans #{number}"
        if not isinstance(plan, dict) or not isinstance(plan.get("name"), str) or not plan.get("name"):
            raise ValueError(f"{where} needs a name")
        segments = plan.get("segments")
        if not isinstance(segments, list) or not all(isinstance(seg, str) for seg in segments):
            raise ValueError(f"{where} ({plan['name']}) needs segments, a list like [\"SMB\", \"Mid-market\"]")
        plans.append(IncentivePlan(plan["name"], tuple(segments), _number(plan.get("min_share"), f"{where} min_share"),
                                   str(plan.get("terms", ""))))
    distributors = raw.get("distributors", {})
    if not isinstance(distributors, dict):
        raise ValueError(f"{path}: [distributors] must be a table (target_lower_tier_share = 0.5)")
    try:
        return ProgramRules(
            tiers=tuple(tiers),
            nursery_quarters=_number(raw.get("nursery_quarters", 4), f"{path}: nursery_quarters", whole=True),
            review_out_share=_number(raw.get("review_out_share", 0.10), f"{path}: review_out_share"),
            provisional_threshold=_number(raw.get("provisional_threshold", 0.30), f"{path}: provisional_threshold"),
            **{key: _number(raw[key], f"{path}: {key}") for key in AT_RISK_KEYS + SECOND_LOOK_KEYS if key in raw},
            review_lookback_quarters=_number(raw.get("review_lookback_quarters", 8),
                                             f"{path}: review_lookback_quarters", whole=True),
            target_lower_tier_share=_number(distributors.get("target_lower_tier_share", 0.5),
                                            f"{path}: distributors.target_lower_tier_share"),
            incentive_plans=tuple(plans),
            default_incentive=str(incentives.get("default", "Standard plan")),
            default_incentive_terms=str(incentives.get("default_terms", "")),
            reporting_currency=str(raw.get("reporting_currency", DEFAULT_REPORTING_CURRENCY)),
            source=source,
        )
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise ValueError(f"{path}: {exc}") from exc


def save_program(rules: ProgramRules, path: str | Path = PROGRAM_PATH, actor=None) -> Path:
    """Write the rules to a TOML file (replacing it in one step) and give its path; admins only.

    Raises analytics.access.AccessDenied when `actor` may not change the program rules (None: the
    local operator, who may). The file's first line says who changed it and when.
    """
    from analytics.access import check

    check(actor, "change program rules")
    path = Path(path)
    who = actor.who if actor is not None else "the local operator"
    header = [f"# Program rules, last changed by {who} on {dt.datetime.now():%Y-%m-%d %H:%M}.",
              "# See the copy in git (data/program.toml) for what each setting means."]
    load_check = path.with_name(path.name + ".new")
    load_check.write_text(_rules_toml(rules, header))
    load_program(load_check)  # what was written reads back, or the old file stays
    os.replace(load_check, path)
    return path


def _rules_toml(rules: ProgramRules, header: list[str], table: str = "", own: tuple[str, ...] = ()) -> str:
    """Give the rules as the text of a program rules file, `header` (comment lines) first.

    `table` writes them as a table of their own ("programs.ANZ", a regional program) rather than at the top
    level; `own` are lines of its own that come first in it (its regions, currency, or reporting_currency).
    """
    prefix = f"{table}." if table else ""
    lines = [
        *header,
        *([f"[{table}]"] if table else []),
        *own,
        f"nursery_quarters = {rules.nursery_quarters}",
        f"review_out_share = {rules.review_out_share!r}",
        f"provisional_threshold = {rules.provisional_threshold!r}",
        *(f"{key} = {getattr(rules, key)!r}" for key in AT_RISK_KEYS + SECOND_LOOK_KEYS),
        f"review_lookback_quarters = {rules.review_lookback_quarters}",
        # Written only when not the default, so rules files saved before currencies read the same.
        *([f"reporting_currency = {_toml_text(rules.reporting_currency)}"]
          if rules.reporting_currency != DEFAULT_REPORTING_CURRENCY else []),
        "",
        f"[{prefix}distributors]",
        f"target_lower_tier_share = {rules.target_lower_tier_share!r}",
    ]
    lines += ["", f"[{prefix}incentives]", f"default = {_toml_text(rules.default_incentive)}",
              f"default_terms = {_toml_text(rules.default_incentive_terms)}"]
    for plan in rules.incentive_plans:
        lines += ["", f"[[{prefix}incentives.plans]]", f"name = {_toml_text(plan.name)}",
                  f"segments = [{', '.join(_toml_text(seg) for seg in plan.segments)}]",
                  f"min_share = {plan.min_share!r}", f"terms = {_toml_text(plan.terms)}"]
    for tier in rules.tiers:
        lines += ["", f'[{prefix}tiers.{_toml_text(tier.name)}]', f"min_revenue = {tier.min_revenue!r}",
                  f"min_deals = {tier.min_deals}", f"min_customers = {tier.min_customers}"]
    return "\n".join(lines) + "\n"


def _toml_text(text: str) -> str:
    """Give a TOML basic string holding `text` as written (JSON's escaping is valid TOML for a basic string)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def program_files(folder: str | Path = PROGRAM_PATH.parent) -> list[Path]:
    """Give the TOML files in `folder` that read as program rules, by name (products.toml, roles.toml are not)."""
    found = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            load_program(path)
        except ValueError:
            continue
        found.append(path)
    return found


def rules_folder() -> Path:
    """Give the folder of program rules files: $CHANNEL_RULES_DIR if set, else data/ in the project."""
    env = os.environ.get("CHANNEL_RULES_DIR")
    return Path(env) if env else PROGRAM_PATH.parent


def program_path() -> Path:
    """Give the program's own rules file, program.toml in rules_folder()."""
    return rules_folder() / PROGRAM_PATH.name


# A name becomes a file name as typed: letters, digits, "-" and "_" only, so it can never reach another
# folder ("../x"), hide (".x") or mean something else on another system ("con", "a:b").
_SAFE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}")
_VERSION = re.compile(r"\.v(\d+)\.toml$")


def rules_file_stem(name: str) -> str:
    """Give the file name (without .toml) for rules a person named, or a ValueError saying what is not allowed."""
    stem = str(name).strip()
    stem = stem[:-5] if stem.lower().endswith(".toml") else stem
    if not stem:
        raise ValueError("The new rules file needs a name, like strict-2027")
    if not _SAFE_STEM.fullmatch(stem):
        raise ValueError(f"{name!r} cannot be a file name: use up to 60 letters, digits, '-' and '_', "
                         "starting with a letter or digit (like strict-2027)")
    return stem


def rules_versions(stem: str, folder: str | Path | None = None) -> list[tuple[int, Path]]:
    """Give the kept versions of rules file `stem` (number, file in the history folder), oldest first."""
    history = Path(folder if folder is not None else rules_folder()) / RULES_HISTORY
    found = []
    for path in history.glob(f"{stem}.v*.toml"):
        number = _VERSION.search(path.name)
        if number and path.name == f"{stem}.v{number[1]}.toml":
            found.append((int(number[1]), path))
    return sorted(found)


def save_program_as(rules: ProgramRules, name: str, folder: str | Path | None = None, actor=None,
                    based_on: str = "", regional: tuple[tuple[str, ...], str] = ((), "")) -> tuple[Path, int]:
    """Save the rules as a new named rules file beside program.toml and give its path and version; admins only.

    The first save of a name writes version 1; saving the same name again writes the next version.
    `regional` (analytics.program.regional_programs.regional_toml) carries the regional programs and the reporting
    currency into the new file. Every version is kept in the history folder (RULES_HISTORY) with who saved
    it, when and from which rules (`based_on`) in its first line, and the newest is the file the review's picker lists.
    A file of that name that was not saved this way (program.toml, a hand-written copy) is never
    replaced: ValueError. Raises AccessDenied when `actor` may not change the program rules.
    """
    from analytics.access import check

    check(actor, "change program rules")
    stem = rules_file_stem(name)
    folder = Path(folder if folder is not None else rules_folder())
    path = folder / f"{stem}.toml"
    versions = rules_versions(stem, folder)
    if (path.exists() or path == folder / PROGRAM_PATH.name) and not versions:
        raise ValueError(f"{path.name} already exists and was not saved from the what-if; it is never overwritten "
                         "here. Choose another name.")
    version = versions[-1][0] + 1 if versions else 1
    who = actor.who if actor is not None else "the local operator"
    header = [f"# Program rules {stem!r}, version {version}, saved by {who} on {dt.datetime.now():%Y-%m-%d %H:%M}"
              + (f" from {_one_line(based_on)}." if based_on else "."),
              f"# Earlier versions are in {RULES_HISTORY}/; data/program.toml in git says what each setting means."]
    # `regional` keeps the file's other programs: its top-level lines (reporting_currency) and their tables
    # (analytics.program.regional_programs.regional_toml), so a new global rules file loses no regional program.
    text = _rules_toml(rules, header, own=regional[0]) + regional[1]
    history = folder / RULES_HISTORY
    history.mkdir(parents=True, exist_ok=True)
    kept = history / f"{stem}.v{version}.toml"
    try:
        with kept.open("x") as handle:  # never over a version someone saved at the same moment
            handle.write(text)
    except FileExistsError as exc:
        raise ValueError(f"Version {version} of {path.name} was saved by someone else just now; save again") from exc
    try:
        load_program(kept)
    except ValueError:
        kept.unlink()
        raise
    load_check = path.with_name(path.name + ".new")
    load_check.write_text(text)
    os.replace(load_check, path)
    return path, version


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def rules_from_json(text: str) -> ProgramRules:
    """Give the rules a saved review kept (the JSON of dataclasses.asdict(rules)); ValueError when they do not read."""
    try:
        raw = json.loads(text)
        tiers = tuple(TierRule(**t) for t in raw.pop("tiers"))
        raw["incentive_plans"] = tuple(
            IncentivePlan(p["name"], tuple(p["segments"]), p["min_share"], p.get("terms", ""))
            for p in raw.get("incentive_plans", ()))
        # Settings added since a review was saved take their defaults; keys no longer known are left out.
        known = set(ProgramRules.__dataclass_fields__) - {"tiers"}
        return ProgramRules(tiers=tiers, **{k: v for k, v in raw.items() if k in known})
    except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"The saved rules do not read as program rules: {exc}") from exc


def rules_terms(rules: ProgramRules) -> pd.DataFrame:
    """Give the tier minimums, one row per tier from the highest: tier, min_revenue, min_deals, min_customers."""
    return pd.DataFrame([{"tier": t.name, "min_revenue": t.min_revenue, "min_deals": t.min_deals,
                          "min_customers": t.min_customers} for t in rules.tiers])


def rules_settings(rules: ProgramRules) -> list[tuple[str, str]]:
    """Give the program's other terms in words, (setting, value), as a summary or a page states them."""
    return [
        ("Nursery", f"the first {rules.nursery_quarters} quarters: not demoted or terminated"),
        ("Review-out share", f"{rules.review_out_share:.0%} of the partners at most"),
        ("Provisional continuation threshold", f"a turnaround probability of {rules.provisional_threshold:.0%}"),
        ("At risk", f"churn probability of {rules.at_risk_churn:.0%}, a fall of {rules.at_risk_fall:.0%} year over "
                    f"year, or a latest quarter below {rules.at_risk_latest_share:.0%} of the quarterly average"),
    ]
