"""Settings read from the environment, declared once."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"


@dataclass(frozen=True)
class Setting:
    """One environment variable, its default and what it is for."""

    name: str
    default: str
    help: str


SETTINGS = (
    Setting(
        "DATABASE_URL",
        f"sqlite:///{DATA_DIR / 'relais.db'}",
        "SQLAlchemy URL of the database; PostgreSQL in production "
        "(postgresql+psycopg://user@host/db), an SQLite file under data/ by default.",
    ),
    Setting("RELAIS_LANGUAGE", "fr", "Language of the command line's messages: fr or en."),
    Setting("RELAIS_USER", "", "Name recorded as the importer of a file (defaults to the system user)."),
    Setting("RELAIS_SESSION_HOURS", "12",
            "Longest a sign-in is honoured, from the provider's sign-in time (the ID token's auth_time or iat); "
            "then the person signs in again, and roles removed at the provider take effect."),
    Setting("RELAIS_IDLE_MINUTES", "60", "A session without any click for this long must sign in again."),
    Setting("RELAIS_PSEUDONYM_KEYS", "",
            "Secret key(s) of the subject-key pseudonyms (HMAC-SHA256), oldest first, separated by commas; each at "
            "least 128 bits of randomness and 16 different characters, never the demo's public key (make one with "
            "python -c \"import secrets; print(secrets.token_urlsafe(48))\"). Never stored in the database; imports "
            "of interventions are refused without one."),
    Setting("RELAIS_RETENTION_YEARS", "",
            "Years interventions and outreach attempts are kept, if longer than the period recorded in the database "
            "(`retention --set-period data YEARS`): it can lengthen that period, never shorten it."),
    Setting("RELAIS_AUDIT_RETENTION_YEARS", "",
            "Years audit rows are kept (`retention --audit`), if longer than the period recorded in the database "
            "(`retention --set-period audit YEARS`): it can lengthen that period, never shorten it."),
    Setting("RELAIS_AUDIT_KEY", "",
            "Secret HMAC key that signs the audit chain's anchors (`retention --audit`) and checkpoints (`audit "
            "checkpoint`), and that `audit verify` checks them with. Never stored in the database nor given to the "
            "web replicas; held by the operators who run those commands."),
    Setting("RELAIS_TARGET_HOURS", "24", "Outreach target: hours from arrest to first attempt (the chart's rule)."),
    Setting("RELAIS_TARGET_SHARE", "0.8", "Outreach target: share of arrested men attempted within that time."),
    Setting("RELAIS_SUPPRESSION_THRESHOLD", "5",
            "Small-cell suppression in the report: counts from 1 to this minus one are shown as \"< N\"."),
    Setting("RELAIS_VICTIM_TARGET_HOURS", "72",
            "The queue's target for a victim's follow-up, in hours from the intervention (offenders: "
            "RELAIS_TARGET_HOURS)."),
    Setting("RELAIS_QUEUE_CLOSE_DAYS", "14", "A case leaves the queue, not reached, this many days after it began."),
    Setting("RELAIS_QUEUE_CLOSE_ATTEMPTS", "5", "A case leaves the queue, not reached, after this many attempts."),
    Setting("RELAIS_QUEUE_REFRESH_SECONDS", "30",
            "How often an open queue is read again (a case dropped in the watched folder reaches it within about this "
            "long and a second); each refresh is checked against the session limits but is not activity (an open "
            "queue still goes idle)."),
    Setting("RELAIS_SMTP_URL", "",
            "Where alerts are sent from: smtp://user:password@host:587 (STARTTLS required), smtps://user:password@"
            "host:465 (TLS from the start), or smtp+plain://127.0.0.1:port for a relay on this machine only. The "
            "relay's certificate and host name are always verified."),
    Setting("RELAIS_SMTP_CA_FILE", "",
            "A PEM file of the certificate authority (or authorities) that signed the relay's certificate, trusted "
            "instead of the system's: for a relay with an internal CA. Verification cannot be turned off."),
    Setting("RELAIS_ALERT_FROM", "relais@localhost", "The alerts' sender address."),
    Setting("RELAIS_ALERT_SUBSCRIPTIONS", "",
            "Who gets the Monday digest of which police services: address=CODE,CODE;address=CODE."),
    Setting("RELAIS_APP_URL", "http://localhost:8501", "The app's address, for the links in the alerts."),
    Setting("RELAIS_EXACT_REPORTS", "",
            "allowed: `report --exact` may write an internal report with exact, unsuppressed figures; refused "
            "otherwise."),
    Setting("RELAIS_FUNDER_PERIOD", "quarter",
            "The one kind of period funders' reports cover: quarter or year (mixing them would let a year be "
            "subtracted from its quarters)."),
    Setting("RELAIS_ADMIN_EMAILS", "",
            "Administrators' addresses, separated by commas: a file the drop folder could not import, and a police "
            "service whose data stopped coming, are e-mailed to them through RELAIS_SMTP_URL."),
    Setting("RELAIS_STALE_HOURS", "26",
            "A police service with no import for this many hours is late: the queue, the Overview and the Data page "
            "say so, and the administrators get one e-mail per late spell."),
    Setting("RELAIS_UNCONFIRMED_DAYS", "7",
            "A case a worker entered by hand that no police file has brought after this many days is listed on the "
            "Data page."),
    Setting("RELAIS_INGEST_SKIP_INVALID", "",
            "yes: the drop folder imports a file's valid rows and sets the invalid ones aside (the file then goes to "
            "done/ with its rejects); otherwise one invalid row fails the whole file, as `import` does."),
    Setting("RELAIS_UPLOAD_MAX_MB", "50",
            "The largest file the Data page accepts, in megabytes (deploy/nginx.conf's client_max_body_size must "
            "allow it)."),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def get(name: str) -> str:
    """Value of a declared setting: the environment, else its default."""
    setting = _BY_NAME[name]
    value = os.environ.get(name, "").strip()
    return value or setting.default


def database_url() -> str:
    """The configured database URL."""
    return get("DATABASE_URL")


def language() -> str:
    """The configured command-line language, fr unless en is asked for."""
    return "en" if get("RELAIS_LANGUAGE").lower().startswith("en") else "fr"


def _positive(name: str) -> float:
    try:
        value = float(get(name))
    except ValueError:
        return float(_BY_NAME[name].default)
    return value if value > 0 else float(_BY_NAME[name].default)


def session_limits() -> tuple[float, float]:
    """The longest a sign-in is honoured, in hours, and the idle timeout, in minutes."""
    return _positive("RELAIS_SESSION_HOURS"), _positive("RELAIS_IDLE_MINUTES")


def outreach_target() -> tuple[float, float]:
    """The outreach target: hours to first attempt, and the share of the cohort expected within them."""
    try:
        hours, share = float(get("RELAIS_TARGET_HOURS")), float(get("RELAIS_TARGET_SHARE"))
    except ValueError:
        return 24.0, 0.8
    return (hours if hours > 0 else 24.0), (share if 0 < share <= 1 else 0.8)


def queue_targets() -> dict[str, float]:
    """Hours to the target of each queue: offenders from the arrest, victims from the intervention."""
    return {"offender": outreach_target()[0], "victim": _positive("RELAIS_VICTIM_TARGET_HOURS")}


def queue_closing() -> tuple[int, int]:
    """Days, and attempts, after which a case leaves the queue without reaching the person."""
    return int(_positive("RELAIS_QUEUE_CLOSE_DAYS")), int(_positive("RELAIS_QUEUE_CLOSE_ATTEMPTS"))


def queue_refresh_seconds() -> float:
    """Seconds between two readings of an open queue."""
    return _positive("RELAIS_QUEUE_REFRESH_SECONDS")


def admin_emails() -> tuple[str, ...]:
    """The administrators' addresses (none when unset)."""
    return tuple(part.strip() for part in get("RELAIS_ADMIN_EMAILS").split(",") if part.strip())


def stale_hours() -> float:
    """Hours without an import after which a police service's data is late."""
    return _positive("RELAIS_STALE_HOURS")


def unconfirmed_days() -> int:
    """Days after which a hand entry that no police file brought is listed for the administrators."""
    return int(_positive("RELAIS_UNCONFIRMED_DAYS"))


def ingest_skip_invalid() -> bool:
    """Whether the drop folder imports the valid rows of a file that has invalid ones."""
    return get("RELAIS_INGEST_SKIP_INVALID").strip().lower() in ("1", "yes", "true", "oui", "y", "o", "vrai")


def upload_max_mb() -> int:
    """The Data page's upload limit, in megabytes."""
    return int(_positive("RELAIS_UPLOAD_MAX_MB"))


def suppression_threshold() -> int:
    """The report's suppression threshold: counts below it (and above zero) are hidden; 5 unless set higher."""
    try:
        threshold = int(get("RELAIS_SUPPRESSION_THRESHOLD"))
    except ValueError:
        return 5
    # Lowering it below 5 would go against the design's floor; a higher one is the organisation's choice.
    return max(threshold, 5)


def funder_period() -> str:
    """The kind of period funders' reports cover: quarter unless year is asked for."""
    return "year" if get("RELAIS_FUNDER_PERIOD").lower().startswith(("year", "ann")) else "quarter"


def os_user() -> str:
    """The operating system's name for whoever runs this process, or '?' when it has none."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "?"


def operator() -> str:
    """Who runs a command, as recorded: RELAIS_USER, else the operating system's user."""
    return get("RELAIS_USER") or os_user()


def audit_key() -> str | None:
    """The audit trail's signing key, or None when it is not set."""
    return get("RELAIS_AUDIT_KEY") or None


def pseudonym_keys() -> tuple[str, ...]:
    """The configured pseudonym secrets, oldest first (empty when none is set)."""
    return tuple(part.strip() for part in get("RELAIS_PSEUDONYM_KEYS").split(",") if part.strip())
