"""How long a sign-in lasts (a maximum age from the ID token's sign-in time, an idle timeout) and what may sign it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.secret_strength import secret_problem

# Clocks of the provider and of this server may disagree by this much without the token looking forged.
CLOCK_SKEW_SECONDS = 300


@dataclass(frozen=True)
class SessionPolicy:
    """The longest a sign-in is honoured, and the longest a session may sit without a rerun."""

    max_hours: float = 12.0
    idle_minutes: float = 60.0

    def __post_init__(self) -> None:
        if not (self.max_hours > 0 and self.idle_minutes > 0):
            raise ValueError(f"session hours and idle minutes must be positive, got {self!r}")


def signed_in_at(claims: Mapping[str, object]) -> float | None:
    """When the provider issued these claims (the ID token's `iat`), in epoch seconds; None without one."""
    # `iat`, not `auth_time`: signing in again through the provider's own session issues a new token, checked
    # against the provider's current roles, which is what bounding the session is for.
    value = claims.get("iat")
    # bool is an int in Python: a claim of true is not a time.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def session_refusal(claims: Mapping[str, object], now: float, last_activity: float | None,
                    policy: SessionPolicy) -> str | None:
    """Why these claims may no longer be honoured ('undated', 'expired', 'idle'), or None while they may."""
    issued = signed_in_at(claims)
    # Without a sign-in time there is no way to bound the session: refuse rather than honour it for 30 days.
    if issued is None or issued > now + CLOCK_SKEW_SECONDS:
        return "undated"
    if now - issued > policy.max_hours * 3600:
        return "expired"
    if last_activity is not None and now - last_activity > policy.idle_minutes * 60:
        return "idle"
    return None


def cookie_secret_problem(secret: object) -> str | None:
    """Why a cookie secret must not sign identities ('missing', 'public', 'weak'), or None when it may."""
    # A TOML number or table is no secret: the same refusal as none at all.
    return secret_problem(secret if isinstance(secret, str) else None)
