"""ID-token claims to a frozen Viewer (roles and police-service scope), and the pages each role may open."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from queries.filters import Scope

logger = logging.getLogger(__name__)

ROLES = ("captain", "director", "worker", "funder", "admin")
ALL_SERVICES = "*"

# Also the order of the navigation: a role's first page is its home page. Each is a script of pages/.
PAGES = ("queue", "overview", "outreach", "report", "data", "audit", "definitions")

PAGES_BY_ROLE: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "captain": frozenset({"overview", "outreach", "definitions"}),
        # The queue's length and lateness only: its rows (file numbers) are the worker's.
        "director": frozenset({"overview", "outreach", "report", "queue", "definitions"}),
        "worker": frozenset({"queue", "overview", "outreach", "definitions"}),
        # Suppressed figures only: the report is the one query a funder's scope may run (queries.report).
        "funder": frozenset({"report", "definitions"}),
        # Imports, their history and the audit log; no case-level data (Data comes first: the admin's home page).
        "admin": frozenset({"data", "audit", "definitions"}),
    }
)
# The queue is the worker's home page; to anyone else it comes after the pages they come for.
HOME_ONLY_FOR = {"queue": "worker"}

# Matches the police_service.code column (String(16)); anything else is a misconfigured claim, not a service.
_SERVICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,15}")


def _key(value: str) -> str:
    """A claim value as compared: surrounding spaces stripped, case folded only when it is ASCII."""
    # Folding other scripts merges look-alikes ("ſps".upper() is "SPS"): only ASCII is folded, the rest kept exact.
    value = value.strip()
    return value.lower() if value.isascii() else value


def _aliases(mapping: Mapping[str, str], setting: str, target: Callable[[str], str]) -> Mapping[str, str]:
    """Aliases with lookup keys and targets normalised; two spellings of one key must agree."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{setting} must be a table of provider value = our value, got {mapping!r}")
    normalised: dict[str, str] = {}
    for source, value in mapping.items():
        if not isinstance(source, str) or not isinstance(value, str) or not source.strip():
            raise ValueError(f"{setting}: aliases map non-empty strings to strings, got {source!r} = {value!r}")
        key = _key(source)
        if normalised.setdefault(key, target(value)) != target(value):
            raise ValueError(f"{setting}: {source!r} is given twice with different values")
    return MappingProxyType(normalised)


def _is_sequence(value: object) -> bool:
    """Whether a claim or setting value is a list-like collection (a string is not)."""
    return isinstance(value, (list, tuple, set, frozenset))


@dataclass(frozen=True)
class ClaimSettings:
    """Which ID-token claims carry the name, roles and police services, and how provider values map to ours."""

    roles_claim: str = "roles"
    services_claim: str = "police_services"
    name_claims: tuple[str, ...] = ("name", "preferred_username", "email", "sub")
    role_aliases: Mapping[str, str] = field(default_factory=dict)
    service_aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("roles_claim", "services_claim"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if not _is_sequence(self.name_claims) or not all(
            isinstance(claim, str) and claim.strip() for claim in self.name_claims
        ):
            raise ValueError(f"name_claims must be a list of claim names, got {self.name_claims!r}")
        role_aliases = _aliases(self.role_aliases, "role_aliases", _key)
        for source, role in role_aliases.items():
            if role not in ROLES:
                raise ValueError(f"role_aliases: {source!r} maps to {role!r}, not one of {', '.join(ROLES)}")
        service_aliases = _aliases(self.service_aliases, "service_aliases", lambda code: code.strip().upper())
        for source, code in service_aliases.items():
            if code != ALL_SERVICES and not _SERVICE_CODE.fullmatch(code):
                raise ValueError(f"service_aliases: {source!r} maps to {code!r}, not a service code or '*'")
        # Frozen: normalised values are written past the dataclass's own __setattr__.
        object.__setattr__(self, "name_claims", tuple(self.name_claims))
        object.__setattr__(self, "role_aliases", role_aliases)
        object.__setattr__(self, "service_aliases", service_aliases)

    def __hash__(self) -> int:
        return hash(
            (
                self.roles_claim,
                self.services_claim,
                self.name_claims,
                tuple(sorted(self.role_aliases.items())),
                tuple(sorted(self.service_aliases.items())),
            )
        )


def claim_settings_from(section: Mapping[str, object] | None) -> ClaimSettings:
    """ClaimSettings from a configuration table such as [relais.claims]; missing keys keep their defaults."""
    if section is None:
        return ClaimSettings()
    if not isinstance(section, Mapping):
        raise ValueError(f"claim settings must be a table, got {type(section).__name__}")
    known = [setting.name for setting in fields(ClaimSettings)]
    unknown = sorted(map(str, set(section) - set(known)))
    if unknown:
        raise ValueError(f"unknown claim settings: {', '.join(unknown)} (known: {', '.join(known)})")
    values = dict(section)
    names = values.get("name_claims")
    if isinstance(names, str):
        values["name_claims"] = (names,)
    return ClaimSettings(**values)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: who, which roles, which police services."""

    subject: str
    display_name: str
    roles: frozenset[str] = frozenset()
    police_services: frozenset[str] = frozenset()
    all_services: bool = False

    @property
    def scope(self) -> Scope:
        """The police services this viewer's queries are confined to."""
        return Scope(services=self.police_services, all_services=self.all_services, roles=self.roles)

    @property
    def has_access(self) -> bool:
        """Whether this viewer has an identity, at least one role and at least one police service."""
        return bool(self.subject) and bool(self.roles) and (self.all_services or bool(self.police_services))


def _nested(claims: Mapping[str, object], path: list[str]) -> object:
    value: object = claims
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _claim(claims: Mapping[str, object], name: str) -> object:
    """A claim by a dotted path into nested objects (Keycloak's realm_access.roles), else by its exact name."""
    path = name.split(".")
    # When the provider nests the claim (its first part is there), only the nested value counts: a top-level claim
    # spelled "realm_access.roles", from a user-editable attribute say, must neither shadow it nor stand in for it.
    # A name whose first part is absent (a URI such as Entra's role claim type) is read by its exact name.
    if len(path) > 1 and path[0] in claims:
        return _nested(claims, path)
    return claims.get(name)


def _claim_values(value: object, claim: str, subject: str) -> list[str]:
    """A claim as a list of non-empty stripped strings: a list, or one string split on commas."""
    if value is None:
        return []
    if isinstance(value, str):
        # Commas only: provider group names (Keycloak, Entra) may contain spaces.
        items: Iterable[object] = value.split(",")
    elif _is_sequence(value):
        items = value
    else:
        logger.warning("claim %r of %r is a %s, neither list nor string: ignored", claim, subject, type(value).__name__)
        return []
    values: list[str] = []
    for item in items:
        if isinstance(item, str) and item.strip():
            values.append(item.strip())
        elif not isinstance(item, str):
            logger.warning("claim %r of %r holds a %s: ignored", claim, subject, type(item).__name__)
    return values


def _roles(claims: Mapping[str, object], settings: ClaimSettings, subject: str) -> frozenset[str]:
    """Known roles named by the roles claim, directly or through an alias."""
    roles: set[str] = set()
    unknown: list[str] = []
    for value in _claim_values(_claim(claims, settings.roles_claim), settings.roles_claim, subject):
        key = _key(value)
        # With aliases configured, only aliased values count: another application's "admin" is not ours.
        role = settings.role_aliases.get(key) if settings.role_aliases else key
        if role in ROLES:
            roles.add(role)
        else:
            unknown.append(value)
    if unknown:
        logger.warning("unknown roles for %r in claim %r ignored: %s", subject, settings.roles_claim, unknown)
    return frozenset(roles)


def _services(claims: Mapping[str, object], settings: ClaimSettings, subject: str) -> tuple[frozenset[str], bool]:
    """Service codes named by the services claim, and whether '*' (all services) was among them."""
    codes: set[str] = set()
    unknown: list[str] = []
    for value in _claim_values(_claim(claims, settings.services_claim), settings.services_claim, subject):
        if settings.service_aliases:
            code = settings.service_aliases.get(_key(value))
        else:
            code = value.upper() if value.isascii() else None
        if code is not None and (code == ALL_SERVICES or _SERVICE_CODE.fullmatch(code)):
            codes.add(code)
        else:
            unknown.append(value)
    if unknown:
        logger.warning("invalid services for %r in claim %r ignored: %s", subject, settings.services_claim, unknown)
    return frozenset(codes - {ALL_SERVICES}), ALL_SERVICES in codes


def _display_name(claims: Mapping[str, object], settings: ClaimSettings, subject: str) -> str:
    """The first name claim holding a non-empty string, else the subject."""
    for name in settings.name_claims:
        value = _claim(claims, name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return subject


def viewer_from_claims(claims: Mapping[str, object], settings: ClaimSettings = ClaimSettings()) -> Viewer:
    """The Viewer described by an ID token's claims; unknown or malformed values are logged and ignored."""
    subject = claims.get("sub")
    subject = subject.strip() if isinstance(subject, str) else ""
    roles = _roles(claims, settings, subject)
    services, all_services = _services(claims, settings, subject)
    return Viewer(
        subject=subject,
        display_name=_display_name(claims, settings, subject),
        roles=roles,
        police_services=services,
        all_services=all_services,
    )


def pages_for(viewer: Viewer) -> tuple[str, ...]:
    """Page keys this viewer may open, in navigation order; none without access."""
    if not viewer.has_access:
        return ()
    allowed = set().union(*(PAGES_BY_ROLE.get(role, frozenset()) for role in viewer.roles))
    pages = [page for page in PAGES if page in allowed]
    for page, role in HOME_ONLY_FOR.items():
        if page in pages and role not in viewer.roles:
            # Just before Definitions, which always comes last.
            pages.remove(page)
            pages.insert(len(pages) - 1, page)
    return tuple(pages)
