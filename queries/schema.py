"""Every table of Relais, declared once on one MetaData; migrations are generated from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SUBJECT_ROLES = ("offender", "victim")
OUTCOMES = ("no_answer", "wrong_number", "unsafe_to_leave_message", "accepted", "declined", "already_in_help")
REACHED_OUTCOMES = ("accepted", "declined", "already_in_help")
NOT_REACHED_OUTCOMES = ("no_answer", "wrong_number", "unsafe_to_leave_message")
CHANNELS = ("phone", "in_person", "sms", "other")
# "failed": the database refused the writes; the batch row is written on its own afterwards.
# "duplicate": a file with the SHA-256 of one already imported, recorded and not imported again (the drop folder).
BATCH_STATUSES = ("imported", "partial", "rejected", "failed", "duplicate")
# What a batch holds: the police's and the partners' files, then the reference data replaced from the Data page.
BATCH_KINDS = ("interventions", "outreach", "referrals", "risk", "municipalities", "organisations")
# How a file came: typed as a command, uploaded on the Data page, dropped in the watched folder, a worker's form (one
# case entered by hand), the demo data.
BATCH_CHANNELS = ("command", "upload", "drop_folder", "form", "demo")
ORGANISATION_KINDS = ("men_program", "shelter", "victim_assistance", "therapy", "addiction", "legal", "other")
CHANGES = ("correction", "withdrawal")
REFERRALS = ("men_program", "therapy", "addiction", "shelter", "victim_assistance", "legal", "other")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    allowed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({allowed})"


police_service = Table(
    "police_service",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("name_fr", Text, nullable=False),
    Column("name_en", Text, nullable=False),
)

municipality = Table(
    "municipality",
    metadata,
    Column("code", String(5), primary_key=True, comment="MAMH geographic code"),
    Column("census_code", String(7), nullable=True),
    Column("name", Text, nullable=False),
    Column("population_2021", Integer, nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    CheckConstraint("length(code) = 5", name="code_five_digits"),
)

# Which police service serves a municipality, and since when: membership changes, so it is data.
membership = Table(
    "membership",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("municipality_code", String(5), ForeignKey("municipality.code"), nullable=False),
    Column("police_service", String(16), ForeignKey("police_service.code"), nullable=False),
    Column("member_from", Date, nullable=True, comment="NULL: since before any record"),
    Column("member_until", Date, nullable=True, comment="NULL: still a member"),
    Index("ix_membership_service", "police_service", "municipality_code"),
)

import_batch = Table(
    "import_batch",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("problems", Text, nullable=True, comment="JSON list of the first problems found"),
    Column("demo", Boolean, nullable=False, server_default=false(), comment="synthetic demo data"),
    Column("police_service", String(16), nullable=True,
           comment="the service the file was confined to; NULL: reference"),
    Column("channel", String(16), nullable=True, comment="command, upload, drop_folder, form or demo"),
    CheckConstraint(_one_of("kind", BATCH_KINDS), name="kind"),
    CheckConstraint(_one_of("status", BATCH_STATUSES), name="status"),
    CheckConstraint(_one_of("channel", BATCH_CHANNELS), name="channel"),
    Index("ix_import_batch_started_at", "started_at"),
    # Each service's latest import (freshness), and a re-delivered file found by its hash (the drop folder).
    Index("ix_import_batch_service_finished", "police_service", "finished_at"),
    Index("ix_import_batch_sha256", "file_sha256"),
)

# Timestamps are stored twice: UTC for people, and as UTC microseconds since the epoch plus the
# local (America/Toronto) date and ISO week, computed once on write, so that SQLite and PostgreSQL
# filter, group and subtract the same plain columns without time-zone SQL.
intervention = Table(
    "intervention",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("police_service", String(16), ForeignKey("police_service.code"), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("municipality_code", String(5), ForeignKey("municipality.code"), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("occurred_us", BigInteger, nullable=False),
    Column("occurred_date", Date, nullable=False),
    Column("occurred_week", String(8), nullable=False),
    Column("arrest", Boolean, nullable=False),
    Column("arrested_at", UTCDateTime(), nullable=True),
    Column("arrested_us", BigInteger, nullable=True),
    Column("arrested_date", Date, nullable=True),
    Column("arrested_week", String(8), nullable=True),
    Column("subject_key", Text, nullable=True),
    Column("contact_ban", Boolean, nullable=False),
    Column("batch_id", Integer, ForeignKey("import_batch.id"), nullable=True),
    # Demo and real rows never mix: `import` refuses a database with demo rows unless told to remove them.
    Column("demo", Boolean, nullable=False, server_default=false()),
    # Stored on write by queries.precomputed for the rows a write touches, so that no page looks for them again.
    Column("previous_us", BigInteger, nullable=True,
           comment="occurred_us of the same subject's latest strictly earlier intervention in this police service"),
    Column("next_us", BigInteger, nullable=True,
           comment="occurred_us of the same subject's earliest strictly later intervention in this police service"),
    Column("offender_first_attempt_us", BigInteger, nullable=True, comment="earliest offender outreach attempt"),
    Column("offender_reached", Boolean, nullable=False, server_default=false()),
    Column("offender_accepted", Boolean, nullable=False, server_default=false()),
    Column("offender_in_help", Boolean, nullable=False, server_default=false()),
    # A case a worker entered by hand from the police report she read, until the police extract brings it.
    Column("entered_by", Text, nullable=True, comment="the worker who entered it by hand; NULL: from a police file"),
    Column("entered_at", UTCDateTime(), nullable=True),
    Column("confirmed_at", UTCDateTime(), nullable=True,
           comment="when a police file brought this hand entry (its values replaced the hand's); NULL: not yet"),
    UniqueConstraint("police_service", "event_id"),
    CheckConstraint(
        "(arrest AND arrested_us IS NOT NULL AND arrested_us >= occurred_us)"
        " OR (NOT arrest AND arrested_us IS NULL)",
        name="arrest_time",
    ),
    Index("ix_intervention_service_date", "police_service", "occurred_date", "municipality_code"),
    Index("ix_intervention_municipality_date", "municipality_code", "occurred_date"),
    Index("ix_intervention_date", "occurred_date"),
    Index("ix_intervention_arrested_date", "arrested_date", "police_service"),
    Index("ix_intervention_subject", "police_service", "subject_key", "occurred_us"),
    # Each service's latest intervention (freshness) without reading its rows.
    Index("ix_intervention_service_occurred", "police_service", "occurred_us"),
)

# Interventions per police service, municipality and ISO week, with the usual range of the weeks that could be
# unusual: stored on write (queries.weekly) for the cells a write touches, so that no page reads years of rows.
weekly_count = Table(
    "weekly_count",
    metadata,
    Column("police_service", String(16), ForeignKey("police_service.code"), primary_key=True),
    Column("municipality_code", String(5), ForeignKey("municipality.code"), primary_key=True),
    Column("week", String(8), primary_key=True, comment="ISO week of the local date, YYYY-Www"),
    Column("interventions", Integer, nullable=False),
    # As queries.counts.figure_columns counts rows: repeats follow the stored previous_us of each row.
    Column("arrests", Integer, nullable=False, server_default="0"),
    Column("repeats", Integer, nullable=False, server_default="0"),
    Column("contact_bans", Integer, nullable=False, server_default="0"),
    Column("expected", Float, nullable=True, comment="NULL: the week could not be unusual, so it was not fitted"),
    Column("upper", Float, nullable=True),
    Column("method", String(16), nullable=True),
    Column("alarm", Boolean, nullable=False, server_default=false()),
    # Covering: the weekly totals, the heat map and every period's counts read the index alone.
    Index("ix_weekly_count_week", "week", "police_service", "municipality_code", "interventions", "arrests",
          "repeats", "contact_bans"),
)

outreach_attempt = Table(
    "outreach_attempt",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("attempt_id", String(64), nullable=False),
    Column("intervention_id", Integer, nullable=False),
    Column("police_service", String(16), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("attempted_us", BigInteger, nullable=False),
    Column("attempted_date", Date, nullable=False),
    Column("subject_role", String(16), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("channel", String(16), nullable=True),
    Column("referral", String(24), nullable=True),
    Column("batch_id", Integer, ForeignKey("import_batch.id"), nullable=True),
    Column("demo", Boolean, nullable=False, server_default=false()),
    Column("recorded_by", Text, nullable=True, comment="the worker who recorded it in the app; NULL: imported"),
    Column("recorded_at", UTCDateTime(), nullable=True),
    UniqueConstraint("police_service", "attempt_id"),
    ForeignKeyConstraint(["intervention_id"], ["intervention.id"], ondelete="CASCADE"),
    CheckConstraint(_one_of("subject_role", SUBJECT_ROLES), name="subject_role"),
    CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
    CheckConstraint("channel IS NULL OR " + _one_of("channel", CHANNELS), name="channel"),
    CheckConstraint("referral IS NULL OR " + _one_of("referral", REFERRALS), name="referral"),
    Index("ix_outreach_attempt_intervention", "intervention_id", "subject_role", "attempted_us"),
    Index("ix_outreach_attempt_date", "attempted_date"),
    # The worker's own recent attempts, which she may still correct.
    Index("ix_outreach_attempt_recorded", "recorded_by", "recorded_at"),
)

# A worker's correction or withdrawal of her own attempt keeps the values it replaced; retention removes them with
# the intervention they concern.
attempt_revision = Table(
    "attempt_revision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("intervention_id", Integer, nullable=False),
    Column("police_service", String(16), nullable=False),
    Column("attempt_id", String(64), nullable=False),
    Column("change", String(16), nullable=False),
    Column("revised_at", UTCDateTime(), nullable=False),
    Column("revised_by", Text, nullable=False),
    Column("previous", Text, nullable=False, comment="JSON: the attempt's values before the change"),
    ForeignKeyConstraint(["intervention_id"], ["intervention.id"], ondelete="CASCADE"),
    CheckConstraint(_one_of("change", CHANGES), name="change"),
    Index("ix_attempt_revision_attempt", "police_service", "attempt_id"),
)

# A case the worker closed without reaching the person: it leaves the queue, and counts as not reached.
case_closure = Table(
    "case_closure",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("intervention_id", Integer, nullable=False),
    Column("subject_role", String(16), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=False),
    Column("closed_by", Text, nullable=False),
    UniqueConstraint("intervention_id", "subject_role"),
    ForeignKeyConstraint(["intervention_id"], ["intervention.id"], ondelete="CASCADE"),
    CheckConstraint(_one_of("subject_role", SUBJECT_ROLES), name="subject_role"),
)

# One row: bumped by every write and import, and part of every cache key, so that every server process sees a
# write on its next rerun.
data_version = Table(
    "data_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Append-only: the migrations add triggers that refuse UPDATE, DELETE, an INSERT over an existing id (SQLite's
# INSERT OR REPLACE) and TRUNCATE (PostgreSQL). Each row carries the hash of the row before it and its own, so a
# row removed or rewritten by someone who could bypass the triggers breaks the chain (`audit verify`).
audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("subject", Text, nullable=False),
    Column("roles", Text, nullable=False),
    Column("services", Text, nullable=True, comment="the viewer's police services, comma-separated, or *"),
    Column("action", String(32), nullable=False),
    Column("page", Text, nullable=True),
    Column("filters", Text, nullable=True, comment="JSON"),
    Column("detail", Text, nullable=True, comment="JSON"),
    # Unique: two writers that read the same last row cannot both chain to it; the second retries.
    Column("previous_hash", String(64), nullable=False, unique=True),
    Column("row_hash", String(64), nullable=False),
    Index("ix_audit_event_occurred_at", "occurred_at"),
    Index("ix_audit_event_subject", "subject", "occurred_at"),
)

# Which chain of secrets the stored pseudonyms were made with, as the pseudonym of a fixed text: an import or a
# rekey under another chain would silently stop linking repeat subjects, so it is refused instead.
pseudonym_check = Table(
    "pseudonym_check",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("set_at", UTCDateTime(), nullable=False),
)

# What retention destroyed: kept apart from what it describes, so that the record survives the deletion.
destruction_record = Table(
    "destruction_record",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_at", UTCDateTime(), nullable=False),
    Column("run_by", Text, nullable=False, comment="RELAIS_USER, else the system user"),
    Column("os_user", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("older_than_years", Integer, nullable=False),
    Column("cutoff_date", Date, nullable=False, comment="rows dated before this local date were destroyed"),
    Column("interventions", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("audit_rows", Integer, nullable=False),
    Column("import_batches", Integer, nullable=False),
    Column("audit_anchor", String(64), nullable=True,
           comment="hash of the last audit row destroyed: the first one kept chains to it"),
    Column("audit_last_id", Integer, nullable=True, comment="id of the last audit row destroyed"),
    # The anchor is trusted only if it was signed with RELAIS_AUDIT_KEY, which the database never holds: whoever
    # removes the oldest rows and writes an anchor of their own cannot sign it.
    Column("signature", String(64), nullable=True,
           comment="HMAC-SHA256 of the record under RELAIS_AUDIT_KEY; set on every record with an anchor"),
    CheckConstraint(_one_of("kind", ("data", "audit")), name="kind"),
)

# The head of the audit chain as it was at a moment, signed with RELAIS_AUDIT_KEY by `audit checkpoint` (a nightly
# timer, as the owner): a row it covers cannot be rewritten, nor removed from the middle, unseen. The owner can still
# remove the latest checkpoints with the rows they cover from the tail; only the id and hash of a checkpoint's row
# kept outside the database (its printed line, passed back to `audit verify --expect`) show that. Numbered without
# gaps, so that a checkpoint removed from the middle shows. Append-only, as the audit table.
audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("written_at", UTCDateTime(), nullable=False),
    Column("audit_id", Integer, nullable=False, comment="the last audit row's id (0: none yet)"),
    Column("row_hash", String(64), nullable=False, comment="that row's hash (or the anchor's, the chain being empty)"),
    Column("rows", Integer, nullable=False, comment="rows the chain held, from its start"),
    Column("signature", String(64), nullable=False, comment="HMAC-SHA256 of the checkpoint under RELAIS_AUDIT_KEY"),
)

# The organisation's retention periods, one row per change, the latest of each kind in force: set by
# `retention --set-period` as the schema's owner. The environment may lengthen them, never shorten them.
retention_period = Table(
    "retention_period",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("years", Integer, nullable=False),
    Column("set_at", UTCDateTime(), nullable=False),
    Column("set_by", Text, nullable=False, comment="RELAIS_USER, else the system user"),
    Column("os_user", Text, nullable=False),
    CheckConstraint(_one_of("kind", ("data", "audit")), name="kind"),
    CheckConstraint("years > 0", name="years"),
)

# Partner organisations (men's programs, shelters, victim assistance) and the police services each works with, since
# when: reference data with dates, like the municipalities (queries/reference_data/organisations.csv).
organisation = Table(
    "organisation",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("name_fr", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("kind", String(24), nullable=False),
    CheckConstraint(_one_of("kind", ORGANISATION_KINDS), name="kind"),
)

organisation_service = Table(
    "organisation_service",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_code", String(16), ForeignKey("organisation.code"), nullable=False),
    Column("police_service", String(16), ForeignKey("police_service.code"), nullable=False),
    Column("member_from", Date, nullable=True, comment="NULL: since before any record"),
    Column("member_until", Date, nullable=True, comment="NULL: still working with it"),
    Index("ix_organisation_service_service", "police_service", "organisation_code"),
)

# One e-mail per stale spell: a service's spell is named by its latest import's time (or 'never'), so a spell is
# announced once, and a new import ends it.
stale_notice = Table(
    "stale_notice",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("police_service", String(16), ForeignKey("police_service.code"), nullable=False),
    Column("spell", String(40), nullable=False, comment="the latest import's finished_at (ISO, UTC) or 'never'"),
    Column("notified_at", UTCDateTime(), nullable=False),
    Column("recipients", Integer, nullable=False),
    UniqueConstraint("police_service", "spell"),
)

# Reference data from an official boundary file the users supply: `python -m dashboard geo import`.
municipality_boundary = Table(
    "municipality_boundary",
    metadata,
    Column("municipality_code", String(5), ForeignKey("municipality.code"), primary_key=True),
    Column("geometry", Text, nullable=False, comment="GeoJSON Polygon or MultiPolygon, WGS84, 5 decimals"),
    Column("source_file", Text, nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("imported_at", UTCDateTime(), nullable=False),
)

DATA_TABLES = (attempt_revision, case_closure, outreach_attempt, weekly_count, intervention, import_batch, audit_event,
               destruction_record, pseudonym_check, audit_checkpoint, retention_period, stale_notice)
