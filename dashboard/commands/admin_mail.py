"""E-mails to the administrators (RELAIS_ADMIN_EMAILS) through the alerts' SMTP relay: a failed drop-folder file,
a police service whose data is late. The caller writes the words; no row's values ever go in them."""

from __future__ import annotations

import smtplib
import ssl

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard import settings
from dashboard.commands.alerts import AlertSettingsError, plain_message, relay_from_url, send, tls_context
from dashboard.commands.audit import COMMAND_ROLE
from dashboard.commands.printing import error
from dashboard.i18n import t
from queries.audit import ALL_SERVICES, record_event


def mail_admins(engine: Engine, subject: str, body: str, detail: dict) -> int:
    """E-mail every administrator the subject and body, audit each send with `detail`; return how many were sent."""
    addresses = settings.admin_emails()
    url = settings.get("RELAIS_SMTP_URL")
    if not addresses or not url:
        print(t("admin_mail.not_configured", subject=subject))
        return 0
    try:
        relay = relay_from_url(url)
        context = tls_context(settings.get("RELAIS_SMTP_CA_FILE"))
    except AlertSettingsError as problem:
        error(str(problem))
        return 0
    sent = 0
    for position, address in enumerate(addresses):
        try:
            send(relay, plain_message(address, subject, body), context)
        except ssl.SSLCertVerificationError as failure:
            # The same relay for every address: none is tried again, nothing reaches an unverified server.
            error(t("alerts.error.certificate", host=relay.host, reason=failure.verify_message or failure))
            _audit(engine, address, "failed", detail, skipped=len(addresses) - position - 1)
            break
        except (OSError, smtplib.SMTPException) as failure:
            error(t("alerts.error.send", address=address, error=failure))
            _audit(engine, address, "failed", detail)
            continue
        sent += 1
        _audit(engine, address, "sent", detail)
    return sent


def _audit(engine: Engine, address: str, status: str, detail: dict, **more: int) -> None:
    try:
        record_event(engine, subject=settings.operator(), roles=(COMMAND_ROLE,), services=ALL_SERVICES,
                     action="admin_mail", detail={**detail, "to": address, "status": status, **more})
    except SQLAlchemyError as failure:
        # The mail is the news of a problem: a database that refuses its audit row must not stop the others.
        error(t("command.error.audit", error=str(failure).splitlines()[0]))
