"""The audit of commands (who ran what, with what result); `audit verify`, which walks the hash chain and checks its
signatures; and `audit checkpoint`, which signs the chain's head."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard import settings
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.i18n import number, t
from dashboard.secret_strength import SECRET_RECIPE, secret_problem, shared_secret_problem
from queries.audit import (
    ALL_SERVICES,
    ChainCheck,
    forged_checkpoints_only,
    may_write_checkpoints,
    record_event,
    verify_chain,
    write_checkpoint,
)
from queries.localtime import LOCAL_TIMEZONE

COMMAND_ROLE = "command"
KEY_SETTING = "RELAIS_AUDIT_KEY"


def record_command(engine: Engine, action: str, filters: dict | None, detail: dict) -> None:
    """Audit a command's run: who (RELAIS_USER and the system user), what it was asked, and what it did."""
    relais_user = settings.get("RELAIS_USER") or None
    record_event(engine, subject=settings.operator(), roles=(COMMAND_ROLE,), services=ALL_SERVICES, action=action,
                 filters=filters, detail={"os_user": settings.os_user(), "relais_user": relais_user, **detail})


def audit_key_problem() -> str | None:
    """Why RELAIS_AUDIT_KEY cannot sign ('missing', 'public', 'weak', 'shared'), printed as an error; None when it
    can."""
    key = settings.audit_key()
    problem = secret_problem(key) or shared_secret_problem(key, settings.pseudonym_keys())
    if problem is not None:
        error(t(f"audit.key.{problem}", setting=KEY_SETTING, recipe=SECRET_RECIPE))
    return problem


def _unverified(check: ChainCheck) -> bool:
    """Whether signed records exist that no key checked: the links may hold, the chain is not verified."""
    return check.signed_records > 0 and not check.signatures_checked


def print_chain_check(check: ChainCheck) -> None:
    """What the walk found: the first problem, or the chain intact with its last link; where it starts; the
    latest checkpoint and the rows after it."""
    if check.reason is not None:
        print(t(f"audit.verify.broken.{check.reason}", id=check.broken_id, rows=number(check.rows),
                row=check.checkpoint_row))
    elif check.last_id is None:
        print(t("audit.verify.empty"))
    else:
        words = "audit.verify.links_hold" if _unverified(check) else "audit.verify.intact"
        print(t(words, rows=number(check.rows), id=check.last_id, hash=check.last_hash))
    if check.start_record is None:
        print(t("audit.verify.start.genesis"))
    else:
        print(t("audit.verify.start.anchor", id=check.start_record, row=check.start_id))
    latest = check.latest_checkpoint
    if latest is None:
        print(t("audit.verify.checkpoint.none"))
    else:
        when = latest.written_at.astimezone(LOCAL_TIMEZONE).strftime("%Y-%m-%d %H:%M")
        print(t("audit.verify.checkpoint.latest", id=latest.id, when=when, row=latest.audit_id,
                after=number(check.rows_after_checkpoint)))


def run_audit_verify_command(engine: Engine, expected: tuple[tuple[int, str], ...] = ()) -> int:
    """Print whether the chain holds and its signatures with it, and that each expected row (ID:HASH, as `audit
    checkpoint` printed it) is still there; exit 1 if broken, 2 if signed records exist that could not be checked
    without RELAIS_AUDIT_KEY."""
    key = settings.audit_key()
    if key is not None and audit_key_problem():
        return EXIT_USAGE
    check = verify_chain(engine, key, expected)
    print_chain_check(check)
    if check.reason is not None:
        return EXIT_INVALID
    if key is not None:
        print(t("audit.verify.signatures.checked", count=number(check.signed_records)))
    elif _unverified(check):
        # Without the key an anchor written by whoever removed the oldest rows looks like retention's own: the
        # chain is not verified, and saying "intact" would be the lie the signatures exist to prevent.
        error(t("audit.verify.signatures.unchecked", setting=KEY_SETTING, count=number(check.signed_records)))
        return EXIT_USAGE
    return EXIT_OK


def run_audit_checkpoint_command(engine: Engine) -> int:
    """Verify the chain with the key, then sign its head as a new checkpoint; refuse to sign a chain that is broken.
    Runs as the schema's owner: the app's role may not add checkpoints."""
    if audit_key_problem():
        return EXIT_USAGE
    key = settings.audit_key()
    with engine.connect() as connection:
        if not may_write_checkpoints(connection):
            error(t("audit.checkpoint.not_owner"))
            return EXIT_USAGE
    check = verify_chain(engine, key)
    # A checkpoint that fails its signature was not made with the key and vouches for nothing: the chain and every
    # signed record still hold, so signing goes on (or one forged row would stop every checkpoint for good), and
    # the forgery is reported, by this run's exit status and by every `verify`, until someone looks into it.
    forged = forged_checkpoints_only(check)
    if check.reason is not None and not forged:
        print_chain_check(check)
        error(t("audit.checkpoint.refused"))
        return EXIT_INVALID
    with engine.begin() as connection:
        checkpoint = write_checkpoint(connection, key, check, datetime.now(UTC))
    record_command(engine, "checkpoint", None, {"checkpoint": checkpoint.id, "audit_id": checkpoint.audit_id,
                                                "row_hash": checkpoint.row_hash, "rows": checkpoint.rows,
                                                "forged": [forged_id for _reason, forged_id, _row in check.problems]})
    print(t("audit.checkpoint.done", id=checkpoint.id, row=checkpoint.audit_id, hash=checkpoint.row_hash,
            rows=number(checkpoint.rows)))
    if forged:
        for _reason, forged_id, _row in check.problems:
            error(t("audit.verify.broken.checkpoint_signature", id=forged_id))
        return EXIT_INVALID
    return EXIT_OK


def failure_detail(failure: BaseException) -> dict:
    """What the audit keeps of an error: its type and its driver's, never its message (it may quote a row)."""
    cause = getattr(failure, "orig", None)
    return {"error": type(failure).__name__, **({"cause": type(cause).__name__} if cause is not None else {})}


def audit_command(engine: Engine, action: str, filters: dict | None, detail: dict, *,
                  refused_words: str = "command.error.audit") -> None:
    """Audit a command's run; a database that refuses the row is said on standard error, not raised (the command's
    own outcome is printed either way)."""
    try:
        record_command(engine, action, filters, detail)
    except SQLAlchemyError as failure:
        error(t(refused_words, error=str(failure).splitlines()[0]))
