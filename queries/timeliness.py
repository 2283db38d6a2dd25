"""How fast the outreach cohort was reached: delay distribution and percentiles, weekly 24-hour share, funnel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from queries.cohort import (
    DELAY_BUCKETS,
    NEVER,
    WITHIN_24H,
    WITHIN_48H,
    from_cohort,
    median_hours,
    p90_hours,
    stage_counts,
)
from queries.filters import MetricFilter
from queries.localtime import week_monday, weeks_overlapping

FUNNEL_STAGES = ("arrests", "attempted", "reached", "accepted", "declined", "already_in_help")
# The reached who did not accept, split in two: drawn apart from the path arrests → accepted.
FUNNEL_BREAKDOWN = ("declined", "already_in_help")


@dataclass(frozen=True)
class Percentiles:
    """Median and 90th percentile of hours from arrest to first attempt over attempted members; None when none."""

    median_hours: float | None
    p90_hours: float | None
    attempted: int


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


@from_cohort
def delay_distribution(cohort: pd.DataFrame, flt: MetricFilter) -> pd.DataFrame:
    """Cohort members per bucket of hours from arrest to first attempt, in bucket order, then those never attempted."""
    counted = cohort.groupby("bucket")["members"].sum()
    frame = delay_buckets()
    frame["members"] = counted.reindex(frame["bucket"], fill_value=0).to_numpy(dtype="int64")
    return frame


def percentiles_of(cohort: pd.DataFrame) -> Percentiles:
    """The cohort's median and 90th percentile of hours to first attempt, and how many were attempted."""
    return Percentiles(median_hours(cohort), p90_hours(cohort), stage_counts(cohort)["attempted"])


@from_cohort
def delay_percentiles(cohort: pd.DataFrame, flt: MetricFilter) -> Percentiles:
    """Median (mean of the middle two when even) and nearest-rank 90th percentile of hours to first attempt."""
    return percentiles_of(cohort)


@from_cohort
def weekly_within_24h(cohort: pd.DataFrame, flt: MetricFilter) -> pd.DataFrame:
    """Per ISO week of arrest in the period (zeros included): cohort, within 24 h, within 48 h, 24-hour share."""
    members = cohort["members"]
    per_week = pd.DataFrame({
        "week": cohort["week"],
        "cohort": members,
        "within_24h": members.where(cohort["bucket"].isin(WITHIN_24H), 0),
        "within_48h": members.where(cohort["bucket"].isin(WITHIN_48H), 0),
    }).groupby("week").sum()
    weeks = weeks_overlapping(flt.period.start, flt.period.end)
    frame = per_week.reindex(weeks, fill_value=0).astype("int64").rename_axis("week").reset_index()
    frame.insert(1, "week_start", [week_monday(label) for label in weeks])
    frame["share_24h"] = frame["within_24h"] / frame["cohort"].astype("float64").replace(0.0, np.nan)
    return frame


@from_cohort
def funnel(cohort: pd.DataFrame, flt: MetricFilter) -> pd.DataFrame:
    """Cohort members at each stage: arrests, attempted, reached, accepted, declined, already in help."""
    figures = stage_counts(cohort)
    members = [figures["cohort" if stage == "arrests" else stage] for stage in FUNNEL_STAGES]
    return pd.DataFrame({"stage": list(FUNNEL_STAGES), "members": members})
