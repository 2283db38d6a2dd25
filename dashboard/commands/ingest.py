"""`python -m dashboard ingest DIR [--once] [--poll SECONDS]`: the drop folder. Files left in
DIR/incoming/<SERVICE>/<kind>/ are imported as the import command would, oldest first, then moved to DIR/done/ or
DIR/failed/ with a report (and their rejects) beside them."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from dashboard import settings
from dashboard.commands.admin_mail import mail_admins
from dashboard.commands.audit import audit_command, failure_detail
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK
from dashboard.commands.freshness import announce_stale
from dashboard.commands.printing import error, problem_table
from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.i18n import LANGUAGES, number, t
from dashboard.ingest.importer import KINDS, ImportReport, import_file, write_rejects
from dashboard.private_files import owner_only_file
from queries.reference import known_services
from queries.writes import imported_batch_by_hash, insert_duplicate_batch

DROP_KINDS = ("interventions", "outreach", "referrals", "risk")
# Seconds between the two looks at a file in --once mode: a file still being copied changes size or time meanwhile.
SETTLE_SECONDS = 1.0
# Without an event, the folder is looked at again this often: a file that was still growing is taken up again.
RESCAN_SECONDS = 5.0
# The database unreachable or locked: the file waits, tried again after 5 s, then twice as long each time up to 5 min;
# the administrators are mailed once, at the MAILED_AFTER_TRIES-th failure in a row.
RETRY_FIRST_SECONDS = 5.0
RETRY_MOST_SECONDS = 300.0
MAILED_AFTER_TRIES = 5
# Errors of the connection, not of the file: anything else the database says of an import is the file's (failed/).
CONNECTION_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)
MAILED_PROBLEMS = 10
# How often the watcher looks for police services whose data stopped coming (one e-mail per late spell).
STALE_CHECK_SECONDS = 300.0
CHANNEL = "drop_folder"


@dataclass(frozen=True)
class Arrival:
    """A file in incoming/<SERVICE>/<kind>/, as last seen: its size and modification time."""

    path: Path
    service_folder: str
    kind: str
    size: int
    mtime_ns: int

    @property
    def shown(self) -> str:
        """Where it was dropped, from incoming/ on."""
        return f"{self.service_folder}/{self.kind}/{self.path.name}"


@dataclass
class Outcome:
    """What became of one file: done, failed, duplicate, or left (a database error: it stays in incoming/)."""

    outcome: str
    service: str | None = None
    report: ImportReport | None = None
    why: str = ""
    why_values: dict = field(default_factory=dict)
    moved_to: Path | None = None
    batch_id: int | None = None
    duplicate_of: int | None = None
    tries: int = 0

    def reason(self, language: str | None = None) -> str:
        """Why the file failed without a report of rows, in a language; empty otherwise."""
        return t(self.why, language, **self.why_values) if self.why else ""


def _skipped(name: str) -> bool:
    """A file still being written by convention (.part) or hidden (.name): never taken."""
    return name.startswith(".") or name.endswith(".part")


@dataclass
class DropFolder:
    """The drop folder's state between looks: each file's size and time last seen, the misplaced files already
    warned of, and the files an unreachable database left behind (when each is tried again, how many tries failed)."""

    engine: Engine
    root: Path
    demo: bool = False
    seen: dict[Path, tuple[int, int]] = field(default_factory=dict)
    warned: set[Path] = field(default_factory=set)
    retry_at: dict[Path, float] = field(default_factory=dict)
    tries: dict[Path, int] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    @property
    def incoming(self) -> Path:
        """Where files are dropped."""
        return self.root / "incoming"

    def prepare(self) -> None:
        """Create incoming/, done/ and failed/ if they are missing."""
        for name in ("incoming", "done", "failed"):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    def _warn(self, path: Path, words: str) -> None:
        """Say once per path why it is left alone."""
        if path not in self.warned:
            self.warned.add(path)
            print(t(words, path=path.relative_to(self.incoming)), file=sys.stderr, flush=True)

    def look(self) -> list[Arrival]:
        """Every regular file waiting in incoming/<SERVICE>/<kind>/, oldest first; files elsewhere, symbolic links,
        pipes and devices are warned of once and never read."""
        found = []
        for path in sorted(self.incoming.rglob("*")):
            relative = path.relative_to(self.incoming)
            if any(_skipped(part) for part in relative.parts):
                continue
            try:
                status = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(status.st_mode):
                continue
            if not stat.S_ISREG(status.st_mode):
                # A link could make the watcher read, link and move a file it was never given.
                self._warn(path, "ingest.not_regular")
                continue
            if len(relative.parts) != 3:
                self._warn(path, "ingest.misplaced")
                continue
            found.append(Arrival(path, relative.parts[0], relative.parts[1], status.st_size, status.st_mtime_ns))
        return sorted(found, key=lambda arrival: (arrival.mtime_ns, arrival.path.name))

    def ready(self) -> tuple[list[Arrival], int]:
        """The files unchanged since the previous look (oldest first), and how many others wait for another look."""
        arrivals = self.look()
        previous, self.seen = self.seen, {arrival.path: (arrival.size, arrival.mtime_ns) for arrival in arrivals}
        now = self.clock()
        steady = [arrival for arrival in arrivals
                  if previous.get(arrival.path) == (arrival.size, arrival.mtime_ns)
                  and self.retry_at.get(arrival.path, 0.0) <= now]
        return steady, sum(1 for arrival in arrivals if previous.get(arrival.path) != (arrival.size, arrival.mtime_ns))

    def handle(self, arrival: Arrival) -> Outcome:
        """Import one file, move it with its report, audit it, e-mail the administrators if it failed."""
        try:
            data = _read_regular(arrival.path)
        except FileNotFoundError:
            self._forget(arrival.path)
            return Outcome("gone")
        except NotRegularFile:
            self._warn(arrival.path, "ingest.not_regular")
            return Outcome("gone")
        digest = hashlib.sha256(data).hexdigest()
        received = datetime.now(UTC)
        extra = None
        try:
            outcome = self._imported(arrival, data, digest, received)
        except CONNECTION_ERRORS as failure:
            # The database is unreachable or locked: the file is not the problem; it waits to be taken again.
            return self._left(arrival, digest, len(data), failure)
        except SQLAlchemyError as failure:
            # The database refused this file's rows (a constraint, a value it cannot store): trying again would
            # fail the same way, so it is set aside and mailed as an invalid file is. Never the message: it may
            # quote a row.
            extra = failure_detail(failure)
            outcome = Outcome("failed", why="ingest.reason.database_refused",
                              why_values={"error": type(failure).__name__})
        except Exception as failure:
            # An unexpected failure of the import on this file: set aside (never retried in a loop), said, mailed.
            traceback.print_exc()
            outcome = Outcome("failed", why="ingest.reason.unexpected", why_values={"error": type(failure).__name__})
        self._forget(arrival.path)
        outcome.moved_to = self._move(arrival, outcome, digest, received)
        self._audit(arrival, digest, len(data), outcome, extra)
        if outcome.outcome == "failed":
            self._mail(arrival, outcome, digest)
        return outcome

    def _left(self, arrival: Arrival, digest: str, size: int, failure: SQLAlchemyError) -> Outcome:
        """Leave the file in incoming/, to be tried again after a delay that doubles with each failure in a row;
        the administrators are mailed once, when the failures reach MAILED_AFTER_TRIES."""
        tries = self.tries[arrival.path] = self.tries.get(arrival.path, 0) + 1
        delay = retry_delay(tries)
        self.retry_at[arrival.path] = self.clock() + delay
        error(t("ingest.error.database", file=arrival.shown, error=str(failure).splitlines()[0]))
        outcome = Outcome("left", why="ingest.reason.database", why_values={"error": type(failure).__name__},
                          tries=tries)
        self._audit(arrival, digest, size, outcome, {**failure_detail(failure), "tries": tries,
                                                      "retry_seconds": delay})
        if tries == MAILED_AFTER_TRIES:
            self._mail(arrival, outcome, digest)
        return outcome

    def _forget(self, path: Path) -> None:
        self.retry_at.pop(path, None)
        self.tries.pop(path, None)

    def _imported(self, arrival: Arrival, data: bytes, digest: str, received: datetime) -> Outcome:
        with self.engine.connect() as connection:
            services = {code.upper(): code for code in known_services(connection)}
        service = services.get(arrival.service_folder.strip().upper())
        if service is None:
            known = ", ".join(sorted(services.values()))
            return Outcome("failed", why="ingest.reason.unknown_service",
                           why_values={"folder": arrival.service_folder, "services": known})
        kind = arrival.kind.strip().lower()
        if kind not in DROP_KINDS:
            return Outcome("failed", service, why="ingest.reason.unknown_kind",
                           why_values={"folder": arrival.kind, "kinds": ", ".join(DROP_KINDS)})
        if kind not in KINDS:
            return Outcome("failed", service, why="ingest.reason.kind_not_yet", why_values={"kind": kind})
        with self.engine.begin() as connection:
            original = imported_batch_by_hash(connection, digest, kind, service)
            if original is not None:
                batch = insert_duplicate_batch(connection, {
                    "demo": self.demo, "police_service": service, "channel": "demo" if self.demo else CHANNEL,
                    "kind": kind, "file_name": arrival.path.name, "file_sha256": digest,
                    "imported_by": settings.operator(), "started_at": received, "finished_at": datetime.now(UTC)})
                return Outcome("duplicate", service, batch_id=batch, duplicate_of=original)
        report = import_file(self.engine, kind, data, arrival.path.name, skip_invalid=settings.ingest_skip_invalid(),
                             service=service, channel=CHANNEL, imported_by=settings.operator(), demo=self.demo,
                             pseudonym_keys=DEMO_PSEUDONYM_KEYS if self.demo else None)
        return Outcome("done" if report.written else "failed", service, report, batch_id=report.batch_id)

    def _move(self, arrival: Arrival, outcome: Outcome, digest: str, received: datetime) -> Path:
        """Move the file to done/ or failed/ under a name no other file has, its report (and rejects) beside it."""
        folder = self.root / ("failed" if outcome.outcome == "failed" else "done")
        folder.mkdir(parents=True, exist_ok=True)
        stamp = received.strftime("%Y%m%dT%H%M%SZ")
        for attempt in range(1, 10_000):
            suffix = "" if attempt == 1 else f"-{attempt}"
            target = folder / f"{stamp}{suffix}_{arrival.service_folder}_{arrival.kind}_{arrival.path.name}"
            companions = (_beside(target, ".report.txt"), _beside(target, ".rejects.csv"))
            if any(path.exists() for path in companions) or not _moved_without_overwriting(arrival.path, target):
                continue
            break
        else:
            raise FileExistsError(target)
        report = outcome.report
        with owner_only_file(companions[0], "w", encoding="utf-8") as handle:
            handle.write(report_text(arrival, outcome, digest, received))
        if report is not None and report.rejected and report.written:
            write_rejects(report, companions[1])
        return target

    def _audit(self, arrival: Arrival, digest: str, size: int, outcome: Outcome, extra: dict | None = None) -> None:
        report = outcome.report
        detail = {"file_sha256": digest, "bytes": size, "outcome": outcome.outcome, "service": outcome.service,
                  "kind": arrival.kind, "channel": CHANNEL, "demo": self.demo,
                  "rows_read": report.rows_read if report else 0, "accepted": report.accepted if report else 0,
                  "rejected": len(report.rejected) if report else 0, "batch_id": outcome.batch_id,
                  **({"duplicate_of": outcome.duplicate_of} if outcome.duplicate_of else {}),
                  **({"reason": outcome.why.removeprefix("ingest.reason.")} if outcome.why else {}),
                  **({"moved_to": outcome.moved_to.name} if outcome.moved_to else {}), **(extra or {})}
        audit_command(self.engine, "ingest", {"file": arrival.path.name, "folder": arrival.service_folder,
                                              "kind": arrival.kind}, detail)

    def _mail(self, arrival: Arrival, outcome: Outcome, digest: str) -> None:
        waiting = outcome.outcome == "left"
        words = "ingest.mail.subject.left" if waiting else "ingest.mail.subject"
        subject = " / ".join(t(words, language, file=arrival.path.name,
                               service=outcome.service or arrival.service_folder) for language in LANGUAGES)
        try:
            mail_admins(self.engine, subject, mail_body(arrival, outcome),
                        {"file": arrival.path.name, "service": outcome.service or arrival.service_folder,
                         "kind": arrival.kind, "file_sha256": digest,
                         "reason": "drop_folder_waiting" if waiting else "drop_folder_failed"})
        except SQLAlchemyError as failure:
            error(t("command.error.audit", error=str(failure).splitlines()[0]))


def retry_delay(tries: int) -> float:
    """Seconds before a file the database could not take is tried again, after `tries` failures in a row."""
    return min(RETRY_FIRST_SECONDS * 2 ** (tries - 1), RETRY_MOST_SECONDS)


class NotRegularFile(OSError):
    """The path is no longer a regular file (a link, a pipe or a device put in its place)."""


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file, never through a symbolic link, never blocking on a pipe."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as failure:
        if failure.errno == errno.ELOOP:
            raise NotRegularFile(path) from failure
        raise
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotRegularFile(path)
        return handle.read()


def _beside(target: Path, suffix: str) -> Path:
    return target.with_name(target.name + suffix)


def _moved_without_overwriting(source: Path, target: Path) -> bool:
    """Move source to target unless target exists (False then); a hard link is atomic about it where it works."""
    try:
        # Not following a link: should one replace the file after it was read, the link is moved, not its target.
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError:
        # A share without hard links: the check and the rename are two steps, but only this process moves there.
        if target.exists():
            return False
        os.rename(source, target)
        return True
    os.unlink(source)
    return True


def _counts(report: ImportReport | None, language: str) -> dict[str, str]:
    if report is None:
        return {name: number(0, language) for name in ("read", "accepted", "new", "replaced", "rejected")}
    return {"read": number(report.rows_read, language), "accepted": number(report.accepted, language),
            "new": number(report.new, language), "replaced": number(report.replaced, language),
            "rejected": number(len(report.rejected), language)}


def _summary(arrival: Arrival, outcome: Outcome, language: str) -> list[str]:
    lines = [t(f"ingest.outcome.{outcome.outcome}", language, file=arrival.path.name,
               service=outcome.service or arrival.service_folder, kind=arrival.kind),
             t("ingest.counts", language, **_counts(outcome.report, language))]
    if outcome.duplicate_of:
        lines.append(t("ingest.duplicate_of", language, batch=outcome.duplicate_of))
    if outcome.why:
        lines.append(outcome.reason(language))
    return lines


def report_text(arrival: Arrival, outcome: Outcome, digest: str, received: datetime) -> str:
    """The report left beside a file: what became of it, French then English, then every problem (line, column,
    value, reason) in the configured language."""
    sections = []
    for language in LANGUAGES:
        sections.append("\n".join([*_summary(arrival, outcome, language),
                                   t("ingest.received", language, when=received.isoformat(timespec="seconds"),
                                     sha256=digest)]))
    report = outcome.report
    if report is not None and report.problems:
        header = (t("import.table.line"), t("import.table.column"), t("import.table.value"), t("import.table.reason"))
        sections.append(problem_table(header, [(str(p.line), p.column, p.value, p.reason) for p in report.problems]))
    return "\n\n".join(sections) + "\n"


def mail_body(arrival: Arrival, outcome: Outcome) -> str:
    """The administrators' e-mail: file, service, kind, counts and the first problems' line, column and reason,
    never a value (a row's values are personal data)."""
    problems = outcome.report.problems[:MAILED_PROBLEMS] if outcome.report else []
    sections = []
    for language in LANGUAGES:
        lines = _summary(arrival, outcome, language)
        if outcome.outcome == "left":
            lines.append(t("ingest.mail.tries", language, tries=number(outcome.tries, language),
                           seconds=number(int(retry_delay(outcome.tries)), language),
                           most=number(int(RETRY_MOST_SECONDS), language)))
        lines += [t("ingest.mail.problem", language, line=p.line, column=p.column or "—", reason=p.reason)
                  for p in problems]
        if outcome.report and len(outcome.report.problems) > len(problems):
            lines.append(t("ingest.mail.more", language, count=number(len(outcome.report.problems) - len(problems),
                                                                      language)))
        lines.append(t("ingest.mail.where.left" if outcome.outcome == "left" else "ingest.mail.where", language))
        sections.append("\n".join(lines))
    return "\n\n— — —\n\n".join(sections)


def _printed(arrival: Arrival, outcome: Outcome) -> None:
    """One line per file handled."""
    counts = _counts(outcome.report, settings.language())
    moved = outcome.moved_to.relative_to(outcome.moved_to.parent.parent) if outcome.moved_to else "incoming/"
    print(t(f"ingest.line.{outcome.outcome}", file=arrival.shown, moved=moved, accepted=counts["accepted"],
            rejected=counts["rejected"], reason=outcome.reason()), flush=True)


class Stopping:
    """SIGTERM and SIGINT ask the watcher to stop once the current file is handled."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        """Catch both signals (the main thread only may)."""
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda _number, _frame: self.event.set())


def process_ready(folder: DropFolder, stop: threading.Event, settle: float) -> tuple[int, int]:
    """Look, let new files settle, look again, handle the steady ones oldest first; (failed or left, waiting)."""
    steady, waiting = folder.ready()
    if waiting and not stop.wait(settle):
        steady, waiting = folder.ready()
    troubled = 0
    for arrival in steady:
        if stop.is_set():
            break
        outcome = folder.handle(arrival)
        if outcome.outcome != "gone":
            _printed(arrival, outcome)
        troubled += outcome.outcome in ("failed", "left")
        folder.seen.pop(arrival.path, None)
    return troubled, waiting


def run_ingest_command(engine: Engine, root: Path, once: bool, poll: float | None = None, *, demo: bool = False,
                       settle: float = SETTLE_SECONDS, stop: threading.Event | None = None) -> int:
    """Handle the drop folder's files; with `once`, those there now, else until SIGTERM or SIGINT (exit 0)."""
    folder = DropFolder(engine, root, demo)
    folder.prepare()
    if once:
        troubled, waiting = process_ready(folder, threading.Event(), settle)
        if waiting:
            print(t("ingest.still_growing", count=number(waiting)), flush=True)
        return EXIT_INVALID if troubled else EXIT_OK
    if stop is None:
        stopping = Stopping()
        stopping.install()
        stop = stopping.event
    return watch(folder, stop, poll, settle)


def watch(folder: DropFolder, stop: threading.Event, poll: float | None, settle: float) -> int:
    """Handle files as they arrive (inotify through watchfiles, or polling every `poll` seconds) until stopped."""
    from watchfiles import watch as watched

    mechanism = t("ingest.polling", seconds=number(poll, digits=1)) if poll else t("ingest.inotify")
    print(t("ingest.watching", folder=folder.incoming, mechanism=mechanism), flush=True)
    process_ready(folder, stop, settle)
    next_stale_check = _announce_stale(folder, 0.0)
    for _changes in watched(folder.incoming, stop_event=stop, force_polling=bool(poll),
                            poll_delay_ms=int((poll or 1) * 1000), rust_timeout=int(RESCAN_SECONDS * 1000),
                            yield_on_timeout=True, debounce=400, raise_interrupt=False):
        if stop.is_set():
            break
        process_ready(folder, stop, settle)
        next_stale_check = _announce_stale(folder, next_stale_check)
    print(t("ingest.stopped"), flush=True)
    return EXIT_OK


def _announce_stale(folder: DropFolder, due: float) -> float:
    """Once every STALE_CHECK_SECONDS, e-mail the administrators a police service's new late spell; the next time."""
    now = time.monotonic()
    if now < due:
        return due
    try:
        announce_stale(folder.engine, datetime.now(UTC))
    except (SQLAlchemyError, OSError) as failure:
        # The watcher's first duty is the files: a database or relay that fails here is retried at the next check.
        error(t("ingest.stale_check_failed", error=failure.__class__.__name__))
    return now + STALE_CHECK_SECONDS
