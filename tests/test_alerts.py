"""`python -m dashboard alerts`: last week's unusual municipalities, e-mailed to subscribed captains through a real
SMTP server started by the test (aiosmtpd on 127.0.0.1), in both languages, each message audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from dashboard.commands.alerts import AlertSettingsError, last_complete_week, relay_from_url, subscriptions
from dashboard.commands.serve import free_port
from dashboard.settings import PROJECT_ROOT
from queries.schema import audit_event
from tests.test_expected import history  # noqa: F401 (fixture: Beloeil's week of 8 in 2025-W10)


class Inbox:
    """An SMTP handler keeping every message it is handed."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _alerts(database_url: str, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", "RELAIS_USER": "cron",
                   "RELAIS_APP_URL": "https://relais.example", **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", "alerts", *arguments], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def test_each_captain_gets_his_services_digest_in_both_languages(history, database_url, inbox):  # noqa: F811
    controller, handler = inbox
    done = _alerts(database_url, "--week", "2025-W10", "--send",
                   RELAIS_SMTP_URL=f"smtp+plain://127.0.0.1:{controller.port}",
                   RELAIS_ALERT_SUBSCRIPTIONS="cap@riprsl.test=RIPRSL; cap@sps.test=SPS")
    assert done.returncode == 0, done.stderr
    assert "2025-W10 RIPRSL: Beloeil (8)" in done.stdout
    received = {recipients[0]: message for recipients, message in handler.messages}
    assert set(received) == {"cap@riprsl.test", "cap@sps.test"}
    riprsl = received["cap@riprsl.test"]
    body = riprsl.get_content()
    assert "semaine 2025-W10" in riprsl["Subject"] and "week 2025-W10" in riprsl["Subject"]
    assert "Beloeil : 8 interventions (attendu 1,0, limite haute 4)" in body
    assert "Beloeil: 8 interventions (expected 1.0, upper end 4)" in body
    assert "https://relais.example/overview?period=custom&from=2025-03-03&to=2025-03-09&service=RIPRSL" in body
    # Counts and municipalities only: no file number of the data set appears.
    assert not any(f"E{number}" in body for number in range(1, 200))
    sps = received["cap@sps.test"].get_content()
    assert "rien d'inhabituel" in sps and "nothing unusual" in sps and "Beloeil" not in sps
    with history.connect() as connection:
        rows = connection.execute(select(audit_event.c.action, audit_event.c.detail).order_by(audit_event.c.id)).all()
    sent = [json.loads(detail) for action, detail in rows if action == "alert_sent"]
    assert sorted((row["to"], row["unusual"]) for row in sent) == [("cap@riprsl.test", 1), ("cap@sps.test", 0)]
    assert [action for action, _ in rows][-1] == "alerts"


def test_nothing_is_sent_in_clear_to_a_server_without_starttls(history, database_url, inbox):  # noqa: F811
    controller, handler = inbox
    done = _alerts(database_url, "--week", "2025-W10", "--send",
                   RELAIS_SMTP_URL=f"smtp://127.0.0.1:{controller.port}", RELAIS_ALERT_SUBSCRIPTIONS="a@b.test=RIPRSL")
    assert done.returncode == 1 and "does not offer STARTTLS" in done.stderr
    assert handler.messages == []


def test_without_send_it_only_prints(history, database_url, inbox):  # noqa: F811
    controller, handler = inbox
    done = _alerts(database_url, "--week", "2025-W10", RELAIS_SMTP_URL=f"smtp+plain://127.0.0.1:{controller.port}",
                   RELAIS_ALERT_SUBSCRIPTIONS="a@b.test=RIPRSL")
    assert done.returncode == 0 and "Beloeil (8)" in done.stdout and handler.messages == []


@pytest.mark.parametrize(("url", "words"), [("smtp+plain://mail.example.org:25", "vers cette machine"),
                                            ("http://mail.example.org", "RELAIS_SMTP_URL doit être")])
def test_unsafe_or_unreadable_relays_are_refused(url, words):
    with pytest.raises(AlertSettingsError, match=words):
        relay_from_url(url)
    relay = relay_from_url("smtp://alerts%40relais:s%3Dcret@smtp.example.org")
    assert (relay.port, relay.starttls, relay.user, relay.password) == (587, True, "alerts@relais", "s=cret")


def test_subscriptions_and_the_default_week():
    from datetime import datetime

    from queries.localtime import LOCAL_TIMEZONE

    assert subscriptions(" a@x.ca = riprsl , sps ;b@y.ca=SPS;") == {"a@x.ca": ("RIPRSL", "SPS"), "b@y.ca": ("SPS",)}
    with pytest.raises(AlertSettingsError):
        subscriptions("nobody=RIPRSL")
    assert last_complete_week(datetime(2026, 12, 7, 8, 0, tzinfo=LOCAL_TIMEZONE)) == "2026-W49"
