"""`python -m dashboard serve` and `demo`: the app against the configured provider, or a local one with demo users."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from auth.policy import cookie_secret_problem
from dashboard import settings
from dashboard.commands.exits import EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.demo.data import NEW_ARRESTS_FILE, NEW_ARRESTS_SERVICE
from dashboard.demo.users import DEMO_USERS, DemoUser
from dashboard.i18n import t
from dashboard.secret_strength import SECRET_RECIPE

PROJECT_ROOT = settings.PROJECT_ROOT
APP_SCRIPT = PROJECT_ROOT / "dashboard" / "app.py"
LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 60
DEMO_DROP_FOLDER = PROJECT_ROOT / "data" / "drop"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = STARTUP_SECONDS) -> None:
    """Return once the url answers; raise if the process exits first or no answer comes in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[2:4]} exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"no answer from {url} after {seconds} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_process(command: list[str], ready_url: str, log: Path | None, **options) -> Iterator[None]:
    """A server process, from the moment ready_url answers until the block ends."""
    output = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **options)
    try:
        wait_for(ready_url, process)
        yield
    finally:
        _stop(process)
        if log:
            output.close()


@contextmanager
def running_provider(port: int, users: tuple[DemoUser, ...] = DEMO_USERS, log: Path | None = None) -> Iterator[str]:
    """A local OIDC provider (oidc-provider-mock) bound to 127.0.0.1 with these users; yields its issuer URL."""
    command = [sys.executable, "-W", "ignore", "-m", "oidc_provider_mock", "--host", LOOPBACK, "--port", str(port)]
    for user in users:
        command += ["--user-claims", json.dumps(user.claims(), ensure_ascii=False)]
    issuer = f"http://{LOOPBACK}:{port}"
    with running_process(command, issuer + "/.well-known/openid-configuration", log):
        yield issuer


def write_demo_secrets(directory: Path, app_port: int, issuer: str) -> Path:
    """A secrets file pointing Streamlit's login at the local provider; fresh random secrets each time."""
    path = directory / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "relais-demo"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def app_command(port: int, address: str | None = None) -> list[str]:
    """The command line that serves the app on a port (on every interface unless an address is given)."""
    bound = ["--server.address", address] if address else []
    # The server's own limit: the Data page's uploader tells the browser the same, which a client may ignore.
    return [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), "--server.port", str(port), *bound,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.maxUploadSize", str(settings.upload_max_mb())]


@contextmanager
def running_app(port: int, environment: dict[str, str], log: Path | None = None) -> Iterator[str]:
    """The Streamlit app on a port with this environment; yields its URL."""
    # The demo's users sign in without a password: like its provider, the app answers this machine only.
    url = f"http://localhost:{port}"
    with running_process(app_command(port, LOOPBACK), url + "/_stcore/health", log, cwd=PROJECT_ROOT,
                  env={**os.environ, **environment}):
        yield url


@contextmanager
def running_watcher(folder: Path) -> Iterator[Path]:
    """The drop-folder watcher on a folder, importing as demo data, until the block ends; yields where to drop."""
    example = folder / "incoming" / NEW_ARRESTS_SERVICE / "interventions"
    example.mkdir(parents=True, exist_ok=True)
    # Its lines (one per file handled) go to the demo's terminal; SIGTERM at the end lets it finish a file first.
    process = subprocess.Popen([sys.executable, "-m", "dashboard", "ingest", str(folder), "--demo"],
                               cwd=PROJECT_ROOT, env=dict(os.environ))
    try:
        yield example
    finally:
        _stop(process)


def _upgrade_database():
    from dashboard.database import default_engine
    from queries.migrate import upgrade_to_head
    from queries.reference import load_reference

    # A deployment that pulled new code gets the schema and reference data that code expects.
    engine = default_engine()
    upgrade_to_head(engine)
    load_reference(engine)
    return engine


def secrets_files() -> list[Path]:
    """The secrets files Streamlit reads for the app, first to last (later ones take precedence)."""
    named = os.environ.get("STREAMLIT_SECRETS_FILES", "").strip()
    if named:
        return [Path(part.strip()).expanduser() for part in named.split(",") if part.strip()]
    return [Path.home() / ".streamlit" / "secrets.toml", PROJECT_ROOT / ".streamlit" / "secrets.toml",
            APP_SCRIPT.parent / ".streamlit" / "secrets.toml"]


def configured_cookie_secret() -> object:
    """The [auth] cookie_secret the app would sign identities with, or None."""
    secret = None
    for path in secrets_files():
        if path.is_file():
            with path.open("rb") as file:
                secret = tomllib.load(file).get("auth", {}).get("cookie_secret", secret)
    return secret


def run_serve_command(port: int, address: str = LOOPBACK, upgrade: bool = True) -> int:
    """Serve the app on an address and port against DATABASE_URL and the configured provider, until interrupted."""
    if problem := cookie_secret_problem(configured_cookie_secret()):
        error(t(f"serve.cookie_secret.{problem}", recipe=SECRET_RECIPE))
        return EXIT_USAGE
    if upgrade:
        _upgrade_database()
    try:
        return subprocess.call(app_command(port, address), cwd=PROJECT_ROOT)
    except KeyboardInterrupt:
        return 0


def _ensure_demo_database() -> int:
    """Demo data in the configured database, unless it holds real interventions (their count)."""
    from dashboard.commands.demo_data import run_demo_data_command
    from queries.writes import demo_row_count, real_row_count

    engine = _upgrade_database()
    with engine.connect() as connection:
        real, demo = real_row_count(connection), demo_row_count(connection)
    if not real and not demo:
        run_demo_data_command(engine, 42, None)
    return real


def _interrupted(_number, _frame) -> None:
    raise KeyboardInterrupt


def run_demo_command(port: int, provider_port: int) -> int:
    """Demo database, local provider with demo users, temporary secrets and the app, until Ctrl-C."""
    # Demo users sign in as anyone they like: never in front of real data.
    if real := _ensure_demo_database():
        error(t("demo.error.real_data_served", count=real, url=settings.database_url()))
        return EXIT_USAGE
    # SIGTERM (a service manager, `kill`) stops it as Ctrl-C does: the app, the provider and the watcher with it.
    signal.signal(signal.SIGTERM, _interrupted)
    with tempfile.TemporaryDirectory(prefix="relais-demo-") as directory:
        try:
            with running_provider(provider_port) as issuer:
                secrets_path = write_demo_secrets(Path(directory), port, issuer)
                environment = {"STREAMLIT_SECRETS_FILES": str(secrets_path)}
                with running_app(port, environment) as url, running_watcher(DEMO_DROP_FOLDER) as example:
                    print(t("demo.serve.ready", url=url, issuer=issuer))
                    for user in DEMO_USERS:
                        roles = ", ".join(user.roles) or "—"
                        print(f"  {user.sub:<14} {roles:<10} {', '.join(user.police_services):<12} {user.name}")
                    print(t("demo.serve.drop_folder", folder=DEMO_DROP_FOLDER, new_arrests=NEW_ARRESTS_FILE,
                            example=example))
                    print(t("demo.serve.stop"), flush=True)
                    while True:
                        time.sleep(3600)
        except KeyboardInterrupt:
            print(t("demo.serve.stopped"))
    return 0
