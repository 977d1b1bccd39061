"""Who may do what: roles, the roles file that maps signed-in people to them, and the engine's check.

Roles: viewer (every chart and table, no changes), operator (load, replace, roll back), reviewer
(record and change review decisions), admin (all of that plus the program rules). The engine's
write functions (ingest.load_extract, store_prepared, rollback_load, mappings.remember_mapping,
review.save_review, program.save_program) take an `actor` and call `check` before they write;
`actor=None` means the local operator of this machine (the command line, a notebook, the app without
sign-in), who may do everything. The pages hide what a role may not use, but the engine refuses it
too. A signed-in person's role comes from their ID token's claims (`actor_from_claims`).

A role may be scoped to regions (`regions` in the roles file): such a person sees and reviews only the
partners of those regions. Pages limit every query with the scope (analytics.filters.ChannelFilter.scope)
and the engine refuses a decision on a partner outside it (`check_scope`).
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analytics.paths import PROJECT_ROOT

__all__ = [
    "ROLES",
    "ACTIONS",
    "ROLES_PATH",
    "Actor",
    "AccessDenied",
    "RoleMap",
    "permitted",
    "check",
    "check_scope",
    "load_roles",
    "local_actor",
    "UNVERIFIED_EMAIL_NOTE",
    "actor_from_claims",
]

ROLES = ("viewer", "operator", "reviewer", "admin")
ACTIONS = ("load", "replace", "roll back", "save review", "change program rules")

# What each role may change; reading is open to every role.
_ALLOWED: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "operator": frozenset({"load", "replace", "roll back"}),
    "reviewer": frozenset({"save review"}),
    "admin": frozenset(ACTIONS),
}

ROLES_PATH = PROJECT_ROOT / "data" / "roles.toml"


def roles_path() -> Path:
    """Give the roles file: $CHANNEL_ROLES if set, else data/roles.toml in the project."""
    env = os.environ.get("CHANNEL_ROLES")
    return Path(env) if env else ROLES_PATH


class AccessDenied(PermissionError):
    """An action the person's role does not allow; the message says who, what and which role may."""


@dataclass(frozen=True)
class Actor:
    """Someone acting on the data: `who` is recorded with every write, `role` decides what they may do."""

    who: str
    role: str
    # The regions this person may see and review; empty: the whole channel (the global chief, an admin).
    regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Unknown role {self.role!r}; expected one of {', '.join(ROLES)}")
        object.__setattr__(self, "regions", tuple(self.regions))

    @property
    def scoped(self) -> bool:
        """Tell whether this person sees only some regions."""
        return bool(self.regions)

    def sees(self, region: str | None) -> bool:
        """Tell whether a partner recorded in `region` is within this person's regions."""
        return not self.regions or region in self.regions

    def describe_scope(self) -> str:
        """Give the regions this person sees in words ("ANZ only"; "every region")."""
        return f"{', '.join(self.regions)} only" if self.regions else "every region"

    def may(self, action: str) -> bool:
        """Tell whether this actor's role allows `action`."""
        return permitted(self.role, action)


def permitted(role: str | None, action: str) -> bool:
    """Tell whether `role` may do `action` (one of ACTIONS); an unknown role may do nothing."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    return action in _ALLOWED.get(role or "", frozenset())


def _who_may(action: str) -> str:
    return " or ".join(r for r in ROLES if action in _ALLOWED[r])


def check(actor: Actor | None, action: str) -> None:
    """Raise AccessDenied unless `actor` may do `action`; None (the local operator) may do everything."""
    if actor is None:
        permitted("admin", action)  # still refuses an unknown action name
        return
    if not actor.may(action):
        raise AccessDenied(
            f"{actor.who} signed in as {actor.role} may not {action}; that takes the {_who_may(action)} role. "
            "Nothing was changed."
        )


def check_scope(actor: Actor | None, regions: object) -> None:
    """Raise AccessDenied when any of `regions` (a partner's, one each) is outside the actor's regions.

    None (the local operator) and an unscoped actor may act on every region.
    """
    if actor is None or not actor.regions:
        return
    outside = sorted({str(r) for r in regions if r not in actor.regions})
    if outside:
        raise AccessDenied(f"{actor.who} reviews {actor.describe_scope()}; partners of {', '.join(outside)} are "
                           "not theirs to decide. Nothing was changed.")


def local_actor() -> Actor:
    """Give the person at this machine when no sign-in is configured: local single-user mode, admin."""
    return Actor(f"local user ({getpass.getuser()})", "admin")


@dataclass(frozen=True)
class RoleMap:
    """Roles by e-mail address and by domain, and the role of a signed-in person listed in neither."""

    people: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    default: str = "viewer"
    # Regions a person or a domain is limited to (those listed with `regions = [...]`); others see all.
    people_regions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    domain_regions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def regions_of(self, email: str | None) -> tuple[str, ...]:
        """Give the regions a signed-in address is limited to (as role_of finds its entry); () for all."""
        address = (email or "").strip().lower()
        if address in self.people:
            return self.people_regions.get(address, ())
        domain = address.rpartition("@")[2]
        while domain:
            if domain in self.domains:
                return self.domain_regions.get(domain, ())
            domain = domain.partition(".")[2]
        return ()

    def role_of(self, email: str | None) -> str:
        """Give the role of a signed-in e-mail address: by address, else by its domain or a parent, else the default."""
        address = (email or "").strip().lower()
        if address in self.people:
            return self.people[address]
        domain = address.rpartition("@")[2]
        while domain:
            if domain in self.domains:
                return self.domains[domain]
            domain = domain.partition(".")[2]
        return self.default


def _role(value: object, where: str) -> str:
    if value not in ROLES:
        raise ValueError(f"{where} must be one of {', '.join(ROLES)}, not {value!r}")
    return str(value)


def load_roles(path: str | Path | None = None) -> RoleMap:
    """Give the roles read from the roles file, or a ValueError naming the file and the entry at fault.

    A missing file gives every signed-in person the viewer role.
    """
    path = Path(path) if path is not None else roles_path()
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        return RoleMap()
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from exc
    for table in ("people", "domains"):
        if not isinstance(raw.get(table, {}), dict):
            raise ValueError(f"{path}: [{table}] must be a table of \"name\" = \"role\"")
    people, people_regions = _entries(raw.get("people", {}), f"{path}: people", lambda k: k.strip().lower())
    domains, domain_regions = _entries(raw.get("domains", {}), f"{path}: domains",
                                       lambda k: k.strip().lower().lstrip("@"))
    return RoleMap(people, domains, _role(raw.get("default_role", "viewer"), f"{path}: default_role"),
                   people_regions, domain_regions)


def _entries(table: dict, where: str, key) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Give the roles and the regions of a [people] or [domains] table: "name" = "role" or { role, regions }."""
    roles, regions = {}, {}
    for name, value in table.items():
        here = f"{where}.{name}"
        if isinstance(value, dict):
            unknown = set(value) - {"role", "regions"}
            if unknown:
                raise ValueError(f"{here} has {', '.join(sorted(unknown))}; an entry takes role and regions only")
            listed = value.get("regions", [])
            if not isinstance(listed, list) or not listed or not all(isinstance(r, str) and r for r in listed):
                raise ValueError(f"{here}.regions must be a list of region names, like [\"ANZ\"]")
            roles[key(name)] = _role(value.get("role"), f"{here}.role")
            regions[key(name)] = tuple(listed)
        else:
            roles[key(name)] = _role(value, here)
    return roles, regions


UNVERIFIED_EMAIL_NOTE = "Your e-mail address is not verified by the provider, so you can only view."


def _email_verified(claims: Mapping[str, object]) -> bool | None:
    """Give whether the ID token says the e-mail address is verified; None when it says nothing."""
    value = claims.get("email_verified")
    if value is None:
        return None
    # Some providers (Cognito, older Okta set-ups) send the claim as the string "true" / "false".
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def actor_from_claims(claims: Mapping[str, object], roles: RoleMap | None = None) -> tuple[Actor, str | None]:
    """Give the actor for a signed-in person's ID-token claims, and a note for them when their role was limited.

    The role comes from the roles file by e-mail address. An address the provider says it has not
    verified (`email_verified` false, or any value but true) could be anyone's, so its owner is a
    viewer at most, whatever the roles file maps it to. Where the provider sends no `email_verified`
    claim at all (Microsoft Entra ID, some Okta set-ups) the mapped role stands: capping everyone
    there would leave such a deployment without operators, and docs/running.md asks for roles to be
    mapped only to addresses in domains that provider controls.
    """
    roles = roles if roles is not None else load_roles()
    email = str(claims.get("email") or "").strip()
    who = email or str(claims.get("name") or "a signed-in user")
    if _email_verified(claims) is False:
        return Actor(who, "viewer", roles.regions_of(email)), UNVERIFIED_EMAIL_NOTE
    return Actor(who, roles.role_of(email), roles.regions_of(email)), None
