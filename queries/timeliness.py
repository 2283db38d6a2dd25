"""How fast the outreach cohort was reached: delay distribution and percentiles, weekly 24-hour share, funnel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Select, and_, case, func, select

from queries.expressions import count_if
from queries.filters import MetricFilter, Scope
from queries.localtime import MICROSECONDS_PER_HOUR, week_monday, weeks_overlapping
from queries.outreach import cohort_members, funnel_statement, ranked_delays
from queries.runner import fetch_frame, fetch_row
from queries.schema import intervention

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
FUNNEL_STAGES = ("arrests", "attempted", "reached", "accepted", "declined", "already_in_help")
# The reached who did not accept, split in two: drawn apart from the path arrests → accepted.
FUNNEL_BREAKDOWN = ("declined", "already_in_help")


@dataclass(frozen=True)
class Percentiles:
    """Median and 90th percentile of hours from arrest to first attempt over attempted members; None when none."""

    median_hours: float | None
    p90_hours: float | None
    attempted: int


def _delay(member):
    return member.c.first_attempt_us - member.c.arrested_us



def delay_bucket(member) -> object:
    """A cohort member's DELAY_BUCKETS key, or NEVER when not attempted."""
    delay = _delay(member)
    return case(
        (member.c.first_attempt_us.is_(None), NEVER),
        *(
            (delay <= int(upper * MICROSECONDS_PER_HOUR), key)
            for key, _lower, upper in DELAY_BUCKETS
            if upper is not None
        ),
        else_=DELAY_BUCKETS[-1][0],
    )


def delay_buckets() -> pd.DataFrame:
    """Every delay bucket in order, with its bounds in hours, then NEVER (no bounds)."""
    return pd.DataFrame(
        {
            "bucket": [key for key, _lower, _upper in DELAY_BUCKETS] + [NEVER],
            # object columns, so that the missing bounds stay None rather than becoming NaN.
            "lower_hours": pd.Series([lower for _key, lower, _upper in DELAY_BUCKETS] + [None], dtype=object),
            "upper_hours": pd.Series([upper for _key, _lower, upper in DELAY_BUCKETS] + [None], dtype=object),
        }
    )


def delay_distribution_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Cohort members per delay bucket that has any, `never` for members never attempted."""
    member = cohort_members(flt, scope)
    # Grouped outside: PostgreSQL would not match a GROUP BY CASE whose bound thresholds are separate parameters.
    bucketed = select(delay_bucket(member).label("bucket")).subquery("bucketed")
    return select(bucketed.c.bucket, func.count().label("members")).group_by(bucketed.c.bucket)


def delay_distribution(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Cohort members per bucket of hours from arrest to first attempt, in bucket order, then those never attempted."""
    counted = fetch_frame(bind, delay_distribution_statement(flt, scope)).set_index("bucket")["members"]
    frame = delay_buckets()
    frame["members"] = counted.reindex(frame["bucket"], fill_value=0).to_numpy(dtype="int64")
    return frame


def delay_percentiles_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Median and nearest-rank 90th percentile of microseconds to first attempt, and the number attempted."""
    ranked = ranked_delays(flt, scope)
    position, size = ranked.c.position, ranked.c.size
    # The middle rows: one when size is odd, two when even (queries.outreach.median_delay_statement).
    middle = and_(2 * position >= size, 2 * position <= size + 2)
    # Nearest rank: the first position p with p >= 0.9 × size, in integers so no rounding decides.
    at_or_above_p90 = 10 * position >= 9 * size
    return select(
        func.avg(case((middle, ranked.c.delay))).label("median_us"),
        func.min(case((at_or_above_p90, ranked.c.delay))).label("p90_us"),
        func.count().label("attempted"),
    )


def _hours(microseconds) -> float | None:
    return None if microseconds is None else float(microseconds) / MICROSECONDS_PER_HOUR


def delay_percentiles(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> Percentiles:
    """Median (mean of the middle two when even) and nearest-rank 90th percentile of hours to first attempt."""
    row = fetch_row(bind, delay_percentiles_statement(flt, scope))
    return Percentiles(_hours(row.median_us), _hours(row.p90_us), int(row.attempted))


def weekly_within_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Per ISO week of the local arrest date that has any: cohort, first attempted within 24 and within 48 hours."""
    member = cohort_members(flt, scope, intervention.c.arrested_week)
    delay = _delay(member)
    return select(
        member.c.arrested_week.label("week"),
        func.count().label("cohort"),
        count_if(delay <= 24 * MICROSECONDS_PER_HOUR).label("within_24h"),
        count_if(delay <= 48 * MICROSECONDS_PER_HOUR).label("within_48h"),
    ).group_by(member.c.arrested_week)


def weekly_within_24h(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Per ISO week of arrest in the period (zeros included): cohort, within 24 h, within 48 h, 24-hour share."""
    counted = fetch_frame(bind, weekly_within_statement(flt, scope)).set_index("week")
    weeks = weeks_overlapping(flt.period.start, flt.period.end)
    frame = counted.reindex(weeks, fill_value=0).astype("int64").rename_axis("week").reset_index()
    frame.insert(1, "week_start", [week_monday(label) for label in weeks])
    frame["share_24h"] = frame["within_24h"] / frame["cohort"].astype("float64").replace(0.0, np.nan)
    return frame


def funnel(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Cohort members at each stage: arrests, attempted, reached, accepted, declined, already in help."""
    row = fetch_row(bind, funnel_statement(flt, scope))
    # Reached members are exactly one of: accepted, already in help (not accepted), declined (neither).
    declined = row.reached - row.accepted - row.already_in_help
    members = (row.cohort, row.attempted, row.reached, row.accepted, declined, row.already_in_help)
    return pd.DataFrame({"stage": list(FUNNEL_STAGES), "members": [int(value) for value in members]})
