"""The worker's queue on screen: tiles, the waiting cases with their clock, the attempt form, her recent attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from auth.viewer import Viewer
from dashboard import settings
from dashboard.i18n import number
from dashboard.ingest import hand_entry, worker_log
from dashboard.web import cache
from dashboard.web.language import labels, language, tr
from dashboard.web.widgets import local_time
from queries import places, queue
from queries.filters import MetricFilter, Period
from queries.localtime import LOCAL_TIMEZONE, epoch_microseconds
from queries.schema import CHANNELS, OUTCOMES

# The drawn intake form's token until its case is saved, and how many times it was submitted (the subject key's
# field is a new one after each submission, so that the browser does not send the typed key again).
INTAKE_TOKEN_KEY = "intake_form_token"
INTAKE_SUBMISSIONS_KEY = "intake_submissions"
# What refused the last submission, in words (never the values), shown once the form is drawn again.
INTAKE_PROBLEMS_KEY = "intake_problems"
# The drawn attempt forms' tokens, by (police service, event, role), until each one's attempt is saved.
FORM_TOKENS_KEY = "attempt_form_tokens"
REFERRALS_BY_ROLE = {
    "offender": ("men_program", "therapy", "addiction", "legal", "other"),
    "victim": ("shelter", "victim_assistance", "legal", "other"),
}
NONE = ""
# A working queue's size: a longer table goes without the clock's colours (see waiting_list).
STYLED_ROWS = 500
# Pale backgrounds with dark text (contrast above 7:1), the Okabe–Ito hues of the charts: green, orange, vermillion.
CLOCK_STYLES = {
    "on_time": "background-color: #d5f0e6; color: #0b3d2c",
    "due_soon": "background-color: #fbe8c4; color: #4a3000",
    "overdue": "background-color: #f7d4c4; color: #5c1a00",
}


def rules(role: str) -> queue.QueueRules:
    """The configured target and closing rules of one queue."""
    days, attempts = settings.queue_closing()
    return queue.QueueRules(target_hours=settings.queue_targets()[role], close_after_days=days,
                            close_after_attempts=attempts)


def refresh_seconds() -> float:
    """How often an open queue is read again."""
    return settings.queue_refresh_seconds()


def _now() -> datetime:
    # To the minute: a minute's reruns share one cached result, and a write changes the data version anyway.
    return datetime.now(UTC).replace(second=0, microsecond=0)


def waiting_time(hours: float) -> str:
    """Hours and minutes waited, as 25 h 05."""
    minutes = int(round(hours * 60))
    return f"{minutes // 60} h {minutes % 60:02d}"


def queue_table(frame: pd.DataFrame, role: str) -> pd.DataFrame:
    """The waiting cases as shown: clock in words (colour only repeats them), local times, yes/no."""
    # Each text looked up once: a province-wide queue has thousands of rows.
    clocks = {state: tr(f"queue.clock.{state}", hours="{hours}") for state in queue.CLOCKS}
    answers = {True: tr("yes"), False: tr("no")}
    sources = {True: tr("queue.source.hand"), False: tr("queue.source.police")}
    since = pd.to_datetime(frame["arrested_at"] if role == "offender" else frame["occurred_at"], utc=True)
    return pd.DataFrame({
        tr("queue.column.clock"): [clocks[state].format(hours=waiting_time(hours))
                                   for state, hours in zip(frame["clock"], frame["hours_waiting"])],
        tr("queue.column.event_id"): frame["event_id"],
        tr("queue.column.source"): [sources[bool(by_hand)] for by_hand in frame["by_hand"]],
        tr("queue.column.municipality"): frame["municipality"],
        tr(f"queue.column.since.{role}"): since.dt.tz_convert(LOCAL_TIMEZONE).dt.strftime("%Y-%m-%d %H:%M"),
        tr("queue.column.contact_ban"): [answers[bool(ban)] for ban in frame["contact_ban"]],
        tr("queue.column.previous"): frame["previous_12_months"].astype(int),
        tr("queue.column.attempts"): frame["attempts"].astype(int),
    })


def tiles(summary: queue.QueueSummary, target_hours: float) -> None:
    """Waiting, overdue and contacted today."""
    # A row that wraps rather than columns that stack: on a phone the three stay on one or two lines, above the list.
    with st.container(horizontal=True):
        st.metric(tr("queue.tile.waiting"), number(summary.waiting, language()), border=True, width="content")
        st.metric(tr("queue.tile.overdue"), number(summary.overdue, language()), border=True, width="content",
                  help=tr("queue.tile.overdue.help", target=f"{target_hours:g}"))
        st.metric(tr("queue.tile.contacted_today"), number(summary.contacted_today, language()), border=True,
                  width="content")


def _recorder(viewer: Viewer) -> worker_log.Recorder:
    return worker_log.Recorder(viewer.subject, viewer.scope)


def _show_refusal(refusal: worker_log.AttemptRefused) -> None:
    st.error("\n".join([tr("queue.form.refused"), *(f"- {reason}" for _field, reason in refusal.problems)]))


def _entry_fields(role: str, key: str, earliest: datetime, initial: dict | None = None) -> dict:
    """The form's fields: local date and time, outcome, channel, referral (no free text: data minimisation)."""
    now = datetime.now(LOCAL_TIMEZONE)
    initial = initial or {}
    moment = initial.get("attempted_at", now).astimezone(LOCAL_TIMEZONE)
    day_column, time_column = st.columns(2)
    day = day_column.date_input(tr("queue.form.date"), value=moment.date(), key=f"{key}_date",
                                min_value=earliest.astimezone(LOCAL_TIMEZONE).date(), max_value=now.date(),
                                format="YYYY-MM-DD")
    clock_time = time_column.time_input(tr("queue.form.time"), value=moment.time().replace(second=0, microsecond=0),
                                        key=f"{key}_time", step=timedelta(minutes=1))
    outcome = st.selectbox(tr("queue.form.outcome"), OUTCOMES, key=f"{key}_outcome",
                           index=OUTCOMES.index(initial.get("outcome", "no_answer")),
                           format_func=labels(f"outcome.{value}" for value in OUTCOMES))
    channels = (NONE, *CHANNELS)
    channel = st.selectbox(tr("queue.form.channel"), channels, key=f"{key}_channel",
                           index=channels.index(initial.get("channel") or "phone"),
                           format_func=lambda value: tr(f"channel.{value}") if value else tr("queue.form.none"))
    referrals = (NONE, *REFERRALS_BY_ROLE[role])
    referral = st.selectbox(tr("queue.form.referral"), referrals, key=f"{key}_referral",
                            index=referrals.index(initial.get("referral") or NONE) if (
                                initial.get("referral") or NONE) in referrals else 0,
                            format_func=_referral_label)
    return {"attempted_at": f"{day.isoformat()} {clock_time.strftime('%H:%M')}", "outcome": outcome,
            "channel": channel, "referral": referral}


def _referral_label(value: str) -> str:
    if not value:
        return tr("queue.form.none")
    return tr("referral.victim_assistance") if value == "victim_assistance" else tr(f"chart.referral.{value}")


def _form_token(case: pd.Series, role: str) -> str:
    """The token of this case's attempt form, the same until its attempt is saved."""
    tokens = st.session_state.setdefault(FORM_TOKENS_KEY, {})
    key = (case["police_service"], case["event_id"], role)
    if key not in tokens:
        tokens[key] = worker_log.new_form_token()
    return tokens[key]


def attempt_form(viewer: Viewer, case: pd.Series, role: str) -> None:
    """Record an attempt on the chosen case, through the importer's checks, with its audit row."""
    since = case["arrested_at"] if role == "offender" else case["occurred_at"]
    token = _form_token(case, role)
    with st.form(f"attempt_{role}", clear_on_submit=False, border=True):
        st.markdown("**" + tr("queue.form.title", event_id=case["event_id"]) + "**")
        st.caption(tr(f"queue.form.role.{role}"))
        fields = _entry_fields(role, f"new_{role}", since)
        # The token in the button's key: a click on a form already saved that arrives once the next one is drawn
        # submits nothing; one that reaches the same form again is the same attempt, stored once (its id).
        submitted = st.form_submit_button(tr("queue.form.submit"), type="primary", width="stretch",
                                          key=f"attempt_submit_{token}")
    if submitted:
        entry = worker_log.AttemptEntry(police_service=case["police_service"], event_id=case["event_id"],
                                        subject_role=role, **fields)
        try:
            worker_log.record_attempt(cache.engine(), entry, _recorder(viewer), datetime.now(UTC), form_token=token)
        except worker_log.AttemptRefused as refusal:
            _show_refusal(refusal)
            return
        except PermissionError:
            st.error(tr("queue.form.forbidden"))
            return
        del st.session_state[FORM_TOKENS_KEY][(case["police_service"], case["event_id"], role)]
        st.toast(tr("queue.form.saved", outcome=tr(f"outcome.{fields['outcome']}")), icon=":material/check:")
        st.rerun()


def close_form(viewer: Viewer, case: pd.Series, role: str) -> None:
    """Close the chosen case without reaching the person, after an explicit confirmation."""
    with st.expander(tr("queue.close.title")):
        confirmed = st.checkbox(tr("queue.close.confirm"), key=f"close_confirm_{role}")
        if st.button(tr("queue.close.button"), disabled=not confirmed, key=f"close_{role}"):
            worker_log.close_case(cache.engine(), case["police_service"], case["event_id"], role, _recorder(viewer),
                                  datetime.now(UTC))
            st.toast(tr("queue.close.done", event_id=case["event_id"]), icon=":material/check:")
            st.rerun()


def waiting_list(viewer: Viewer, flt: MetricFilter, role: str) -> None:
    """The tiles and, for a worker, the waiting cases with the form for the chosen one; refreshed every half minute."""
    now, role_rules = _now(), rules(role)
    today = now.astimezone(LOCAL_TIMEZONE).date()
    st.caption(tr(f"queue.intro.{role}", days=role_rules.close_after_days, target=f"{role_rules.target_hours:g}"))
    tiles(cache.query(queue.queue_summary, flt, viewer.scope, role, epoch_microseconds(now), role_rules, today),
          role_rules.target_hours)
    if "worker" not in viewer.roles:
        st.info(tr("queue.director"))
        return
    frame = cache.query(queue.waiting_cases, flt, viewer.scope, role, epoch_microseconds(now), role_rules)
    st.caption(tr("queue.refreshed", time=now.astimezone(LOCAL_TIMEZONE).strftime("%H:%M"),
                  seconds=f"{refresh_seconds():g}"))
    if frame.empty:
        st.success(tr("queue.empty"))
        return
    shown = queue_table(frame, role)
    clock_column = tr("queue.column.clock")
    colours = dict(zip(shown[clock_column], frame["clock"]))
    # The words carry the clock; the colour repeats them. Pandas styles every cell of a table in Python (about
    # 0.3 ms a row): past a working queue's size, a province-wide one goes without.
    styled = shown.style.map(lambda text: CLOCK_STYLES[colours[text]], subset=[clock_column])
    st.dataframe(styled if len(shown) <= STYLED_ROWS else shown, hide_index=True, width="stretch")
    # A plain choice rather than a row click: it works the same with a keyboard, a screen reader and on a phone.
    # Words that stay the same from minute to minute: the browser sends back the label she chose, and one holding the
    # time waited changed with the minute's refresh, which then lost her choice and the form she was filling.
    names = dict(zip(frame["event_id"], shown[tr("queue.column.municipality")] + " · "
                     + shown[tr(f"queue.column.since.{role}")]))
    chosen = st.selectbox(tr("queue.choose"), list(names), index=None, key=f"queue_case_{role}",
                          placeholder=tr("queue.select"), format_func=lambda case: f"{case} · {names[case]}")
    if chosen is None:
        return
    case = frame[frame["event_id"] == chosen].iloc[0]
    attempt_form(viewer, case, role)
    close_form(viewer, case, role)


def recent_attempts(viewer: Viewer, flt: MetricFilter) -> None:
    """The worker's own attempts of the last 24 hours, each of which she may correct or withdraw."""
    since = datetime.now(UTC) - worker_log.CORRECTION_WINDOW
    with st.expander(tr("queue.recent.title")):
        frame = cache.query(queue.recent_attempts, flt, viewer.scope, viewer.subject,
                            since.replace(second=0, microsecond=0))
        frame = frame[frame["recorded_at"] >= since] if not frame.empty else frame
        if frame.empty:
            st.caption(tr("queue.recent.empty"))
            return
        shown = pd.DataFrame({
            tr("queue.column.event_id"): frame["event_id"],
            tr("queue.column.subject_role"): [tr(f"queue.subject_role.{value}") for value in frame["subject_role"]],
            tr("queue.column.attempted_at"): [local_time(moment)[:16] for moment in frame["attempted_at"]],
            tr("queue.column.outcome"): [tr(f"outcome.{value}") for value in frame["outcome"]],
            tr("queue.column.recorded_at"): [local_time(moment)[:16] for moment in frame["recorded_at"]],
        })
        st.dataframe(shown, hide_index=True, width="stretch")
        names = {attempt_id: f"{event_id} · {when}" for attempt_id, event_id, when in zip(
            frame["attempt_id"], frame["event_id"], shown[tr("queue.column.attempted_at")])}
        chosen = st.selectbox(tr("queue.recent.choose"), list(names), index=None, key="recent_attempt",
                              placeholder=tr("queue.recent.select"), format_func=names.get)
        if chosen is not None:
            _correction_form(viewer, frame[frame["attempt_id"] == chosen].iloc[0])


def _correction_form(viewer: Viewer, attempt: pd.Series) -> None:
    role = attempt["subject_role"]
    with st.form("correct_attempt", border=True):
        st.markdown("**" + tr("queue.recent.correct") + f" · {attempt['event_id']}**")
        fields = _entry_fields(role, f"fix_{attempt['attempt_id']}", attempt["attempted_at"] - timedelta(days=30),
                               initial=attempt.to_dict())
        corrected = st.form_submit_button(tr("queue.recent.correct"), type="primary")
        withdrawn = st.form_submit_button(tr("queue.recent.withdraw"))
    if not (corrected or withdrawn):
        return
    try:
        if corrected:
            entry = worker_log.AttemptEntry(police_service=attempt["police_service"], event_id=attempt["event_id"],
                                            subject_role=role, **fields)
            worker_log.correct_attempt(cache.engine(), attempt["attempt_id"], entry, _recorder(viewer),
                                       datetime.now(UTC))
        else:
            worker_log.withdraw_attempt(cache.engine(), attempt["police_service"], attempt["attempt_id"],
                                        _recorder(viewer), datetime.now(UTC))
    except worker_log.AttemptRefused as refusal:
        _show_refusal(refusal)
        return
    st.toast(tr("queue.recent.corrected" if corrected else "queue.recent.withdrawn"), icon=":material/check:")
    st.rerun()


def _intake_places(viewer: Viewer) -> dict[tuple[str, str], str]:
    """(police service, municipality code) → the name offered: the municipalities her services serve today."""
    today = datetime.now(LOCAL_TIMEZONE).date()
    members = cache.query(places.members_on, MetricFilter(Period(today, today)), viewer.scope, today)
    several = members["police_service"].nunique() > 1
    return {(service, code): f"{name} · {service}" if several else name
            for code, name, service in members.itertuples(index=False)}


def _moment(label: str, key: str, now: datetime) -> str:
    """A local date and time, to the minute, as the importer reads it."""
    day_column, time_column = st.columns(2)
    day = day_column.date_input(tr(f"intake.{label}_date"), value=now.date(), max_value=now.date(),
                                key=f"{key}_date", format="YYYY-MM-DD")
    moment = time_column.time_input(tr(f"intake.{label}_time"), value=now.time().replace(second=0, microsecond=0),
                                    key=f"{key}_time", step=timedelta(minutes=1))
    return f"{day.isoformat()} {moment.strftime('%H:%M')}"


def intake_form(viewer: Viewer) -> None:
    """"Nouveau dossier": a case from the police report she has just read, through the importer's checks."""
    if "worker" not in viewer.roles:
        return
    token = st.session_state.setdefault(INTAKE_TOKEN_KEY, hand_entry.new_form_token())
    # Keyed by the form's token too: once its case is saved, the box closes on the queue that now holds it. Its form
    # is drawn only while it is open: closed, the page holds one form, the chosen case's.
    box = st.expander(tr("intake.title"), icon=":material/add:", key=f"new_case_box_{token}", on_change="rerun")
    if not box.open:
        return
    with box:
        st.caption(tr("intake.intro"))
        names = _intake_places(viewer)
        if not names:
            st.info(tr("intake.no_place"))
            return
        if problems := st.session_state.pop(INTAKE_PROBLEMS_KEY, None):
            st.error("\n".join(problems))
        submissions = st.session_state.setdefault(INTAKE_SUBMISSIONS_KEY, 0)
        # Every field keyed by the form's token: once its case is saved, the next form starts empty.
        key = f"new_case_{token}"
        now = datetime.now(LOCAL_TIMEZONE)
        with st.form(f"new_case_{token}", border=False):
            event_id = st.text_input(tr("intake.event_id"), key=f"{key}_event_id", max_chars=64)
            place = st.selectbox(tr("intake.municipality"), list(names), index=None, key=f"{key}_place",
                                 format_func=names.get, placeholder=tr("intake.municipality.placeholder"))
            occurred_at = _moment("occurred", f"{key}_occurred", now)
            arrest = st.toggle(tr("intake.arrest"), value=True, key=f"{key}_arrest")
            arrested_at = _moment("arrested", f"{key}_arrested", now)
            contact_ban = st.checkbox(tr("intake.contact_ban"), key=f"{key}_contact_ban")
            subject_field = f"{key}_subject_key_{submissions}"
            subject_key = st.text_input(tr("intake.subject_key"), type="password", key=subject_field,
                                        help=tr("intake.subject_key.help"), autocomplete="off", max_chars=64)
            submitted = st.form_submit_button(tr("intake.submit"), type="primary", key=f"new_case_submit_{token}")
    if not submitted:
        return
    # The typed key lives only in this run: its field is gone from the session and the next form draws a new one.
    st.session_state.pop(subject_field, None)
    st.session_state[INTAKE_SUBMISSIONS_KEY] = submissions + 1
    service, code = place if place is not None else (next(iter(names))[0], "")
    entry = hand_entry.CaseEntry(police_service=service, event_id=event_id, municipality_code=code,
                                 occurred_at=occurred_at, arrest=arrest, arrested_at=arrested_at if arrest else "",
                                 contact_ban=contact_ban, subject_key=subject_key)
    try:
        saved = hand_entry.enter_case(cache.engine(), entry, _recorder(viewer), datetime.now(UTC), form_token=token)
    except hand_entry.CaseRefused as refusal:
        st.session_state[INTAKE_PROBLEMS_KEY] = [tr("intake.refused"), *(
            "- " + tr("intake.problem", field=tr(f"intake.field.{name}"), reason=reason)
            for name, reason in refusal.problems)]
    except PermissionError:
        st.session_state[INTAKE_PROBLEMS_KEY] = [tr("queue.form.forbidden")]
    else:
        del st.session_state[INTAKE_TOKEN_KEY]
        st.toast(tr("intake.saved", event_id=saved), icon=":material/check:")
    # Drawn again at once, so that the field that held the key is replaced by an empty one on screen too.
    st.rerun()
