"""The audit of commands (who ran what, with what result), and `audit verify`, which walks the hash chain."""

from __future__ import annotations

from sqlalchemy import Engine

from dashboard import settings
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK
from dashboard.i18n import number, t
from queries.audit import ALL_SERVICES, record_event, verify_chain

COMMAND_ROLE = "command"


def record_command(engine: Engine, action: str, filters: dict | None, detail: dict) -> None:
    """Audit a command's run: who (RELAIS_USER and the system user), what it was asked, and what it did."""
    relais_user = settings.get("RELAIS_USER") or None
    record_event(engine, subject=settings.operator(), roles=(COMMAND_ROLE,), services=ALL_SERVICES, action=action,
                 filters=filters, detail={"os_user": settings.os_user(), "relais_user": relais_user, **detail})


def run_audit_verify_command(engine: Engine) -> int:
    """Print whether the chain holds (and its last link, to keep elsewhere), or where it breaks; exit 1 if broken."""
    check = verify_chain(engine)
    if check.broken_id is not None:
        print(t(f"audit.verify.broken.{check.reason}", id=check.broken_id, rows=number(check.rows)))
        return EXIT_INVALID
    if check.last_id is None:
        print(t("audit.verify.empty"))
    else:
        print(t("audit.verify.intact", rows=number(check.rows), id=check.last_id, hash=check.last_hash))
    return EXIT_OK
