"""`serve` as a real process: this machine only unless told otherwise (`--address`), and no schema upgrade with
`--no-upgrade`, as the container runs it."""

from __future__ import annotations

import ast
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard.commands.serve import LOOPBACK, free_port, wait_for
from dashboard.settings import PROJECT_ROOT


def outward_address() -> str:
    """This machine's address on the interface its traffic leaves by: not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        # A UDP "connection" sends nothing: it only makes the kernel choose the route and its source address.
        probe.connect(("192.0.2.1", 9))
        address = probe.getsockname()[0]
    assert not address.startswith("127.")
    return address


@contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[int]:
    """`python -m dashboard serve` with these options on a free port, until the block ends; yields the port."""
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(f'[auth]\ncookie_secret = "{secrets.token_urlsafe(48)}"\n', encoding="utf-8")
    environment = {**os.environ, "STREAMLIT_SECRETS_FILES": str(secrets_file),
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'relais.db'}"}
    port = free_port()
    # serve starts Streamlit as its child: the whole process group is stopped at the end.
    process = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port), *options],
                               cwd=PROJECT_ROOT, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(f"http://{LOOPBACK}:{port}/_stcore/health", process)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def _connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=5):
            return True
    except ConnectionRefusedError:
        return False


def test_serve_answers_this_machine_only_by_default(tmp_path):
    with serving(tmp_path) as port:
        assert _connects(LOOPBACK, port)
        assert not _connects(outward_address(), port)
    # Without --no-upgrade, serve migrated the database first.
    assert (tmp_path / "relais.db").exists()


def test_serve_on_every_interface_without_upgrading_as_the_container_runs_it(tmp_path):
    with serving(tmp_path, "--address", "0.0.0.0", "--no-upgrade") as port:
        assert _connects(LOOPBACK, port) and _connects(outward_address(), port)
    assert not (tmp_path / "relais.db").exists()


@pytest.mark.parametrize("address", ["localhost", "::1"])
def test_an_address_is_passed_to_streamlit_as_given(monkeypatch, address):
    from dashboard.commands import main, serve

    called = []
    monkeypatch.setattr(serve, "configured_cookie_secret", lambda: secrets.token_urlsafe(48))
    monkeypatch.setattr(serve.subprocess, "call", lambda command, **_options: called.append(command) or 0)
    assert main.main(["serve", "--address", address, "--port", "8600", "--no-upgrade"]) == 0
    (command,) = called
    assert command[command.index("--server.address") + 1] == address
    assert command[command.index("--server.port") + 1] == "8600"


def test_the_cookie_secret_recipe_is_the_shared_rule_s_own_not_an_alias():
    from dashboard import secret_strength
    from dashboard.commands import serve

    assert serve.SECRET_RECIPE is secret_strength.SECRET_RECIPE
    for path in (PROJECT_ROOT / "dashboard" / "app.py", PROJECT_ROOT / "dashboard" / "commands" / "serve.py"):
        source = path.read_text(encoding="utf-8")
        assert "COOKIE_SECRET_RECIPE" not in source and "from dashboard.secret_strength import SECRET_RECIPE" in source


def test_these_tests_import_no_private_name_from_another_module():
    wrong = []
    for name in ("test_serve.py", "test_secret_strength.py", "viewer_session.py"):
        path = PROJECT_ROOT / "tests" / name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in (
                    "tests", "dashboard", "queries", "auth", "pages"):
                wrong += [f"{name}: {node.module}.{alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert wrong == []


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def test_sigterm_stops_the_demo_with_its_app_provider_and_watcher(tmp_path):
    """A service manager's SIGTERM stops the demo as Ctrl-C does: nothing it started keeps running."""
    app_port, provider_port = free_port(), free_port()
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    environment.pop("RELAIS_PSEUDONYM_KEYS", None)
    demo = subprocess.Popen([sys.executable, "-m", "dashboard", "demo", "--port", str(app_port), "--provider-port",
                             str(provider_port)], cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://{LOOPBACK}:{app_port}/_stcore/health", demo, seconds=240)
        children = subprocess.run(["pgrep", "-P", str(demo.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2  # the app and the drop folder's watcher (the provider is a thread)
        demo.send_signal(signal.SIGTERM)
        output, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, output
    assert not _answers(app_port) and not _answers(provider_port)
    assert all(not Path(f"/proc/{child}").exists() for child in children)
