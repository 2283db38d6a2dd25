"""What followed an arrest or an intervention: outcomes and referrals by month, victim follow-ups, later repeats."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Select, and_, case, func, select

from queries.cohort import FINAL_STATUSES, cohort_members, from_cohort
from queries.expressions import count_if
from queries.filters import MetricFilter, Scope
from queries.runner import fetch_frame
from queries.schema import REACHED_OUTCOMES, REFERRALS, intervention, outreach_attempt
from queries.scoping import intervention_conditions

REPEAT_GROUPS = ("accepted", "declined_or_in_help", "not_reached")
# The outreach group of each final status, for the comparison of later repeats.
REPEAT_GROUP_OF = {"accepted": "accepted", "already_in_help": "declined_or_in_help", "declined": "declined_or_in_help",
                   "no_answer": "not_reached", "not_attempted": "not_reached"}
FOLLOW_UP_DAYS = 365



def _month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from first's month to last's, in order."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _months_of(days: pd.Series) -> pd.Series:
    """The first day of each date's month."""
    # SQLite and PostgreSQL share no month function: the statements count per local date (a few hundred rows
    # a year at most) and the days are added up into months here.
    return pd.Series([day.replace(day=1) for day in days], index=days.index, dtype=object)


def _by_month(daily: pd.DataFrame, months: list[date], key: str, keys: tuple[str, ...], value: str) -> pd.DataFrame:
    """Daily counts per key summed into months: every month × every key, zeros included."""
    summed = daily[value].astype("int64").groupby([_months_of(daily["day"]), daily[key]]).sum()
    grid = pd.MultiIndex.from_product([months, list(keys)], names=["month_start", key])
    return summed.reindex(grid, fill_value=0).astype("int64").rename(value).reset_index()


@from_cohort
def outcomes_by_month(cohort: pd.DataFrame, flt: MetricFilter) -> pd.DataFrame:
    """Cohort members by local month of arrest and best outcome reached, every month × status, zeros included."""
    daily = cohort[["day", "status", "members"]].rename(columns={"status": "outcome"})
    return _by_month(daily, _month_starts(flt.period.start, flt.period.end), "outcome", FINAL_STATUSES, "members")


def referrals_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Cohort members' offender attempts with a referral, per local attempt date and referral."""
    member = cohort_members(flt, scope)
    return (
        select(
            outreach_attempt.c.attempted_date.label("day"),
            outreach_attempt.c.referral,
            func.count().label("attempts"),
        )
        .select_from(member.join(outreach_attempt, outreach_attempt.c.intervention_id == member.c.id))
        .where(outreach_attempt.c.subject_role == "offender", outreach_attempt.c.referral.is_not(None))
        .group_by(outreach_attempt.c.attempted_date, outreach_attempt.c.referral)
    )


def referrals_by_month(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Referrals made to the period's cohort, by local month of the attempt and referral, zeros included."""
    daily = fetch_frame(bind, referrals_statement(flt, scope))
    # All of a member's attempts count, so the months run on past the period as far as the latest one.
    last = max([flt.period.end, *daily["day"]])
    return _by_month(daily, _month_starts(flt.period.start, last), "referral", REFERRALS, "attempts")


def victim_followups_statement(flt: MetricFilter, scope: Scope) -> Select:
    """Per local intervention date: interventions, those with a victim attempt, victim attempts, victims reached."""
    victim_attempt = and_(
        outreach_attempt.c.intervention_id == intervention.c.id,
        outreach_attempt.c.subject_role == "victim",
    )
    per_intervention = (
        select(
            intervention.c.occurred_date.label("day"),
            func.count(outreach_attempt.c.id).label("attempts"),
            func.max(case((outreach_attempt.c.outcome.in_(REACHED_OUTCOMES), 1), else_=0)).label("reached"),
        )
        .select_from(intervention.outerjoin(outreach_attempt, victim_attempt))
        .where(
            intervention.c.occurred_date.between(flt.period.start, flt.period.end),
            *intervention_conditions(intervention, flt, scope),
        )
        .group_by(intervention.c.id, intervention.c.occurred_date)
        .subquery("per_intervention")
    )
    return select(
        per_intervention.c.day,
        func.count().label("interventions"),
        count_if(per_intervention.c.attempts > 0).label("followed_up"),
        func.sum(per_intervention.c.attempts).label("attempts"),
        func.sum(per_intervention.c.reached).label("reached"),
    ).group_by(per_intervention.c.day)


def victim_followups(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> pd.DataFrame:
    """Per local month of the period: interventions, those followed up with the victim, attempts, victims reached."""
    daily = fetch_frame(bind, victim_followups_statement(flt, scope))
    columns = ["interventions", "followed_up", "attempts", "reached"]
    months = _month_starts(flt.period.start, flt.period.end)
    summed = daily[columns].astype("int64").groupby(_months_of(daily["day"])).sum()
    frame = summed.reindex(months, fill_value=0).astype("int64").rename_axis("month_start").reset_index()
    return frame[["month_start", *columns]]


@from_cohort
def repeat_after_outreach(cohort: pd.DataFrame, flt: MetricFilter, as_of: date) -> pd.DataFrame:
    """Members arrested on or before as_of − 365 days, with a subject key: per group, how many had a repeat."""
    # A later intervention is known for a whole year only after those arrested a year before as_of.
    followed = cohort[cohort["day"] <= as_of - timedelta(days=FOLLOW_UP_DAYS)]
    per_group = pd.DataFrame({
        "group": followed["status"].map(REPEAT_GROUP_OF),
        "members": followed["keyed"],
        "repeated": followed["repeated"],
    }).groupby("group").sum()
    frame = per_group.reindex(list(REPEAT_GROUPS), fill_value=0).astype("int64").rename_axis("group").reset_index()
    frame["share"] = frame["repeated"] / frame["members"].astype("float64").replace(0.0, np.nan)
    return frame
