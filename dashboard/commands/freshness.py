"""`python -m dashboard freshness [--send]`: each police service's latest import and intervention, one line each;
with --send, one e-mail to the administrators per late spell (for cron or a systemd timer; the drop-folder watcher
calls announce_stale itself)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard import settings
from dashboard.commands.admin_mail import mail_admins
from dashboard.commands.audit import audit_command
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.i18n import LANGUAGES, elapsed, moment, t
from queries.filters import Scope
from queries.freshness import late_services, service_freshness, stale_services
from queries.localtime import LOCAL_TIMEZONE
from queries.schema import stale_notice

NEVER = "never"
DATA_PAGE = "data"


def spell(last_import_at) -> str:
    """The name of a late spell: the latest import's finish (ISO, UTC), or 'never'; a new import starts another."""
    if pd.isna(last_import_at):
        return NEVER
    return pd.Timestamp(last_import_at).to_pydatetime().astimezone(UTC).isoformat()


def _local(value, language: str | None) -> str:
    return moment(pd.Timestamp(value).to_pydatetime().astimezone(LOCAL_TIMEZONE), language)


def stale_message(row, base: str) -> tuple[str, str]:
    """The subject and body of a late spell's e-mail, French then English: the service and the hours, no person."""
    subject = " / ".join(t("freshness.mail.subject", language, code=row.code) for language in LANGUAGES)
    link = f"{base.rstrip('/')}/{DATA_PAGE}"
    sections = []
    for language in LANGUAGES:
        name = getattr(row, f"name_{language}")
        if pd.isna(row.last_import_at):
            news = t("freshness.mail.never", language, name=name, code=row.code)
        else:
            news = t("freshness.mail.stale", language, name=name, code=row.code,
                     elapsed=elapsed(row.hours_since_import, language), imported=_local(row.last_import_at, language))
        sections.append("\n\n".join([news, t("freshness.mail.link", language, link=link),
                                     t("freshness.mail.footer", language)]))
    return subject, "\n\n— — —\n\n".join(sections)


def _claim(engine: Engine, code: str, name: str, now: datetime, recipients: int) -> bool:
    """Record the spell as announced, before the e-mail goes: False when another process already did."""
    # The unique (police_service, spell) decides between two processes announcing at once: the second insert waits
    # for the first's commit, then fails. A send that reaches nobody releases it (_release).
    try:
        with engine.begin() as connection:
            connection.execute(insert(stale_notice).values(police_service=code, spell=name, notified_at=now,
                                                           recipients=recipients))
    except IntegrityError:
        return False
    return True


def announced_spells(engine: Engine, codes: list[str]) -> set[tuple[str, str]]:
    """The (service, spell) already announced among these services."""
    with engine.connect() as connection:
        rows = connection.execute(select(stale_notice.c.police_service, stale_notice.c.spell).where(
            stale_notice.c.police_service.in_(codes)))
        return {(code, name) for code, name in rows}


def mail_configured() -> bool:
    """Whether late spells can be announced: administrators' addresses and a relay are set."""
    return bool(settings.admin_emails()) and bool(settings.get("RELAIS_SMTP_URL"))


def announce_stale(engine: Engine, now: datetime) -> int:
    """E-mail the administrators once per late spell of every police service; return how many spells were
    announced. Without addresses or a relay nothing is recorded, so the spell is announced once they are set."""
    if not mail_configured():
        return 0
    late = stale_services(engine, None, Scope.everything(), now, settings.stale_hours())
    if late.empty:
        return 0
    known = announced_spells(engine, list(late["code"]))
    addresses, base, announced = settings.admin_emails(), settings.get("RELAIS_APP_URL"), 0
    for row in late.itertuples(index=False):
        name = spell(row.last_import_at)
        if (row.code, name) in known or not _claim(engine, row.code, name, now, len(addresses)):
            continue
        subject, body = stale_message(row, base)
        hours = None if pd.isna(row.hours_since_import) else round(float(row.hours_since_import), 1)
        sent = mail_admins(engine, subject, body, {"reason": "stale_data", "police_service": row.code, "spell": name,
                                                   "hours_since_import": hours})
        if not sent:
            # Nobody was told: the spell is released, and the next check (five minutes on) tries again.
            _release(engine, row.code, name)
            error(t("freshness.cli.failed", code=row.code))
            continue
        announced += 1
    return announced


def _release(engine: Engine, code: str, name: str) -> None:
    """Forget a spell whose e-mail reached nobody, so that it is announced again."""
    with engine.begin() as connection:
        connection.execute(delete(stale_notice).where(stale_notice.c.police_service == code,
                                                      stale_notice.c.spell == name))


def freshness_line(row, language: str | None = None) -> str:
    """One service's freshness on one line: latest import and intervention (local time), hours since, status."""
    def when(value, hours) -> str:
        if pd.isna(value):
            return t("freshness.never_at", language)
        return t("freshness.cli.when", language, when=_local(value, language), elapsed=elapsed(hours, language))

    if pd.isna(row.last_import_at):
        status = t("freshness.status.never", language)
    elif row.hours_since_import >= settings.stale_hours():
        status = t("freshness.status.late", language, elapsed=elapsed(row.hours_since_import, language))
    else:
        status = t("freshness.status.fresh", language)
    return t("freshness.cli.line", language, code=row.code, imported=when(row.last_import_at, row.hours_since_import),
             intervened=when(row.last_intervention_at, row.hours_since_intervention), status=status)


def run_freshness_command(engine: Engine, send_mail: bool) -> int:
    """Print each police service's freshness; with --send announce the late spells; exit 1 when a service is late."""
    if send_mail and not mail_configured():
        error(t("freshness.cli.not_configured"))
        return EXIT_USAGE
    now = datetime.now(UTC)
    frame = service_freshness(engine, None, Scope.everything(), now)
    for row in frame.itertuples(index=False):
        print(freshness_line(row))
    late = sorted(late_services(frame, settings.stale_hours())["code"])
    announced = 0
    if send_mail:
        announced = announce_stale(engine, now)
        print(t("freshness.cli.announced", count=announced))
    audit_command(engine, "freshness", {"send": send_mail}, {"late": late, "announced": announced})
    return EXIT_INVALID if late else EXIT_OK
