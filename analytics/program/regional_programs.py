"""The global program and the regional programs of data/program.toml, and which one judges a partner.

The file's top level is the global program (a ProgramRules, as every caller of load_program has it);
each `[programs.NAME]` table is a regional program with its own tiers from the highest down, its
currency, the regions and/or countries it applies to, and each of its tiers mapped to a global tier
level (`[programs.NAME.tier_levels]`) so that channel-wide counts add up on one ladder. A setting a
regional program leaves out (nursery, at-risk limits, incentives, ...) is the global program's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from analytics.program.rules import (
    ProgramRules,
    _rules_toml,
    _toml_text,
    program_path,
    read_program_file,
    rules_from_table,
)

__all__ = ["GLOBAL", "RegionalProgram", "Programs", "load_programs", "regional_toml"]

GLOBAL = "Global"
# Settings a regional program takes from the global one unless it names its own (tiers never).
_INHERITED = ("nursery_quarters", "review_out_share", "review_lookback_quarters", "second_look_churn",
              "second_look_shortfall", "provisional_threshold", "at_risk_churn", "at_risk_fall",
              "at_risk_latest_share", "distributors", "incentives")


@dataclass(frozen=True)
class RegionalProgram:
    """One program: its rules, its currency, where it applies, and its tiers' global levels (tier -> global tier)."""

    name: str
    rules: ProgramRules
    currency: str
    regions: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    tier_levels: dict[str, str] = field(default_factory=dict, hash=False)

    def global_tier(self, tier: str) -> str:
        """Give the global tier level of one of this program's tiers (a tier it does not know stays as it is)."""
        return self.tier_levels.get(tier, tier)


@dataclass(frozen=True)
class Programs:
    """The global program and the regional ones; `program_for` gives the program that judges a partner."""

    global_program: RegionalProgram
    regional: tuple[RegionalProgram, ...] = ()

    @property
    def global_rules(self) -> ProgramRules:
        return self.global_program.rules

    @property
    def reporting_currency(self) -> str:
        """The currency of channel-wide figures: the global program's."""
        return self.global_program.currency

    @property
    def all(self) -> tuple[RegionalProgram, ...]:
        """Every program, the global one first."""
        return (self.global_program, *self.regional)

    def with_global_rules(self, rules: ProgramRules) -> Programs:
        """Give these programs with the global program's rules replaced (a what-if applied to the review)."""
        return replace(self, global_program=replace(self.global_program, rules=rules))

    def with_program_rules(self, name: str, rules: ProgramRules) -> Programs:
        """Give these programs with program `name`'s rules replaced (a what-if on that program only).

        The global program's name gives with_global_rules; an unknown name is a ValueError listing the names.
        """
        if name == self.global_program.name:
            return self.with_global_rules(rules)
        self.named(name)  # says which names there are
        return replace(self, regional=tuple(replace(p, rules=rules) if p.name == name else p for p in self.regional))

    def programs_of(self, regions: tuple[str, ...]) -> tuple[RegionalProgram, ...]:
        """Give the programs partners of `regions` are reviewed under (every program for no regions), global first."""
        if not regions:
            return self.all
        names = {self.for_region(region).name for region in regions}
        return tuple(p for p in self.all if p.name in names)

    def global_levels(self, frame) -> list[str]:
        """Give the global tier level of each row's tier (frame: tier, region and optionally country columns)."""
        countries = frame["country"] if "country" in frame.columns else [None] * len(frame)
        return [self.program_for(region if isinstance(region, str) else None,
                                 country if isinstance(country, str) else None).global_tier(tier)
                for tier, region, country in zip(frame["tier"], frame["region"], countries, strict=True)]

    def ladder_words(self) -> str:
        """Give how regional tiers map to global levels, where the names differ ("ANZ: Authorised → Authorized")."""
        return "; ".join(f"{p.name}: " + ", ".join(f"{tier} → {level}" for tier, level in p.tier_levels.items()
                                                   if tier != level)
                         for p in self.regional if any(t != lvl for t, lvl in p.tier_levels.items()))

    def named(self, name: str) -> RegionalProgram:
        """Give the program of this name, or a ValueError listing the names there are."""
        for program in self.all:
            if program.name == name:
                return program
        raise ValueError(f"No program named {name!r}; the program file has {', '.join(p.name for p in self.all)}")

    def program_for(self, region: str | None, country: str | None = None) -> RegionalProgram:
        """Give the program of a partner in `region` and `country`: its country's, else its region's, else global.

        A country list is the narrower choice, so it wins over a region list (an "AU" program judges an
        Australian partner recorded in a wider APAC region).
        """
        for program in self.regional:
            if country is not None and country in program.countries:
                return program
        for program in self.regional:
            if region is not None and region in program.regions:
                return program
        return self.global_program

    def for_region(self, region: str) -> RegionalProgram:
        """Give the program a review of `region` runs under (its own, else the global one)."""
        return self.program_for(region)


def _texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where} must be a list of names, like [\"ANZ\"]")
    return tuple(value)


def _currency(value: object, where: str) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValueError(f"{where} must be an ISO 4217 code such as \"AUD\", not {value!r}")
    return value


def programs_from_table(raw: dict, where: str) -> Programs:
    """Give the programs of a program file's parsed TOML; `where` (the file) is named in every error."""
    global_rules = rules_from_table(raw, where, source=where)
    reporting = _currency(raw.get("reporting_currency", "USD"), f"{where}: reporting_currency")
    global_program = RegionalProgram(GLOBAL, global_rules, reporting,
                                     tier_levels={t: t for t in global_rules.tier_names})
    tables = raw.get("programs", {})
    if not isinstance(tables, dict):
        raise ValueError(f"{where}: [programs.NAME] must be tables, one per regional program")
    regional, claimed = [], {}
    for name, table in tables.items():
        here = f"{where}: programs.{name}"
        if not isinstance(table, dict):
            raise ValueError(f"{here} must be a table")
        if name == GLOBAL:
            raise ValueError(f"{here}: {GLOBAL!r} is the name of the file's top-level program; choose another")
        regions = _texts(table.get("regions", []), f"{here}.regions")
        countries = _texts(table.get("countries", []), f"{here}.countries")
        if not regions and not countries:
            raise ValueError(f"{here} applies to nothing: give it regions = [...] or countries = [...]")
        for kind, values in (("region", regions), ("country", countries)):
            for value in values:
                if (kind, value) in claimed:
                    raise ValueError(f"{here}: {kind} {value!r} is already under programs.{claimed[kind, value]}")
                claimed[kind, value] = name
        merged = {key: raw[key] for key in _INHERITED if key in raw} | table
        rules = rules_from_table(merged, here, source=where)
        levels_raw = table.get("tier_levels")
        if not isinstance(levels_raw, dict):
            raise ValueError(f"{here} needs [programs.{name}.tier_levels]: each of its tiers = a global tier "
                             f"({', '.join(global_rules.tier_names)})")
        missing = [t for t in rules.tier_names if t not in levels_raw]
        if missing:
            raise ValueError(f"{here}.tier_levels lacks {', '.join(missing)}")
        unknown = {t: level for t, level in levels_raw.items() if level not in global_rules.tier_names}
        if unknown:
            tier, level = next(iter(unknown.items()))
            raise ValueError(f"{here}.tier_levels: {tier} = {level!r} is no global tier "
                             f"({', '.join(global_rules.tier_names)})")
        stray = [t for t in levels_raw if t not in rules.tier_names]
        if stray:
            raise ValueError(f"{here}.tier_levels names {', '.join(stray)}, which is not one of its tiers")
        currency = _currency(table.get("currency", reporting), f"{here}.currency")
        regional.append(RegionalProgram(name, rules, currency, regions, countries, dict(levels_raw)))
    return Programs(global_program, tuple(regional))


def load_programs(path: str | Path | None = None) -> Programs:
    """Give the global and regional programs of a program file, or a ValueError naming the file and key at fault.

    Without a path: the program's own file (program.program_path(): program.toml in $CHANNEL_RULES_DIR or data/).
    """
    path = Path(path) if path is not None else program_path()
    return programs_from_table(read_program_file(path), str(path))


def regional_toml(programs: Programs) -> tuple[tuple[str, ...], str]:
    """Give what a rules file needs besides its global rules: its top-level lines and its regional programs' tables.

    For program.save_program_as(regional=...): every regional program written out with all its settings, so that
    a rules file saved from a what-if on the global program keeps them.
    """
    top = (f"reporting_currency = {_toml_text(programs.reporting_currency)}",)
    tables = []
    for program in programs.regional:
        own = [f"regions = [{', '.join(_toml_text(r) for r in program.regions)}]",
               f"countries = [{', '.join(_toml_text(c) for c in program.countries)}]",
               f"currency = {_toml_text(program.currency)}"]
        text = _rules_toml(program.rules, [""], table=f"programs.{_toml_text(program.name)}", own=tuple(own))
        levels = "\n".join(f"{_toml_text(t)} = {_toml_text(level)}" for t, level in program.tier_levels.items())
        tables.append(text + f"\n[programs.{_toml_text(program.name)}.tier_levels]\n{levels}\n")
    return top, "".join(tables)
