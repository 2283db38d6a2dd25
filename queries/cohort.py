"""The outreach cohort, read once: its members counted per arrest day, final status and delay, with what every figure
about them needs (repeats, median, 90th percentile)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, case, func, select, true

from queries.expressions import REPEAT_WINDOW_US, count_if
from queries.filters import MetricFilter, Scope
from queries.localtime import MICROSECONDS_PER_HOUR
from queries.runner import fetch_frame
from queries.schema import intervention
from queries.scoping import intervention_conditions

# Best outcome reached first: a member's final status is the first of these that applies.
FINAL_STATUSES = ("accepted", "already_in_help", "declined", "no_answer", "not_attempted")
# (key, lower hours, upper hours): lower bound exclusive except 0, upper inclusive, as "within 24 h" is.
DELAY_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("0-6", 0.0, 6.0),
    ("6-12", 6.0, 12.0),
    ("12-24", 12.0, 24.0),
    ("24-48", 24.0, 48.0),
    ("48-72", 48.0, 72.0),
    ("72-168", 72.0, 168.0),
    ("168+", 168.0, None),
)
NEVER = "never"
WITHIN_24H = ("0-6", "6-12", "12-24")
WITHIN_48H = (*WITHIN_24H, "24-48")
COUNTED = ("members", "keyed", "repeated", "middle_rows")


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


def final_status(member) -> object:
    """A cohort member's best outcome reached, one of FINAL_STATUSES."""
    return case(
        (member.c.accepted == 1, "accepted"),
        (member.c.in_help == 1, "already_in_help"),
        (member.c.reached == 1, "declined"),
        (member.c.first_attempt_us.is_not(None), "no_answer"),
        else_="not_attempted",
    )


def delay_bucket(member) -> object:
    """A cohort member's DELAY_BUCKETS key, or NEVER when not attempted."""
    delay = member.c.first_attempt_us - member.c.arrested_us
    return case(
        (member.c.first_attempt_us.is_(None), NEVER),
        *(
            (delay <= int(upper * MICROSECONDS_PER_HOUR), key)
            for key, _lower, upper in DELAY_BUCKETS
            if upper is not None
        ),
        else_=DELAY_BUCKETS[-1][0],
    )


def cohort_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Cohort members per arrest day, week, final status and delay bucket, with what repeats and percentiles need."""
    member = cohort_members(flt, scope, intervention.c.arrested_date, intervention.c.arrested_week,
                            intervention.c.subject_key, intervention.c.occurred_us, intervention.c.next_us)
    keyed = and_(member.c.subject_key.is_not(None), member.c.subject_key != "")
    per_member = select(
        member.c.arrested_date.label("day"),
        member.c.arrested_week.label("week"),
        final_status(member).label("status"),
        delay_bucket(member).label("bucket"),
        _flag(keyed).label("keyed"),
        _flag(and_(keyed, member.c.next_us <= member.c.occurred_us + REPEAT_WINDOW_US)).label("repeated"),
    ).subquery("per_member")
    # Grouped outside: PostgreSQL would not match a GROUP BY CASE whose bound thresholds are separate parameters.
    groups = (per_member.c.day, per_member.c.week, per_member.c.status, per_member.c.bucket)
    counted = select(
        *groups,
        func.count().label("members"),
        func.sum(per_member.c.keyed).label("keyed"),
        func.sum(per_member.c.repeated).label("repeated"),
    ).group_by(*groups).subquery("counted")
    # Ranked apart, the delays alone: a window that sorts whole member rows took a quarter longer.
    percentile = _percentile_row(member)
    # One percentile row beside every counted row.
    return select(counted, percentile).select_from(counted.join(percentile, true())).order_by(*counted.c[:4])


def _percentile_row(member):
    """One row: the middle delays' sum and count (their mean is the median) and the nearest-rank 90th percentile."""
    delay = member.c.first_attempt_us - member.c.arrested_us
    # The attempted members counted in the same pass over the delays: as a joined one-row subquery, PostgreSQL
    # counted them again for every ranked row whenever it expected a small cohort.
    ranked = (
        select(delay.label("delay"), func.row_number().over(order_by=delay).label("position"),
               func.count().over().label("size"))
        .where(member.c.first_attempt_us.is_not(None))
        .subquery("ranked")
    )
    size = ranked.c.size
    # The middle rows: one when size is odd, two when even.
    middle = and_(2 * ranked.c.position >= size, 2 * ranked.c.position <= size + 2)
    # Nearest rank: the first position p with p >= 0.9 × size, in integers so no rounding decides.
    at_or_above_p90 = 10 * ranked.c.position >= 9 * size
    return (
        select(
            func.sum(case((middle, ranked.c.delay))).label("middle_us"),
            count_if(middle).label("middle_rows"),
            func.min(case((at_or_above_p90, ranked.c.delay))).label("p90_us"),
        )
        .cte("percentile")
        # Computed once: PostgreSQL, expecting one cohort member (a service and a municipality of it, each counted
        # as narrowing), joined it in a nested loop that ranked every delay again for each counted row (76 s).
        .prefix_with("MATERIALIZED")
    )


def cohort_figures(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """The period's cohort in scope per arrest day, week, status and delay; each row carries the whole's percentiles."""
    frame = fetch_frame(bind, cohort_statement(flt, scope))
    frame[list(COUNTED)] = frame[list(COUNTED)].astype("int64")
    # PostgreSQL sums bigints as numerics: floats hold these microseconds exactly (under 2^53).
    for column in ("middle_us", "p90_us"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def from_cohort(derive: Callable) -> Callable:
    """`derive(cohort, flt, *extra)` as a query function `(bind, flt, scope, *extra)` that reads the cohort itself."""
    # A cache that holds the cohort's figures calls `derive` on them instead (dashboard.web.cache): one read per page.

    @functools.wraps(derive)
    def query(bind: Engine | Connection, flt: MetricFilter, scope: Scope, *extra, **named):
        return derive(cohort_figures(bind, flt, scope), flt, *extra, **named)

    query.derived_from = cohort_figures
    query.derive = derive
    return query


def stage_counts(cohort: pd.DataFrame) -> dict[str, int]:
    """Members per final status and per delay bucket (`delay.<key>`), and the stages that add them up."""
    by_status = cohort.groupby("status")["members"].sum()
    by_bucket = cohort.groupby("bucket")["members"].sum()
    figures = {status: int(by_status.get(status, 0)) for status in FINAL_STATUSES}
    figures.update({f"delay.{key}": int(by_bucket.get(key, 0)) for key, _lower, _upper in DELAY_BUCKETS})
    figures["reached"] = figures["accepted"] + figures["already_in_help"] + figures["declined"]
    figures["attempted"] = figures["reached"] + figures["no_answer"]
    figures["cohort"] = figures["attempted"] + figures["not_attempted"]
    figures["within_24h"] = sum(figures[f"delay.{key}"] for key in WITHIN_24H)
    figures["within_48h"] = sum(figures[f"delay.{key}"] for key in WITHIN_48H)
    return figures


def median_hours(cohort: pd.DataFrame) -> float | None:
    """Median hours from arrest to first attempt over attempted members (mean of the middle two); None when none."""
    rows = int(cohort["middle_rows"].iloc[0]) if len(cohort) else 0
    return float(cohort["middle_us"].iloc[0]) / rows / MICROSECONDS_PER_HOUR if rows else None


def p90_hours(cohort: pd.DataFrame) -> float | None:
    """Nearest-rank 90th percentile of hours from arrest to first attempt; None when nobody was attempted."""
    smallest = cohort["p90_us"].iloc[0] if len(cohort) else None
    return None if smallest is None or pd.isna(smallest) else float(smallest) / MICROSECONDS_PER_HOUR
