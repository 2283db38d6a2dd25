"""The load benchmark, briefly on demo data: real sign-ins, the captain's own figures, errors when the server dies."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time

import pytest
from sqlalchemy import func, select

from dashboard.commands.benchmark_load import (
    DEMO_LOAD_USERS,
    LOAD_HEADER,
    drive,
    percentile,
    run_load_benchmark,
    serve_and_drive,
    server_pid,
    warm_up,
)
from dashboard.commands.benchmark_session import DISCONNECTED, OK, StreamlitSession
from dashboard.commands.demo_data import run_demo_data_command
from dashboard.commands.serve import free_port, running_app, running_provider, write_demo_secrets
from dashboard.database import build_engine
from dashboard.figures import short_label
from dashboard.i18n import number, t
from dashboard.scratch import prepared_engine
from dashboard.web.sidebar import default_filter, local_today
from dashboard.web.url_state import preset_period
from queries.filters import MetricFilter, Scope
from queries.schema import audit_event
from queries.trends import headline


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory) -> str:
    """A demo SQLite database; its URL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('load') / 'relais.db'}"
    engine = prepared_engine(url)
    assert run_demo_data_command(engine, 42, None) == 0
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def app(demo_database, tmp_path_factory):
    """The app on the demo database behind the local provider; yields its URL and its process id."""
    directory = tmp_path_factory.mktemp("load-app")
    port = free_port()
    with running_provider(free_port(), log=directory / "provider.log") as issuer:
        secrets_path = write_demo_secrets(directory, port, issuer)
        environment = {"STREAMLIT_SECRETS_FILES": str(secrets_path), "DATABASE_URL": demo_database}
        with running_app(port, environment, log=directory / "app.log") as url:
            yield url, server_pid(port)


def _tiles(flt: MetricFilter, database_url: str, service: str) -> list[str]:
    engine = build_engine(database_url)
    figures = headline(engine, flt, Scope.of(service)).current
    engine.dispose()
    return [number(figures.interventions, "fr"), number(figures.arrests, "fr"), number(figures.rate_per_1000, "fr", 2),
            number(figures.repeat, "fr"), number(figures.contact_bans, "fr")]


def test_a_session_signs_in_through_the_provider_and_sees_its_own_figures(app, demo_database):
    url, _pid = app

    async def saguenay_captain():
        session = StreamlitSession(url)
        try:
            first = await session.sign_in("capitaine-sps")
            last_12_weeks = session.metrics()
            this_year = await session.choose("filter_preset", t("filter.preset.this_year", "fr"))
            shown = session.metrics(), session.query
            outreach = await session.open("outreach")
            # The period chosen on the Overview follows the session to Outreach, and stays in its link.
            assert outreach.status == OK and outreach.page == "outreach" and session.query == "period=this_year"
            assert short_label("cohort", "fr") in session.metrics()  # the Outreach page's first tile
            return (first, last_12_weeks, this_year, *shown, sorted(session.pages))
        finally:
            await session.close()

    first, last_12_weeks, this_year, tiles, query, pages = asyncio.run(saguenay_captain())
    assert first.status == OK and first.page == "overview" and first.received > 0
    assert pages == ["", "definitions", "outreach", "overview"]  # a captain's navigation: no report, no queue
    assert list(last_12_weeks.values())[:5] == _tiles(default_filter(), demo_database, "SPS")
    today = local_today()
    assert this_year.status == OK and query == "period=this_year"
    assert list(tiles.values())[:5] == _tiles(MetricFilter(preset_period("this_year", today)), demo_database, "SPS")
    assert tiles != last_12_weeks


def test_a_wrong_subject_is_still_a_sign_in_but_sees_no_figures(app):
    url, _pid = app

    async def nobody():
        session = StreamlitSession(url)
        try:
            return await session.sign_in("sans-role"), session.metrics()
        finally:
            await session.close()

    run, tiles = asyncio.run(nobody())
    assert run.status == OK and tiles == {}


def test_sessions_together_open_pages_and_the_server_memory_is_sampled(app):
    url, pid = app
    asyncio.run(warm_up(url, DEMO_LOAD_USERS))
    result = asyncio.run(drive(url, DEMO_LOAD_USERS, 3, 15, pid, think=2.0))
    assert result.signed_in == 3 and not result.errors
    assert len(result.runs) > 3 and {timed.role for timed in result.runs} == {"captain", "director"}
    assert {timed.run.page for timed in result.runs} <= {"overview", "outreach", "report"}
    assert len(result.memory) > 10 and min(result.memory) > 50  # MB: a Streamlit server with the app loaded
    assert result.cpu_seconds > 0


def test_the_command_prints_a_table_and_exits_on_its_verdict(capsys):
    status = run_load_benchmark(3, 0.25, "demo", "sqlite", 0, think=2.0)
    lines = capsys.readouterr().out.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("backend"))
    assert re.split(r"\s{2,}", lines[header]) == list(LOAD_HEADER)
    cells = re.split(r"\s{2,}", lines[header + 1])
    row = dict(zip(LOAD_HEADER, cells))
    assert (row["backend"], row["scale"], row["sessions"], row["signed in"]) == ("SQLite", "demo", "3", "3")
    assert int(row["pages opened"]) >= 3 and row["errors"] == "0"
    p95 = int(row["p95 ms"].replace("\u202f", "").replace("\xa0", ""))
    verdict = t("benchmark.target.met") if p95 < 3000 else t("benchmark.target.missed")
    assert lines[-1] == verdict and status == (0 if p95 < 3000 else 1)


def _sign_ins(database_url: str) -> int:
    engine = build_engine(database_url)
    with engine.connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(audit_event).where(audit_event.c.action == "sign_in"))
    engine.dispose()
    return count


def test_a_server_stopped_midway_counts_as_errors(demo_database):
    signed_in = threading.Event()

    def stop_once_all_signed_in(_url: str, pid: int) -> None:
        # The warm-up's three sign-ins are already recorded: the sessions' three come next.
        wanted = _sign_ins(demo_database) + 3

        def watch() -> None:
            deadline = time.monotonic() + 60
            while _sign_ins(demo_database) < wanted and time.monotonic() < deadline:
                time.sleep(0.5)
            if _sign_ins(demo_database) >= wanted:
                signed_in.set()
            os.kill(pid, signal.SIGKILL)

        threading.Thread(target=watch, daemon=True).start()

    result = serve_and_drive(demo_database, DEMO_LOAD_USERS, 3, 30, think=1.0, during=stop_once_all_signed_in)
    assert signed_in.is_set()
    # Each session ends on its first error: a run cut off, or a reconnection refused.
    assert len(result.errors) == 3 and all(f": {DISCONNECTED}" in error or "Error" in error for error in result.errors)


def test_percentiles_interpolate():
    assert percentile([], 0.95) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([1.0, 2.0], 0.95) == pytest.approx(1.95)


def test_two_replicas_behind_nginx_keep_each_session_on_one_and_share_them(demo_database):
    # Twelve sessions, each kept on the replica its cookie hashes to: all on one of two would be a 1-in-2,048 chance.
    result = serve_and_drive(demo_database, DEMO_LOAD_USERS, 12, 20, think=2.0, replicas=2)
    assert result.replicas == 2 and result.signed_in == 12 and not result.errors
    assert len(result.runs) >= 12 and {timed.role for timed in result.runs} == {"captain", "director"}
    # A session that had reached another replica than its own would have had no session there: errors above.
    assert len(result.replica_cpu_seconds) == 2 and all(used > 0 for used in result.replica_cpu_seconds)
    assert len(result.memory) > 10 and min(result.memory) > 100  # MB: two Streamlit servers with the app loaded


def test_the_proxy_configuration_keeps_a_browser_on_one_replica(tmp_path):
    from dashboard.commands.benchmark_proxy import affinity_conf

    text = affinity_conf(tmp_path, 8080, [8501, 8502])
    assert "hash $cookie__streamlit_xsrf consistent;" in text and "listen 127.0.0.1:8080;" in text
    assert "server 127.0.0.1:8501;" in text and "server 127.0.0.1:8502;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
