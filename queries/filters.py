"""What a query may be asked: a frozen filter (period and chosen places) and the viewer's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Period:
    """An inclusive range of local calendar dates."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"period starts after it ends: {self.start} > {self.end}")


# Roles that read exact aggregate figures; a funder alone reads only what queries.report has suppressed.
EXACT_FIGURE_ROLES = frozenset({"captain", "director", "worker", "admin"})


@dataclass(frozen=True)
class Scope:
    """The police services whose data a viewer may read, and the viewer's roles; empty denies everything."""

    services: frozenset[str] = frozenset()
    all_services: bool = False
    roles: frozenset[str] = frozenset()
    # Set only inside queries.report, whose figures are suppressed before they are returned.
    for_release: bool = False

    @property
    def exact_figures(self) -> bool:
        """Whether queries may return unsuppressed figures to this scope: not to a funder alone, nor without a role."""
        return self.for_release or bool(self.roles & EXACT_FIGURE_ROLES)

    @classmethod
    def everything(cls) -> Scope:
        """Every service and role: for trusted operators on the command line, never from a browser session."""
        return cls(all_services=True, roles=frozenset({"captain", "director", "worker", "funder", "admin"}))

    @classmethod
    def of(cls, *services: str, role: str = "captain") -> Scope:
        """The given services only, read with one role (a captain's exact aggregate figures by default)."""
        return cls(services=frozenset(services), roles=frozenset({role}))

    def allows(self, service: str) -> bool:
        """Whether data of this service may be read."""
        return self.all_services or service in self.services

    def require_role(self, role: str) -> None:
        """Refuse, before any SQL runs, a query this scope's roles do not allow."""
        if role not in self.roles:
            raise PermissionError(f"this query needs the {role} role")


@dataclass(frozen=True)
class MetricFilter:
    """A period and, optionally, the police services and municipalities it is narrowed to."""

    period: Period
    services: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
