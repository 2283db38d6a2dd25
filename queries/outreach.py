"""Outreach after arrest: the cohort of a period, how many were attempted, reached and accepted, and how fast."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from queries.cohort import from_cohort, median_hours, stage_counts
from queries.filters import MetricFilter


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


@from_cohort
def outreach_summary(cohort: pd.DataFrame, flt: MetricFilter) -> OutreachSummary:
    """The outreach figures of the period's arrest cohort within the viewer's scope."""
    figures = stage_counts(cohort)
    return OutreachSummary(
        *(figures[name] for name in ("cohort", "attempted", "reached", "accepted", "already_in_help",
                                     "within_24h", "within_48h")),
        median_hours_to_first_attempt=median_hours(cohort),
    )
