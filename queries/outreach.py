"""Outreach after arrest: the cohort of a period, how many were attempted, reached and accepted, and how fast."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, case, func, select

from queries.expressions import count_if
from queries.filters import MetricFilter, Scope
from queries.localtime import MICROSECONDS_PER_HOUR
from queries.runner import fetch_row
from queries.schema import intervention
from queries.scoping import intervention_conditions


@dataclass(frozen=True)
class OutreachSummary:
    """The outreach figures of DATA_CONTRACT.md for one period; rates and median are None on an empty base."""

    cohort: int
    attempted: int
    reached: int
    accepted: int
    already_in_help: int
    within_24h: int
    within_48h: int
    median_hours_to_first_attempt: float | None

    @property
    def reach_rate(self) -> float | None:
        """Reached / cohort."""
        return _ratio(self.reached, self.cohort)

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted / reached."""
        return _ratio(self.accepted, self.reached)

    @property
    def within_24h_share(self) -> float | None:
        """Members first attempted at most 24 hours after arrest / cohort."""
        return _ratio(self.within_24h, self.cohort)

    @property
    def within_48h_share(self) -> float | None:
        """Members first attempted at most 48 hours after arrest / cohort."""
        return _ratio(self.within_48h, self.cohort)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _flag(column) -> object:
    return case((column, 1), else_=0)


def cohort_members(flt: MetricFilter, scope: Scope, *columns: ColumnElement):
    """One row per cohort member: arrest time, first offender attempt and whether reached, accepted, already in help.

    The attempts' summary is stored on each intervention when attempts are written (queries.precomputed), so the
    cohort is one indexed read of the intervention table; more of the member's own columns may be carried along.
    """
    return (
        select(
            intervention.c.id,
            intervention.c.arrested_us,
            intervention.c.offender_first_attempt_us.label("first_attempt_us"),
            _flag(intervention.c.offender_reached).label("reached"),
            _flag(intervention.c.offender_accepted).label("accepted"),
            _flag(intervention.c.offender_in_help).label("in_help"),
            *columns,
        )
        .where(
            intervention.c.arrest,
            intervention.c.arrested_date.between(flt.period.start, flt.period.end),
            *intervention_conditions(intervention, flt, scope),
        )
        .cte("member")
    )


def _within(member, hours: int):
    return count_if(member.c.first_attempt_us - member.c.arrested_us <= hours * MICROSECONDS_PER_HOUR)


def funnel_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Cohort, attempted, reached, accepted, already in help, and first attempts within 24 and 48 hours."""
    member = cohort_members(flt, scope)
    return select(
        func.count().label("cohort"),
        func.count(member.c.first_attempt_us).label("attempted"),
        func.coalesce(func.sum(member.c.reached), 0).label("reached"),
        func.coalesce(func.sum(member.c.accepted), 0).label("accepted"),
        count_if(and_(member.c.reached == 1, member.c.accepted == 0, member.c.in_help == 1)).label("already_in_help"),
        _within(member, 24).label("within_24h"),
        _within(member, 48).label("within_48h"),
    )


def ranked_delays(flt: MetricFilter, scope: Scope):
    """Attempted members' microseconds from arrest to first attempt, with their rank and how many there are."""
    member = cohort_members(flt, scope)
    delay = (member.c.first_attempt_us - member.c.arrested_us).label("delay")
    return (
        select(
            delay,
            func.row_number().over(order_by=delay).label("position"),
            func.count().over().label("size"),
        )
        .where(member.c.first_attempt_us.is_not(None))
        .subquery("ranked")
    )


def median_delay_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Median microseconds from arrest to first attempt over attempted members (mean of the middle two)."""
    ranked = ranked_delays(flt, scope)
    # The middle rows are those whose doubled position lies in [size, size + 2]: one row when size is odd, two
    # when even.
    doubled = 2 * ranked.c.position
    return select(func.avg(ranked.c.delay).label("median_us")).where(
        doubled >= ranked.c.size, doubled <= ranked.c.size + 2
    )


def outreach_summary(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> OutreachSummary:
    """The outreach figures of the period's arrest cohort within the viewer's scope."""
    funnel = fetch_row(bind, funnel_statement(flt, scope))
    median_us = fetch_row(bind, median_delay_statement(flt, scope)).median_us
    median_hours = None if median_us is None else float(median_us) / MICROSECONDS_PER_HOUR
    return OutreachSummary(*(int(value) for value in funnel), median_hours_to_first_attempt=median_hours)
