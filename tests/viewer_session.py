"""What the session tests share: the app run as a signed-in viewer, the audit's actions, `serve` with a secret."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard import settings
from queries.schema import audit_event
from tests.test_app import APP, AUTH

CAPTAIN = {"sub": "alice", "roles": ["captain"], "police_services": ["RIPRSL"]}


def app_as(database_url, monkeypatch, claims, auth=AUTH) -> AppTest:
    """The app, run once on this database for a viewer signed in with these claims and this [auth] section."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    test = AppTest.from_file(APP, default_timeout=60)
    test.secrets["auth"] = auth
    test.user = {"is_logged_in": True, **claims}
    return test.run()


def audit_actions(engine) -> list[tuple[str, str | None]]:
    """Each audit row's action and detail, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.action, audit_event.c.detail).order_by(audit_event.c.id))
        return [(row.action, row.detail) for row in rows]


def serve_with(tmp_path, secret: str) -> subprocess.CompletedProcess:
    """`python -m dashboard serve` with this cookie secret in its secrets file, run to its end."""
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(f'[auth]\ncookie_secret = "{secret}"\n', encoding="utf-8")
    environment = {**os.environ, "STREAMLIT_SECRETS_FILES": str(secrets_file), "RELAIS_LANGUAGE": "en",
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    return subprocess.run([sys.executable, "-m", "dashboard", "serve", "--port", "9"], cwd=settings.PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=60)
