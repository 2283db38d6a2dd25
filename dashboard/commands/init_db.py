"""`python -m dashboard init-db`: create or upgrade the schema, load the reference data, audit what was done."""

from __future__ import annotations

import hashlib
from contextlib import suppress

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.commands.audit import audit_command, failure_detail, record_command
from dashboard.commands.exits import EXIT_OK
from dashboard.i18n import t
from queries.migrate import upgrade_to_head
from queries.reference import REFERENCE_DIR, load_reference


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, None before the first migration."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _reference_files() -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(REFERENCE_DIR.glob("*.csv"))}


def run_init_db_command(engine: Engine) -> int:
    """Migrate to the newest schema and load the reference data, then audit it (the audit table exists by then)."""
    before = schema_revision(engine)
    try:
        upgrade_to_head(engine)
        after = schema_revision(engine)
        counts = load_reference(engine)
    except BaseException as failure:
        # The migrations run in one transaction: a failed one leaves the schema, and the audit table, as they were.
        # Before the first migration there is no table to audit in; the error itself says what happened.
        with suppress(SQLAlchemyError):
            record_command(engine, "init_db", None, {"status": "failed", "schema_from": before,
                                                     "schema_to": schema_revision(engine), **failure_detail(failure)})
        raise
    audit_command(engine, "init_db", None, {"status": "done", "schema_from": before, "schema_to": after,
                     "police_services": counts.police_services, "municipalities": counts.municipalities,
                     "organisations": counts.organisations,
                     "reference_files_sha256": _reference_files()})
    url = engine.url.render_as_string(hide_password=True)
    print(t("cli.init_db.done", url=url, services=counts.police_services, municipalities=counts.municipalities))
    return EXIT_OK
