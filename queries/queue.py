"""The worker's queue: people still to reach after an arrest (offenders) or an intervention (victims), oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, Select, and_, case, exists, func, select

from queries.expressions import count_if
from queries.filters import MetricFilter, Scope
from queries.localtime import MICROSECONDS_PER_HOUR
from queries.runner import fetch_frame, fetch_row
from queries.schema import REACHED_OUTCOMES, case_closure, intervention, municipality, outreach_attempt
from queries.scoping import service_conditions

MICROSECONDS_PER_DAY = 24 * MICROSECONDS_PER_HOUR
REPEAT_WINDOW_US = 365 * MICROSECONDS_PER_DAY
QUEUES = ("offender", "victim")
CLOCKS = ("on_time", "due_soon", "overdue")
# Roles that may see how long the queue is; only a worker sees its rows (file numbers), and only of her services.
SUMMARY_ROLES = frozenset({"worker", "director"})


@dataclass(frozen=True)
class QueueRules:
    """When a case is due, when its clock turns amber, and when it leaves the queue without reaching anyone."""

    target_hours: float = 24.0
    warning_hours: float = 4.0
    close_after_days: int = 14
    close_after_attempts: int = 5


def clock(hours_waiting: float, rules: QueueRules) -> str:
    """on_time (green), due_soon within `warning_hours` of the target (amber), overdue past it (red)."""
    if hours_waiting > rules.target_hours:
        return "overdue"
    if hours_waiting >= rules.target_hours - rules.warning_hours:
        return "due_soon"
    return "on_time"


def _anchor(role: str):
    """The moment a case's clock starts: the arrest for an offender, the intervention for a victim."""
    return intervention.c.arrested_us if role == "offender" else intervention.c.occurred_us


def _anchor_date(role: str):
    return intervention.c.arrested_date if role == "offender" else intervention.c.occurred_date


def _queue_conditions(flt: MetricFilter, scope: Scope, role: str, now_us: int, rules: QueueRules) -> list:
    """Cases of the scope still waiting: not reached, not closed, not past the closing rules."""
    if role not in QUEUES:
        raise ValueError(f"no queue for {role!r}")
    anchor = _anchor(role)
    # The local dates around the same moments (a day's margin for any time zone): they are indexed, the
    # microseconds are not, and the queue is a fortnight out of years.
    now = datetime.fromtimestamp(now_us / 1_000_000, UTC)
    first_day = (now - timedelta(days=rules.close_after_days + 1)).date()
    attempts = outreach_attempt.alias("queued_attempt")
    mine = and_(attempts.c.intervention_id == intervention.c.id, attempts.c.subject_role == role)
    tried = select(func.count()).where(mine).scalar_subquery()
    conditions = [
        *service_conditions(intervention.c.police_service, flt, scope),
        anchor.is_not(None),
        _anchor_date(role).between(first_day, (now + timedelta(days=1)).date()),
        anchor >= now_us - rules.close_after_days * MICROSECONDS_PER_DAY,
        anchor <= now_us,
        ~exists().where(mine, attempts.c.outcome.in_(REACHED_OUTCOMES)),
        ~exists().where(case_closure.c.intervention_id == intervention.c.id, case_closure.c.subject_role == role),
        tried < rules.close_after_attempts,
    ]
    if role == "offender":
        conditions.append(intervention.c.arrest)
    if flt.municipalities:
        conditions.append(intervention.c.municipality_code.in_(flt.municipalities))
    return conditions


def queue_statement(flt: MetricFilter, scope: Scope, role: str, now_us: int, rules: QueueRules) -> Select:
    """One row per waiting case, oldest first: file number, place, when, contact ban, repeats, attempts so far, and
    who entered it by hand (None: a police file) and when a police file confirmed that entry."""
    scope.require_role("worker")
    attempts = outreach_attempt.alias("attempt_so_far")
    earlier = intervention.alias("earlier")
    anchor = _anchor(role)
    tried = (select(func.count()).where(attempts.c.intervention_id == intervention.c.id,
                                        attempts.c.subject_role == role).scalar_subquery())
    repeats = (
        select(func.count())
        .where(
            earlier.c.police_service == intervention.c.police_service,
            earlier.c.subject_key == intervention.c.subject_key,
            earlier.c.occurred_us < intervention.c.occurred_us,
            earlier.c.occurred_us >= intervention.c.occurred_us - REPEAT_WINDOW_US,
        )
        .scalar_subquery()
    )
    # A look-up per case rather than a join: PostgreSQL, misjudging the fortnight's cases as a handful, joined
    # them to every municipality by a nested loop (a second at province scale).
    place_name = select(municipality.c.name).where(
        municipality.c.code == intervention.c.municipality_code).scalar_subquery()
    return (
        select(
            intervention.c.id.label("intervention_id"),
            intervention.c.police_service,
            intervention.c.event_id,
            intervention.c.municipality_code,
            place_name.label("municipality"),
            intervention.c.occurred_at,
            intervention.c.arrested_at,
            ((now_us - anchor) / float(MICROSECONDS_PER_HOUR)).label("hours_waiting"),
            intervention.c.contact_ban,
            case((intervention.c.subject_key.is_(None), 0), else_=repeats).label("previous_12_months"),
            tried.label("attempts"),
            intervention.c.entered_by,
            intervention.c.confirmed_at,
        )
        .where(*_queue_conditions(flt, scope, role, now_us, rules))
        .order_by(anchor, intervention.c.id)
    )


def waiting_cases(bind: Engine | Connection, flt: MetricFilter, scope: Scope, role: str, now_us: int,
                  rules: QueueRules) -> pd.DataFrame:
    """The queue's rows (a worker's own services only), oldest first, with each case's clock."""
    frame = fetch_frame(bind, queue_statement(flt, scope, role, now_us, rules))
    frame["hours_waiting"] = frame["hours_waiting"].astype(float)
    frame["clock"] = [clock(hours, rules) for hours in frame["hours_waiting"]]
    # Entered by a worker from the police report, and not yet brought by a police file.
    frame["by_hand"] = frame["entered_by"].notna() & frame["confirmed_at"].isna()
    return frame


@dataclass(frozen=True)
class QueueSummary:
    """The queue's tiles: cases waiting, those past the target, and people contacted today."""

    waiting: int
    overdue: int
    contacted_today: int


def queue_summary_statement(flt: MetricFilter, scope: Scope, role: str, now_us: int, rules: QueueRules,
                            today: date) -> Select:
    """Waiting and overdue cases, and the cases of this queue with an attempt dated today (local)."""
    if not scope.roles & SUMMARY_ROLES:
        raise PermissionError("the queue's figures need the worker or director role")
    anchor = _anchor(role)
    overdue = now_us - anchor > rules.target_hours * MICROSECONDS_PER_HOUR
    waiting = select(func.count().label("waiting"), count_if(overdue).label("overdue")).where(
        *_queue_conditions(flt, scope, role, now_us, rules))
    contacted = (
        select(func.count(func.distinct(outreach_attempt.c.intervention_id)))
        .join(intervention, intervention.c.id == outreach_attempt.c.intervention_id)
        .where(outreach_attempt.c.subject_role == role, outreach_attempt.c.attempted_date == today,
               *service_conditions(intervention.c.police_service, flt, scope),
               *([intervention.c.municipality_code.in_(flt.municipalities)] if flt.municipalities else []))
        .scalar_subquery()
    )
    return waiting.add_columns(contacted.label("contacted_today"))


def queue_summary(bind: Engine | Connection, flt: MetricFilter, scope: Scope, role: str, now_us: int,
                  rules: QueueRules, today: date) -> QueueSummary:
    """The queue's tiles, counted in SQL."""
    row = fetch_row(bind, queue_summary_statement(flt, scope, role, now_us, rules, today))
    return QueueSummary(int(row.waiting), int(row.overdue), int(row.contacted_today))



def recent_attempts_statement(flt: MetricFilter, scope: Scope, recorded_by: str, since: datetime) -> Select:
    """The attempts this worker recorded in the app since a moment, newest first: the ones she may still change."""
    scope.require_role("worker")
    return (
        select(
            outreach_attempt.c.police_service,
            outreach_attempt.c.attempt_id,
            outreach_attempt.c.event_id,
            outreach_attempt.c.attempted_at,
            outreach_attempt.c.subject_role,
            outreach_attempt.c.outcome,
            outreach_attempt.c.channel,
            outreach_attempt.c.referral,
            outreach_attempt.c.recorded_at,
        )
        .where(
            outreach_attempt.c.recorded_by == recorded_by,
            outreach_attempt.c.recorded_at >= since,
            *service_conditions(outreach_attempt.c.police_service, flt, scope),
        )
        .order_by(outreach_attempt.c.recorded_at.desc(), outreach_attempt.c.id.desc())
    )


def recent_attempts(bind: Engine | Connection, flt: MetricFilter, scope: Scope, recorded_by: str,
                    since: datetime) -> pd.DataFrame:
    """This worker's attempts recorded since a moment, newest first."""
    return fetch_frame(bind, recent_attempts_statement(flt, scope, recorded_by, since))
