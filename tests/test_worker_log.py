"""Attempts recorded in the app: the importer's rules, one transaction with its audit row, corrections within 24 h,
closed cases, two workers at once, and the same figures as the same attempts imported."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dashboard.ingest import worker_log
from dashboard.ingest.importer import import_file
from dashboard.ingest.worker_log import (
    ATTEMPT_ID_PREFIX,
    AttemptEntry,
    AttemptRefused,
    Recorder,
    close_case,
    correct_attempt,
    new_form_token,
    record_attempt,
    withdraw_attempt,
)
from queries.filters import MetricFilter, Period, Scope
from queries.freshness import current_version
from queries.outreach import outreach_summary
from queries.queue import waiting_cases
from queries.schema import attempt_revision, audit_event, case_closure, intervention, outreach_attempt
from tests.queue_data import ANY, INTERVENTIONS, NOW, NOW_US, OUTREACH, RULES, load_queue_data


@pytest.fixture
def queued(engine):
    return load_queue_data(engine)


ANNE = Recorder("anne", Scope.of("RIPRSL", role="worker"))
BEA = Recorder("bea", Scope.of("RIPRSL", role="worker"))


def entry(event_id: str = "Q1", at: str = "2024-03-20 11:30", outcome: str = "no_answer", **others) -> AttemptEntry:
    return AttemptEntry(police_service=others.pop("service", "RIPRSL"), event_id=event_id, attempted_at=at,
                        subject_role=others.pop("role", "offender"), outcome=outcome, **others)


def attempts_of(engine, event_id: str) -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(
            select(outreach_attempt.c.attempt_id, outreach_attempt.c.outcome, outreach_attempt.c.recorded_by)
            .where(outreach_attempt.c.event_id == event_id, outreach_attempt.c.subject_role == "offender")
            .order_by(outreach_attempt.c.attempted_us)).all()


def audit_rows(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(audit_event).order_by(audit_event.c.id)).all()


def test_an_attempt_is_written_with_its_audit_row_and_a_new_data_version(queued):
    before = current_version(queued)
    attempt_id = record_attempt(queued, entry(channel="phone"), ANNE, NOW)
    assert attempt_id.startswith("W-")
    assert attempts_of(queued, "Q1") == [(attempt_id, "no_answer", "anne")]
    (row,) = audit_rows(queued)
    assert (row.subject, row.action, row.page, row.services) == ("anne", "attempt", "queue", "RIPRSL")
    assert json.loads(row.detail) == {"attempt": attempt_id, "service": "RIPRSL", "outcome": "no_answer",
                                      "subject_role": "offender"}
    assert current_version(queued) == before + 1
    # Q1 stays in the queue (not reached) with one attempt; an acceptance takes it out.
    frame = waiting_cases(queued, ANY, ANNE.scope, "offender", NOW_US, RULES)
    assert frame.set_index("event_id").loc["Q1", "attempts"] == 1
    record_attempt(queued, entry(at="2024-03-20 11:45", outcome="accepted", referral="men_program"), ANNE, NOW)
    assert "Q1" not in set(waiting_cases(queued, ANY, ANNE.scope, "offender", NOW_US, RULES)["event_id"])


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"at": "2024-03-20 12:01"}, "attempted_at", "dans le futur"),
        ({"at": "2024-03-20 09:59"}, "attempted_at", "antérieur"),
        ({"at": "20/03/2024 11:00"}, "attempted_at", "date et heure invalides"),
        ({"outcome": "maybe"}, "outcome", "valeur non permise"),
        ({"channel": "fax"}, "channel", "valeur non permise"),
        ({"referral": "priest"}, "referral", "valeur non permise"),
        ({"role": "witness"}, "subject_role", "valeur non permise"),
        ({"event_id": "NOPE"}, "event_id", "aucune intervention"),
    ],
)
def test_each_rule_of_the_form_refuses_and_writes_nothing(queued, changes, field, words):
    with pytest.raises(AttemptRefused) as refused:
        record_attempt(queued, entry(**changes), ANNE, NOW)
    assert [problem_field for problem_field, _reason in refused.value.problems] == [field]
    assert words in refused.value.problems[0][1]
    with queued.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(outreach_attempt)) == 9
    assert audit_rows(queued) == []


@pytest.mark.parametrize("recorder", [Recorder("c", Scope.of("RIPRSL", role="captain")),
                                      Recorder("d", Scope.of("RIPRSL", role="director")),
                                      Recorder("s", Scope.of("SPS", role="worker"))])
def test_only_a_worker_of_the_service_records(queued, recorder):
    with pytest.raises(PermissionError):
        record_attempt(queued, entry(), recorder, NOW)
    assert attempts_of(queued, "Q1") == []


def test_a_worker_corrects_her_own_attempt_within_24_hours_and_the_old_values_are_kept(queued):
    attempt_id = record_attempt(queued, entry(), ANNE, NOW)
    correct_attempt(queued, attempt_id, entry(at="2024-03-20 11:40", outcome="declined"), ANNE,
                    NOW + timedelta(hours=23))
    assert attempts_of(queued, "Q1") == [(attempt_id, "declined", "anne")]
    with queued.connect() as connection:
        (revision,) = connection.execute(select(attempt_revision)).all()
    assert (revision.attempt_id, revision.change, revision.revised_by) == (attempt_id, "correction", "anne")
    previous = json.loads(revision.previous)
    assert (previous["outcome"], previous["attempted_at"]) == ("no_answer", "2024-03-20T15:30:00+00:00")
    assert [row.action for row in audit_rows(queued)] == ["attempt", "attempt_corrected"]
    with pytest.raises(AttemptRefused, match="seule la personne"):
        correct_attempt(queued, attempt_id, entry(outcome="accepted"), BEA, NOW + timedelta(hours=1))
    with pytest.raises(AttemptRefused, match="plus de 24 heures"):
        correct_attempt(queued, attempt_id, entry(outcome="accepted"), ANNE, NOW + timedelta(hours=24, seconds=1))
    with pytest.raises(AttemptRefused, match="seule la personne"):
        correct_attempt(queued, "B1", entry(event_id="Q2"), ANNE, NOW)  # imported: recorded by nobody in the app
    with pytest.raises(AttemptRefused, match="introuvable"):
        correct_attempt(queued, "W-none", entry(), ANNE, NOW)


def test_a_worker_withdraws_her_own_attempt(queued):
    attempt_id = record_attempt(queued, entry(outcome="accepted"), ANNE, NOW)
    with pytest.raises(AttemptRefused, match="seule la personne"):
        withdraw_attempt(queued, "RIPRSL", attempt_id, BEA, NOW)
    withdraw_attempt(queued, "RIPRSL", attempt_id, ANNE, NOW + timedelta(minutes=5))
    assert attempts_of(queued, "Q1") == []
    with queued.connect() as connection:
        (revision,) = connection.execute(select(attempt_revision)).all()
    assert revision.change == "withdrawal" and json.loads(revision.previous)["outcome"] == "accepted"
    assert [row.action for row in audit_rows(queued)] == ["attempt", "attempt_withdrawn"]
    assert "Q1" in set(waiting_cases(queued, ANY, ANNE.scope, "offender", NOW_US, RULES)["event_id"])


def test_a_closed_case_leaves_the_queue_and_counts_as_not_reached(queued):
    flt = MetricFilter(Period(date(2024, 3, 19), date(2024, 3, 20)))
    before = outreach_summary(queued, flt, Scope.of("RIPRSL"))
    close_case(queued, "RIPRSL", "Q3", "offender", ANNE, NOW)
    close_case(queued, "RIPRSL", "Q3", "offender", BEA, NOW)  # already closed: nothing more
    assert "Q3" not in set(waiting_cases(queued, ANY, ANNE.scope, "offender", NOW_US, RULES)["event_id"])
    assert "Q3" in set(waiting_cases(queued, ANY, ANNE.scope, "victim", NOW_US, RULES)["event_id"])
    assert outreach_summary(queued, flt, Scope.of("RIPRSL")) == before
    assert before.cohort == 6 and before.reached == 0
    (row,) = audit_rows(queued)
    assert row.action == "case_closed"
    assert json.loads(row.detail) == {"event_id": "Q3", "service": "RIPRSL", "subject_role": "offender"}


def closures(engine, event_id: str = "Q3") -> list[tuple]:
    with engine.connect() as connection:
        return connection.execute(select(case_closure.c.subject_role, case_closure.c.closed_by).where(
            case_closure.c.intervention_id == intervention.c.id, intervention.c.event_id == event_id)).all()


@pytest.mark.parametrize("role", ["witness", "OFFENDER", ""])
def test_closing_a_case_for_an_unknown_role_is_refused_before_anything_is_written(queued, role):
    with pytest.raises(AttemptRefused) as refused:
        close_case(queued, "RIPRSL", "Q3", role, ANNE, NOW)
    assert [field for field, _reason in refused.value.problems] == ["subject_role"]
    assert "valeur non permise" in refused.value.problems[0][1]
    assert closures(queued) == [] and audit_rows(queued) == []


def test_a_closure_written_a_moment_before_by_another_worker_reads_as_closed(queued, monkeypatch):
    """The unique key on (intervention, role) refuses the second closure: that one violation means "closed"."""
    close_case(queued, "RIPRSL", "Q3", "offender", ANNE, NOW)
    real, looks = worker_log.closure_of, []

    def unseen_the_first_time(connection, intervention_id, subject_role):
        looks.append(subject_role)
        return None if len(looks) == 1 else real(connection, intervention_id, subject_role)

    monkeypatch.setattr(worker_log, "closure_of", unseen_the_first_time)
    close_case(queued, "RIPRSL", "Q3", "offender", BEA, NOW)
    assert len(looks) == 2  # looked before writing, and again after the violation
    assert closures(queued) == [("offender", "anne")]
    assert [row.action for row in audit_rows(queued)] == ["case_closed"]


def test_any_other_fault_of_a_closure_is_raised_not_read_as_closed(queued):
    nobody = Recorder(None, Scope.of("RIPRSL", role="worker"))  # closed_by NOT NULL: a fault, not a closure
    with pytest.raises(IntegrityError):
        close_case(queued, "RIPRSL", "Q3", "offender", nobody, NOW)
    assert closures(queued) == [] and audit_rows(queued) == []


def test_the_same_form_submitted_three_times_stores_one_attempt(queued):
    token = new_form_token()
    ids = [record_attempt(queued, entry(channel="phone"), ANNE, NOW, form_token=token) for _ in range(3)]
    assert ids == [ATTEMPT_ID_PREFIX + token] * 3
    assert attempts_of(queued, "Q1") == [(ATTEMPT_ID_PREFIX + token, "no_answer", "anne")]
    assert [row.action for row in audit_rows(queued)] == ["attempt"]
    # A new form is a new attempt.
    record_attempt(queued, entry(at="2024-03-20 11:40"), ANNE, NOW, form_token=new_form_token())
    assert len(attempts_of(queued, "Q1")) == 2


def test_an_attempt_saved_a_moment_before_by_the_same_form_reads_as_saved(queued, monkeypatch):
    """The unique key (police_service, attempt_id) refuses the second insert: that one violation means "saved"."""
    token = new_form_token()
    record_attempt(queued, entry(), ANNE, NOW, form_token=token)
    real, looks = worker_log.attempt_saved, []

    def unseen_the_first_time(connection, service, attempt_id):
        looks.append(attempt_id)
        return False if len(looks) == 1 else real(connection, service, attempt_id)

    monkeypatch.setattr(worker_log, "attempt_saved", unseen_the_first_time)
    assert record_attempt(queued, entry(), ANNE, NOW, form_token=token) == ATTEMPT_ID_PREFIX + token
    assert looks == [ATTEMPT_ID_PREFIX + token] * 2
    assert len(attempts_of(queued, "Q1")) == 1
    assert [row.action for row in audit_rows(queued)] == ["attempt"]


@pytest.mark.parametrize("token", ["", "../x", "A" * 32, "0" * 31, "0" * 64])
def test_a_form_token_is_the_apps_own(queued, token):
    with pytest.raises(ValueError):
        record_attempt(queued, entry(), ANNE, NOW, form_token=token)
    assert attempts_of(queued, "Q1") == []


def test_two_workers_recording_the_first_attempt_at_once_both_succeed(queued):
    barrier, ids, failures = threading.Barrier(2), [], []

    def record(recorder: Recorder, at: str) -> None:
        barrier.wait()
        try:
            ids.append(record_attempt(queued, entry(event_id="Q4", at=at), recorder, NOW))
        except Exception as failure:
            failures.append(failure)

    threads = [threading.Thread(target=record, args=(ANNE, "2024-03-20 11:00")),
               threading.Thread(target=record, args=(BEA, "2024-03-20 11:01"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(set(ids)) == 2
    assert sorted(by for _id, _outcome, by in attempts_of(queued, "Q4")) == ["anne", "bea"]
    assert [row.action for row in audit_rows(queued)] == ["attempt", "attempt"]
    frame = waiting_cases(queued, ANY, ANNE.scope, "offender", NOW_US, RULES)
    assert frame.set_index("event_id").loc["Q4", "attempts"] == 2


def test_figures_of_attempts_recorded_in_the_app_equal_those_of_the_same_attempts_imported(engine):
    """The same interventions, and the same attempts once by CSV and once through the form, give the same figures."""
    import_file(engine, "interventions", INTERVENTIONS.encode(), "interventions.csv", imported_by="test")
    flt = MetricFilter(Period(date(2024, 3, 1), date(2024, 3, 20)))
    lines = OUTREACH.strip().splitlines()[1:]
    for line in lines:
        _id, service, event_id, at, role, outcome, channel, referral = line.split(",")
        if service == "RIPRSL":
            record_attempt(engine, AttemptEntry(service, event_id, at, role, outcome, channel, referral), ANNE, NOW)
    in_app = outreach_summary(engine, flt, Scope.of("RIPRSL"))
    with engine.begin() as connection:
        connection.execute(outreach_attempt.delete())
    report = import_file(engine, "outreach", OUTREACH.encode(), "outreach.csv", imported_by="test")
    assert report.problems == []
    imported = outreach_summary(engine, flt, Scope.of("RIPRSL"))
    assert in_app == imported
    # By hand: cohort Q1–Q8 (8 arrests in March), attempted Q2, Q3, Q5, Q8; reached and accepted Q5 only.
    assert (imported.cohort, imported.attempted, imported.reached, imported.accepted) == (8, 4, 1, 1)
