"""What administrators read of the imports: the latest batches of their police services, and the services they may
import for."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, false, select

from queries.filters import Scope
from queries.runner import fetch_frame
from queries.schema import import_batch, police_service

HISTORY_LIMIT = 50
HISTORY_COLUMNS = ("started_at", "finished_at", "imported_by", "channel", "kind", "police_service", "status",
                   "rows_read", "rows_accepted", "rows_rejected", "file_name", "file_sha256")


def _batch_scope(scope: Scope):
    """A batch of one of the scope's services; one of no service (reference data) only for every service's scope."""
    if scope.all_services:
        return None
    if not scope.services:
        return false()
    return import_batch.c.police_service.in_(sorted(scope.services))


def import_history(bind: Engine, scope: Scope, limit: int = HISTORY_LIMIT) -> pd.DataFrame:
    """The latest batches in scope, newest first: when, who, which channel, kind, service, status and row counts."""
    scope.require_role("admin")
    statement = select(*(import_batch.c[name] for name in HISTORY_COLUMNS))
    condition = _batch_scope(scope)
    if condition is not None:
        statement = statement.where(condition)
    statement = statement.order_by(import_batch.c.started_at.desc(), import_batch.c.id.desc()).limit(limit)
    return fetch_frame(bind, statement)


def import_services(bind: Engine, scope: Scope) -> pd.DataFrame:
    """The police services an administrator may import for (code, name_fr, name_en), by code."""
    scope.require_role("admin")
    statement = select(police_service.c.code, police_service.c.name_fr, police_service.c.name_en)
    if not scope.all_services:
        statement = statement.where(police_service.c.code.in_(sorted(scope.services)))
    return fetch_frame(bind, statement.order_by(police_service.c.code))
