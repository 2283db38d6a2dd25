"""`python -m dashboard alerts [--week YYYY-Www] [--send]`: last week's unusual municipalities for each police
service, e-mailed to the captains who subscribed (counts and municipality names only)."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlencode, urlsplit

import pandas as pd
from sqlalchemy import Engine

from dashboard import settings
from dashboard.commands.audit import record_command
from dashboard.commands.exits import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.i18n import LANGUAGES, number, t
from queries.audit import record_event
from queries.expected import unusual_weeks
from queries.filters import MetricFilter, Period, Scope
from queries.localtime import LOCAL_TIMEZONE, week_label, week_monday
from queries.places import services_in_scope

WEEK = re.compile(r"[0-9]{4}-W[0-9]{2}")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SMTP_SECONDS = 30


class AlertSettingsError(ValueError):
    """The alert settings cannot be used; the message says which and why."""


# URL scheme → how the connection is protected, and the port when the URL names none.
SCHEMES = {"smtp": ("starttls", 587), "smtps": ("tls", 465), "smtp+plain": ("plain", 25)}


@dataclass(frozen=True)
class Relay:
    """Where messages go: host, port, how the connection is protected ('starttls', 'tls', 'plain'), the login."""

    host: str
    port: int
    security: str
    user: str | None = None
    password: str | None = None


def relay_from_url(url: str) -> Relay:
    """smtp://user:pass@host:587 (STARTTLS required), smtps://…:465 (TLS from the start) or smtp+plain://127.0.0.1:
    port (this machine only)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise AlertSettingsError(t("alerts.error.smtp_url"))
    security, default_port = SCHEMES[parts.scheme]
    if security == "plain" and parts.hostname not in LOCAL_HOSTS:
        # Without TLS the digest would cross the network readable: only a relay on this machine may take it so.
        raise AlertSettingsError(t("alerts.error.plain_remote", host=parts.hostname))
    return Relay(parts.hostname, parts.port or default_port, security,
                 unquote(parts.username) if parts.username else None,
                 unquote(parts.password) if parts.password else None)


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Certificate and host name verified, against the system's authorities or, when given, this CA file's alone."""
    # No setting turns verification off: a relay with an internal CA is trusted through its CA file instead.
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except OSError as problem:
        raise AlertSettingsError(t("alerts.error.ca_file", path=ca_file, error=problem)) from None


def subscriptions(text: str) -> dict[str, tuple[str, ...]]:
    """address → police service codes, from `address=CODE,CODE;address=CODE`."""
    found: dict[str, tuple[str, ...]] = {}
    for entry in filter(None, (part.strip() for part in text.split(";"))):
        address, _, codes = entry.partition("=")
        services = tuple(code.strip().upper() for code in codes.split(",") if code.strip())
        if "@" not in address or not services:
            raise AlertSettingsError(t("alerts.error.subscription", entry=entry))
        found[address.strip()] = services
    return found


def last_complete_week(now: datetime) -> str:
    """The ISO week before the one under way (local time)."""
    return week_label(now.astimezone(LOCAL_TIMEZONE).date() - timedelta(days=7))


def unusual_by_service(engine: Engine, week: str, services: list[str]) -> dict[str, pd.DataFrame]:
    """Each police service's unusual municipalities of the week (the Overview's own query), largest excess first."""
    monday = week_monday(week)
    flt = MetricFilter(Period(monday, monday + timedelta(days=6)))
    return {code: unusual_weeks(engine, flt, Scope.of(code)) for code in services}


def overview_link(base: str, week: str, service: str) -> str:
    """The Overview filtered on that week and service."""
    monday = week_monday(week)
    query = urlencode({"period": "custom", "from": monday.isoformat(),
                       "to": (monday + timedelta(days=6)).isoformat(), "service": service})
    return f"{base.rstrip('/')}/overview?{query}"


def digest(week: str, found: dict[str, pd.DataFrame], names: dict[str, str], base: str) -> tuple[str, str]:
    """The subject and the body, French then English: counts and municipalities only, never a file or a person."""
    total = sum(len(frame) for frame in found.values())
    subject = " / ".join(t("alerts.subject", language, week=week, count=total) for language in LANGUAGES)
    sections = []
    for language in LANGUAGES:
        lines = [t("alerts.intro", language, week=week)]
        for code, frame in found.items():
            lines += ["", f"{names.get(code, code)} ({code})"]
            if frame.empty:
                lines.append("  " + t("alerts.none", language))
            for row in frame.itertuples():
                lines.append("  " + t("alerts.line", language, municipality=row.name,
                                      count=number(row.interventions, language),
                                      expected=number(row.expected, language, 1), upper=number(row.upper, language)))
            lines.append("  " + overview_link(base, week, code))
        lines += ["", t("alerts.footer", language)]
        sections.append("\n".join(lines))
    return subject, "\n\n— — —\n\n".join(sections)


def plain_message(address: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from RELAIS_ALERT_FROM to one address."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.get("RELAIS_ALERT_FROM"), address, subject
    message.set_content(body)
    return message


def send(relay: Relay, message: EmailMessage, context: ssl.SSLContext) -> None:
    """Hand a message to the relay over verified TLS (STARTTLS or from the start), or plain to this machine only."""
    if relay.security == "tls":
        connection = smtplib.SMTP_SSL(relay.host, relay.port, timeout=SMTP_SECONDS, context=context)
    else:
        connection = smtplib.SMTP(relay.host, relay.port, timeout=SMTP_SECONDS)
    with connection as smtp:
        smtp.ehlo()
        if relay.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPException(t("alerts.error.no_starttls", host=relay.host))
            smtp.starttls(context=context)
            smtp.ehlo()
        if relay.user:
            # Checked on the socket itself, not on the settings: the password never leaves in clear but to this machine.
            if not isinstance(smtp.sock, ssl.SSLSocket) and relay.host not in LOCAL_HOSTS:
                raise smtplib.SMTPException(t("alerts.error.plain_login", host=relay.host))
            smtp.login(relay.user, relay.password or "")
        smtp.send_message(message)


def run_alerts_command(engine: Engine, week: str | None, send_mail: bool) -> int:
    """Print last week's unusual municipalities per service; with --send, e-mail each subscriber theirs."""
    week = week or last_complete_week(datetime.now(LOCAL_TIMEZONE))
    if not WEEK.fullmatch(week):
        error(t("alerts.error.week", week=week))
        return EXIT_USAGE
    try:
        week_monday(week)
        subscribed = subscriptions(settings.get("RELAIS_ALERT_SUBSCRIPTIONS"))
        relay = relay_from_url(settings.get("RELAIS_SMTP_URL")) if send_mail else None
        context = tls_context(settings.get("RELAIS_SMTP_CA_FILE")) if send_mail else None
    except ValueError as problem:
        error(str(problem) if isinstance(problem, AlertSettingsError) else t("alerts.error.week", week=week))
        return EXIT_USAGE
    services = services_in_scope(engine, Scope(all_services=True, roles=frozenset({"captain"})))
    names = dict(zip(services["code"], services[f"name_{settings.language()}"]))
    found = unusual_by_service(engine, week, sorted(names))
    for code, frame in found.items():
        print(f"{week} {code}: " + (", ".join(f"{row.name} ({row.interventions})" for row in frame.itertuples())
                                    or t("alerts.none")))
    sent, failed = 0, 0
    if send_mail:
        base = settings.get("RELAIS_APP_URL")
        for position, (address, codes) in enumerate(subscribed.items()):
            mine = {code: found[code] for code in codes if code in found}
            subject, body = digest(week, mine, names, base)
            try:
                send(relay, plain_message(address, subject, body), context)
            except ssl.SSLCertVerificationError as failure:
                # The same relay for every subscriber: none is tried again, nothing reaches an unverified server.
                failed += len(subscribed) - position
                error(t("alerts.error.certificate", host=relay.host, reason=failure.verify_message or failure))
                break
            except (OSError, smtplib.SMTPException) as failure:
                failed += 1
                error(t("alerts.error.send", address=address, error=failure))
                continue
            sent += 1
            record_event(engine, subject=settings.operator(), roles=("command",), services=",".join(codes),
                         action="alert_sent", detail={"to": address, "week": week, "services": list(codes),
                                                      "unusual": sum(len(frame) for frame in mine.values())})
    record_command(engine, "alerts", {"week": week, "send": send_mail},
                   {"unusual": sum(len(frame) for frame in found.values()), "sent": sent, "failed": failed})
    return EXIT_INVALID if failed else EXIT_OK
