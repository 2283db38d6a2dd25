"""Files an administrator uploads on the Data page: the importer's checks with nothing written, then, on her click,
its one transaction, audited as any import is."""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields

from sqlalchemy import Engine

from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.ingest.importer import SILENT, ImportReport, check_file, import_file
from queries import writes
from queries.audit import audit_services, record_event
from queries.filters import Scope

CHANNEL = "upload"
PAGE = "data"
TOKEN = re.compile(r"[0-9a-f]{32}")
# The imports this process made, by token, so that a second click on the same checked file writes nothing more;
# only their counts, never a row's values (personal data kept for the process's life).
REMEMBERED_TOKENS = 1000
_done: OrderedDict[str, RememberedReport] = OrderedDict()
_done_lock = threading.Lock()


@dataclass
class RememberedReport(ImportReport):
    """An import's report as kept for a repeated click: its counts, without its problems and rejected rows."""

    rejected_rows: int = 0

    @property
    def rejected_count(self) -> int:
        """Rows set aside, counted before they were let go."""
        return self.rejected_rows


def remembered(report: ImportReport) -> RememberedReport:
    """What a repeated click is shown of an import: its counts and outcome, none of its rows' values."""
    kept = {field.name: getattr(report, field.name) for field in fields(ImportReport)}
    return RememberedReport(**{**kept, "problems": [], "rejected": []}, rejected_rows=report.rejected_count)


@dataclass(frozen=True)
class Uploader:
    """Who uploads: the signed-in administrator's subject, roles and police services."""

    subject: str
    scope: Scope


def _allowed(uploader: Uploader, service: str) -> None:
    """Deny by default: only an administrator, and only for a police service of her scope."""
    uploader.scope.require_role("admin")
    if not uploader.scope.allows(service):
        raise PermissionError(f"{service} is not among this administrator's police services")


def new_token() -> str:
    """A token for one checked file: its import is made once, however many times the button is clicked."""
    return uuid.uuid4().hex


def _audit(engine: Engine, uploader: Uploader, detail: dict) -> None:
    record_event(engine, subject=uploader.subject, roles=uploader.scope.roles, services=audit_services(uploader.scope),
                 action="import", page=PAGE, detail={"channel": CHANNEL, **detail})


def _file_detail(kind: str, data: bytes, file_name: str, service: str) -> dict:
    return {"kind": kind, "file": file_name, "file_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "service": service}


def _counts(report: ImportReport) -> dict:
    return {"status": report.status, "rows_read": report.rows_read, "valid": report.valid,
            "accepted": report.accepted, "replaced": report.replaced, "rejected": report.rejected_count,
            "problems": len(report.problems)}


def demo_database(engine: Engine) -> bool:
    """Whether the database holds the demo data (real and demo rows never share one)."""
    with engine.connect() as connection:
        return writes.demo_row_count(connection) > 0


def _demo_options(engine: Engine) -> dict:
    # In the demo's database an upload is demo data under the demo's public key, as a hand entry and the demo's
    # drop folder are; the page says so above the uploader. A real database holds no demo row: `import` refuses one.
    return {"demo": True, "pseudonym_keys": DEMO_PSEUDONYM_KEYS} if demo_database(engine) else {}


def check_upload(engine: Engine, kind: str, data: bytes, file_name: str, uploader: Uploader, service: str,
                 progress: Callable = SILENT) -> ImportReport:
    """The importer's every check of an uploaded file, nothing written but the audit row of the check."""
    _allowed(uploader, service)
    report = check_file(engine, kind, data, file_name, service=service, progress=progress, **_demo_options(engine))
    # Its problems quote the file's values and, for attempts, which events the database holds.
    _audit(engine, uploader, {**_file_detail(kind, data, file_name, service), **_counts(report)})
    return report


def import_upload(engine: Engine, kind: str, data: bytes, file_name: str, uploader: Uploader, service: str, *,
                  skip_invalid: bool, token: str, progress: Callable = SILENT) -> ImportReport:
    """Import an uploaded file (all of it, or its valid rows) on the channel "upload", audited; the same token again
    imports nothing and returns the first report's counts (its problems and rejected rows are not kept)."""
    _allowed(uploader, service)
    if not TOKEN.fullmatch(token):
        raise ValueError("an upload token is 32 lowercase hexadecimal digits, made by new_token")
    with _done_lock:
        if token in _done:
            return _done[token]
    detail = {**_file_detail(kind, data, file_name, service), "skip_invalid": skip_invalid, "token": token}
    try:
        report = import_file(engine, kind, data, file_name, skip_invalid=skip_invalid, imported_by=uploader.subject,
                             progress=progress, service=service, channel=CHANNEL, **_demo_options(engine))
    except BaseException as failure:
        # An error, or the page's run stopped midway (another click): the transaction is rolled back, and said.
        status = "failed" if isinstance(failure, Exception) else "interrupted"
        _audit(engine, uploader, {**detail, "status": status, "error": type(failure).__name__})
        raise
    _audit(engine, uploader, {**detail, **_counts(report), "batch_id": report.batch_id})
    with _done_lock:
        _done[token] = remembered(report)
        while len(_done) > REMEMBERED_TOKENS:
            _done.popitem(last=False)
    return report
