"""Sessions end: a sign-in older than the maximum age or idle too long is refused and sent back to st.login, at every
run and at every download (the queue's fragment runs: tests/test_queue_page.py); a guessable cookie secret refuses
every sign-in, and `serve` refuses to start with one."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import date

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from auth import session
from auth.policy import SessionPolicy, cookie_secret_problem, session_refusal
from dashboard import settings
from dashboard.web.sidebar import default_filter
from tests.hand_made import load_hand_made
from tests.test_app import AUTH, titles
from tests.viewer_session import CAPTAIN, app_as, audit_actions, serve_with

NOW = 1_800_000_000.0
POLICY = SessionPolicy(max_hours=12, idle_minutes=60)


@pytest.mark.parametrize(
    ("claims", "last_activity", "refusal"),
    [
        ({"iat": NOW - 60}, None, None),
        ({"iat": NOW - 12 * 3600}, None, None),
        ({"iat": NOW - 12 * 3600 - 1}, None, "expired"),
        ({"iat": NOW - 3600, "exp": NOW + 3600}, NOW - 60 * 60, None),
        ({"iat": NOW - 3600}, NOW - 60 * 60 - 1, "idle"),
        # The sign-in's age comes first: an old token is expired, whatever the activity.
        ({"iat": NOW - 13 * 3600}, NOW - 10, "expired"),
        ({}, None, "undated"),
        ({"iat": "1800000000"}, None, "undated"),
        ({"iat": True}, None, "undated"),
        # A token from the future beyond clock skew is not to be trusted to bound anything.
        ({"iat": NOW + 3600}, None, "undated"),
        ({"iat": NOW + 60}, None, None),
        # auth_time is when the person typed a password; iat is when the provider last vouched for the roles.
        ({"iat": NOW - 60, "auth_time": NOW - 48 * 3600}, None, None),
    ],
)
def test_session_refusal(claims, last_activity, refusal):
    assert session_refusal(claims, NOW, last_activity, POLICY) == refusal


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "missing"),
        ("", "missing"),
        (42, "missing"),
        ("x" * 31, "weak"),
        ("x" * 32, "weak"),
        ("a long random string: python -c 'import secrets; print(secrets.token_hex(32))'", "public"),
        ("REPLACE ME: python -c 'import secrets; print(secrets.token_urlsafe(48))'", "public"),
    ],
)
def test_cookie_secret_problem(secret, problem):
    assert cookie_secret_problem(secret) == problem


def test_the_example_secret_of_the_repository_is_refused():
    import tomllib

    example = tomllib.loads((settings.PROJECT_ROOT / "secrets.example.toml").read_text(encoding="utf-8"))
    assert cookie_secret_problem(example["auth"]["cookie_secret"]) == "public"


def test_a_fresh_sign_in_opens_the_home_page(engine, database_url, monkeypatch):
    test = app_as(database_url, monkeypatch, {**CAPTAIN, "iat": int(time.time()) - 60})
    assert not test.exception and titles(test) == ["Vue d'ensemble"]


def test_an_old_sign_in_is_sent_back_to_the_provider(engine, database_url, monkeypatch):
    monkeypatch.setenv("RELAIS_SESSION_HOURS", "2")
    test = app_as(database_url, monkeypatch, {**CAPTAIN, "iat": int(time.time()) - 2 * 3600 - 60})
    assert not test.exception and titles(test) == ["Relais"]
    assert "plus de 2 heures" in test.markdown[0].value
    assert [button.label for button in test.button] == ["Se connecter"]
    assert audit_actions(engine) == [("session_refused", '{"reason": "expired"}')]


def test_a_token_without_issue_time_is_refused(engine, database_url, monkeypatch):
    test = app_as(database_url, monkeypatch, CAPTAIN)
    assert titles(test) == ["Relais"] and "`iat`" in test.markdown[0].value


def test_an_idle_session_is_refused_and_a_reload_does_not_revive_it(engine, database_url, monkeypatch):
    issued = int(time.time()) - 3 * 3600
    claims = {**CAPTAIN, "iat": issued}
    test = app_as(database_url, monkeypatch, claims)
    assert titles(test) == ["Vue d'ensemble"]
    # The last click was an hour and a minute ago: the next one is refused.
    an_hour_ago = time.time() - 61 * 60
    test.session_state[session.MEMORY_KEY].last_activity = an_hour_ago
    session._last_seen[("alice", float(issued))] = an_hour_ago
    test.run()
    assert titles(test) == ["Relais"] and "60 minutes" in test.markdown[0].value
    # A new tab (a new session, no activity of its own) of the same sign-in is still refused.
    reloaded = app_as(database_url, monkeypatch, claims)
    assert titles(reloaded) == ["Relais"]
    # Signing in again issues a new token, and a new session.
    again = app_as(database_url, monkeypatch, {**CAPTAIN, "iat": int(time.time())})
    assert titles(again) == ["Vue d'ensemble"]
    assert [action for action, _ in audit_actions(engine)].count("session_refused") == 2


def test_a_new_tab_of_the_same_sign_in_is_not_a_new_sign_in(engine, database_url, monkeypatch):
    claims = {**CAPTAIN, "iat": int(time.time()) - 60}
    first, second = app_as(database_url, monkeypatch, claims), app_as(database_url, monkeypatch, claims)
    again = app_as(database_url, monkeypatch, {**CAPTAIN, "iat": int(time.time())})
    assert titles(first) == titles(second) == titles(again) == ["Vue d'ensemble"]
    assert [action for action, _ in audit_actions(engine)] == ["sign_in", "view", "view", "sign_in", "view"]


@pytest.fixture
def loaded(engine):
    """The hand-made data set in the pages' default period (the Overview then draws its table and CSV)."""
    return load_hand_made(engine, shift_days=default_filter().period.start.toordinal() - date(2024, 3, 4).toordinal())


@pytest.fixture
def download_makers(monkeypatch) -> dict[str, Callable]:
    """The file makers of the download buttons drawn, by file name, as Streamlit registers them."""
    makers = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **options):
        makers[file_name] = data_callable
        return register(self, data_callable, mimetype, coordinates, file_name, **options)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return makers


def _clicked(make: Callable) -> dict:
    """A download's file made as Streamlit makes it: in a worker thread, outside the script run."""
    outcome = {}

    def run() -> None:
        try:
            outcome["file"] = make()
        except Exception as error:  # Streamlit catches any error of a file maker, and makes no file
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return outcome


@pytest.mark.parametrize(("limit", "value", "reason"), [("RELAIS_SESSION_HOURS", "1", "expired"),
                                                         ("RELAIS_IDLE_MINUTES", "0.001", "idle")])
def test_a_download_once_the_session_ended_makes_no_file(loaded, database_url, monkeypatch, download_makers,
                                                          limit, value, reason):
    test = app_as(database_url, monkeypatch, {**CAPTAIN, "iat": int(time.time()) - 3660})
    assert titles(test) == ["Vue d'ensemble"]
    make = download_makers["relais-municipalites.csv"]
    assert "export" not in [action for action, _ in audit_actions(loaded)]  # offered, not yet made
    made = _clicked(make)
    assert made["file"].startswith("\ufeff".encode()) and b"Municipalit" in made["file"]
    # The limit passes while the page stays on screen: an hour-old sign-in, or a click 0.06 s ago.
    monkeypatch.setenv(limit, value)
    time.sleep(0.1)
    refused = _clicked(make)
    assert "file" not in refused and isinstance(refused["error"], session.SessionEnded)
    assert audit_actions(loaded)[-2:] == [("export", None), ("session_refused", f'{{"reason": "{reason}"}}')]
    # The page's next run says why, without auditing the refusal a second time.
    test.run()
    assert titles(test) == ["Relais"] and [button.label for button in test.button] == ["Se connecter"]
    actions = [action for action, _ in audit_actions(loaded)]
    assert actions.count("session_refused") == 1 and actions.count("export") == 1


def _calls(path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        or (isinstance(node.func, ast.Name) and node.func.id == name))]


def _sources():
    root = settings.PROJECT_ROOT
    return [path for top in ("dashboard", "pages", "auth") for path in sorted((root / top).rglob("*.py"))]


def _streamlit_callers(name: str) -> set[str]:
    """The modules that name st.<name>, called or as a bare decorator."""
    return {path.relative_to(settings.PROJECT_ROOT).as_posix() for path in _sources()
            if [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Attribute) and node.attr == name
                and isinstance(node.value, ast.Name) and node.value.id == "st"]}


def test_every_fragment_is_checked_at_each_of_its_runs():
    """Only auth/session.py calls st.fragment, in session.fragment: every fragment of the app is checked there (a
    dialog is a fragment too: there is none)."""
    assert _streamlit_callers("fragment") == {"auth/session.py"}
    assert _streamlit_callers("dialog") == set()
    used = {path.name for path in _sources() if _calls(path, "fragment") and path.name != "session.py"}
    assert used == {"queue.py"}


def test_every_download_is_made_through_audited_file():
    """Each download button's data is audited_file(...), which checks the session when the file is made."""
    buttons = [(path, call) for path in _sources() for call in _calls(path, "download_button")]
    # The report's files, the tables' CSV, the Data page's refused rows and its reference files.
    assert sorted(path.name for path, _call in buttons) == ["data_view.py", "reference_view.py", "report_page.py",
                                                             "widgets.py"]
    for path, call in buttons:
        data = next((keyword.value for keyword in call.keywords if keyword.arg == "data"), None)
        data = data if data is not None else call.args[1]
        assert isinstance(data, ast.Call) and getattr(data.func, "id", None) == "audited_file", path


@pytest.mark.parametrize(
    ("secret", "words"),
    [("test-only", "moins de 128 bits"),
     ("a long random string: python -c 'import secrets; print(secrets.token_hex(32))'", "secrets.example.toml")],
)
def test_a_guessable_cookie_secret_refuses_every_sign_in(engine, database_url, monkeypatch, secret, words):
    forged = {**CAPTAIN, "roles": ["admin"], "police_services": ["*"], "iat": int(time.time())}
    test = app_as(database_url, monkeypatch, forged, auth={**AUTH, "cookie_secret": secret})
    assert not test.exception and titles(test) == ["Configuration non sûre"]
    assert words in test.markdown[0].value and "token_urlsafe(48)" in test.markdown[0].value
    assert not test.button and audit_actions(engine) == []


@pytest.mark.parametrize(
    ("secret", "words"),
    [("short", "fewer than 128 bits"),
     ("REPLACE ME: python -c 'import secrets; print(secrets.token_urlsafe(48))'", "secrets.example.toml")],
)
def test_serve_refuses_to_start_with_a_guessable_cookie_secret(tmp_path, secret, words):
    result = serve_with(tmp_path, secret)
    assert result.returncode == 2
    assert words in result.stderr and 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in result.stderr
    assert not (tmp_path / "never.db").exists()


def test_the_demo_refuses_a_database_with_real_interventions(engine, database_url, tmp_path):
    from dashboard.ingest.importer import import_file
    from tests.test_import import INTERVENTION, csv_bytes

    import_file(engine, "interventions", csv_bytes([INTERVENTION]), "real.csv")
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en"}
    result = subprocess.run([sys.executable, "-m", "dashboard", "demo", "--port", "9", "--provider-port", "9"],
                            cwd=settings.PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "holds 1 real interventions: the demo" in result.stderr


def test_the_demo_app_answers_this_machine_only(monkeypatch):
    from dashboard.commands import serve

    started = []

    def running(command, *_args, **_options):
        started.append(command)
        return nullcontext()

    monkeypatch.setattr(serve, "running_process", running)
    with serve.running_app(8555, {}):
        pass
    command = started[0]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert "--server.address" not in serve.app_command(8555)
