"""What every page would otherwise recompute, stored on write: each intervention's neighbours of the same subject in
its police service, and what its offender outreach came to. Every writer calls these for the rows it touched."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, or_, select, update

from queries.runner import LOOKUP_CHUNK, chunks
from queries.schema import REACHED_OUTCOMES, intervention, outreach_attempt

SubjectKey = tuple[str, str]
EventKey = tuple[str, str]


def _neighbour(aggregate, comparison) -> object:
    other = intervention.alias("other")
    return (
        select(aggregate(other.c.occurred_us))
        .where(
            other.c.police_service == intervention.c.police_service,
            other.c.subject_key == intervention.c.subject_key,
            comparison(other.c.occurred_us, intervention.c.occurred_us),
        )
        .scalar_subquery()
    )


def _links_update(condition: ColumnElement[bool]):
    """Set previous_us and next_us of the interventions matching the condition."""
    has_key = and_(intervention.c.subject_key.is_not(None), intervention.c.subject_key != "")
    previous = _neighbour(func.max, lambda other, this: other < this)
    following = _neighbour(func.min, lambda other, this: other > this)
    return update(intervention).where(condition).values(
        previous_us=case((has_key, previous), else_=None),
        next_us=case((has_key, following), else_=None),
    )


def refresh_subject_links(connection: Connection, keys: Iterable[SubjectKey],
                          events: Iterable[EventKey] = ()) -> set[tuple[str, str]]:
    """Recompute the previous and next intervention of every intervention of these (service, subject key) pairs, and
    of these (service, event_id) interventions (whose subject key may have just been removed); the (service, ISO week)
    pairs of the interventions recomputed, whose stored weekly repeats may have changed with them."""
    weeks: set[tuple[str, str]] = set()
    for column, pairs in (("subject_key", keys), ("event_id", events)):
        by_service: dict[str, set[str]] = defaultdict(set)
        for service, value in pairs:
            if value:
                by_service[service].add(value)
        for service, values in by_service.items():
            for chunk in chunks(sorted(values), LOOKUP_CHUNK):
                chosen = and_(intervention.c.police_service == service, intervention.c[column].in_(chunk))
                connection.execute(_links_update(chosen))
                weeks.update((service, week) for service, week in connection.execute(
                    select(intervention.c.police_service, intervention.c.occurred_week).distinct().where(chosen)))
    return weeks


def refresh_all_subject_links(connection: Connection) -> None:
    """Recompute the previous and next intervention of every intervention with a subject key."""
    connection.execute(_links_update(intervention.c.subject_key.is_not(None)))


def forget_links_before(connection: Connection, cutoff_us: int) -> None:
    """After every intervention before the cutoff was destroyed: no intervention's previous one lies before it."""
    # Everything earlier is gone, so a previous intervention before the cutoff had no kept one before it either.
    connection.execute(update(intervention).where(intervention.c.previous_us < cutoff_us).values(previous_us=None))


def _offender_attempts(*conditions: ColumnElement[bool]):
    return select(outreach_attempt.c.id).where(
        outreach_attempt.c.intervention_id == intervention.c.id,
        outreach_attempt.c.subject_role == "offender",
        *conditions,
    )


def _outreach_update(condition: ColumnElement[bool]):
    """Set the first offender attempt and whether he was reached, accepted or already in help, where the condition."""
    first = (
        select(func.min(outreach_attempt.c.attempted_us))
        .where(outreach_attempt.c.intervention_id == intervention.c.id, outreach_attempt.c.subject_role == "offender")
        .scalar_subquery()
    )
    # An attempt recorded on a hand entry before the police file's later arrest time counts as at the arrest (0 h):
    # the police's times replaced the hand's, the attempt itself is kept as recorded.
    not_before_arrest = case((first < intervention.c.arrested_us, intervention.c.arrested_us), else_=first)
    return update(intervention).where(condition).values(
        offender_first_attempt_us=not_before_arrest,
        offender_reached=exists(_offender_attempts(outreach_attempt.c.outcome.in_(REACHED_OUTCOMES))),
        offender_accepted=exists(_offender_attempts(outreach_attempt.c.outcome == "accepted")),
        offender_in_help=exists(_offender_attempts(outreach_attempt.c.outcome == "already_in_help")),
    )


def refresh_outreach(connection: Connection, intervention_ids: Iterable[int]) -> None:
    """Recompute the offender outreach summary of these interventions."""
    for chunk in chunks(sorted(set(intervention_ids)), LOOKUP_CHUNK):
        connection.execute(_outreach_update(intervention.c.id.in_(chunk)))


def refresh_all_outreach(connection: Connection) -> None:
    """Recompute the offender outreach summary of every intervention that has, or had, an attempt."""
    attempted = exists(select(outreach_attempt.c.id).where(outreach_attempt.c.intervention_id == intervention.c.id))
    # Without an offender attempt the first attempt is NULL and every flag false: a row with a first attempt has or
    # had one.
    connection.execute(_outreach_update(or_(attempted, intervention.c.offender_first_attempt_us.is_not(None))))
