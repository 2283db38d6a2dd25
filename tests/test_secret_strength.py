"""Secrets that could be guessed are refused: missing, published, or with too little entropy; a cookie secret of
32 × "x" stops `serve` and every sign-in, with the recipe for a good one."""

from __future__ import annotations

import secrets
import time

import pytest

from auth.policy import cookie_secret_problem
from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.secret_strength import SECRET_RECIPE, entropy_bits, secret_problem
from tests.test_app import AUTH, titles
from tests.viewer_session import CAPTAIN
from tests.viewer_session import app_as as _app
from tests.viewer_session import audit_actions as _actions
from tests.viewer_session import serve_with as _serve


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("x" * 32, "weak"),
        ("k" * 40, "weak"),
        ("ab" * 40, "weak"),
        # Many distinct characters, but a keyboard run repeated: a few bits.
        ("abcdefghijklmnopqrstuvwxyz0123456789" * 2, "weak"),
        ("0123456789abcdef" * 4, "weak"),
        # 22 random characters are 128 bits at best: the estimate, cautious, asks for more.
        ("Xq3-vT9_LmZ2pW7eRk4sYb", "weak"),
        ("test-only", "weak"),
        ("REPLACE ME: python -c 'import secrets; print(secrets.token_urlsafe(48))'", "public"),
        ("a long random string: python -c 'import secrets; print(secrets.token_hex(32))'", "public"),
        (f"  {DEMO_PSEUDONYM_KEYS[0]}\n", "public"),
        (SECRET_RECIPE, "public"),
        ("OiX0Xq3-vT9_LmZ2pW7eRk4sYbN8cJ1hFgUa5dQwEr6tZy", None),
        ("5f0c2b9e8d7a6134fe0b9c8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f", None),
    ],
)
def test_secret_problem(secret, problem):
    assert secret_problem(secret) == problem


def test_a_value_the_caller_knows_to_be_public_is_refused():
    value = secrets.token_urlsafe(48)
    assert secret_problem(value) is None
    assert secret_problem(value, public_values=("other", f"{value} ")) == "public"


def test_the_recipes_secrets_always_pass_and_one_character_never():
    # 64 hex digits often miss one of the 16 digits: the hex floor of distinct characters must not refuse them.
    for _ in range(2000):
        assert secret_problem(secrets.token_urlsafe(48)) is None
        assert secret_problem(secrets.token_hex(32)) is None
    assert min(entropy_bits(secrets.token_urlsafe(48)) for _ in range(500)) > 256
    assert entropy_bits("x" * 64) == 0


def test_the_example_secret_of_the_repository_is_public():
    import tomllib

    from dashboard import settings

    example = tomllib.loads((settings.PROJECT_ROOT / "secrets.example.toml").read_text(encoding="utf-8"))
    assert secret_problem(example["auth"]["cookie_secret"]) == "public"


@pytest.mark.parametrize(
    ("secret", "problem"),
    [(None, "missing"), (42, "missing"), ("x" * 32, "weak"), ("x" * 31, "weak"),
     ("REPLACE ME: python -c 'import secrets; print(secrets.token_urlsafe(48))'", "public"),
     ("OiX0Xq3-vT9_LmZ2pW7eRk4sYbN8cJ1hFgUa5dQwEr6tZy", None)],
)
def test_cookie_secret_problem(secret, problem):
    assert cookie_secret_problem(secret) == problem


def test_a_cookie_secret_of_one_repeated_character_refuses_every_sign_in(engine, database_url, monkeypatch):
    forged = {**CAPTAIN, "roles": ["admin"], "police_services": ["*"], "iat": int(time.time())}
    test = _app(database_url, monkeypatch, forged, auth={**AUTH, "cookie_secret": "x" * 32})
    assert not test.exception and titles(test) == ["Configuration non sûre"]
    message = test.markdown[0].value
    assert "128 bits" in message and "16 caractères différents" in message and SECRET_RECIPE in message
    assert not test.button and _actions(engine) == []


def test_serve_refuses_to_start_with_a_cookie_secret_of_one_repeated_character(tmp_path):
    result = _serve(tmp_path, "x" * 32)
    assert result.returncode == 2
    assert "128 bits" in result.stderr and "16 different characters" in result.stderr
    assert SECRET_RECIPE in result.stderr
    assert not (tmp_path / "never.db").exists()
