"""Secrets that could be guessed are refused: missing, published, or with too little entropy; a cookie secret of
32 × "x" stops `serve` and every sign-in, with the recipe for a good one."""

from __future__ import annotations

import random
import secrets
import time

import pytest

from auth.policy import cookie_secret_problem
from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.secret_strength import SECRET_RECIPE, entropy_bits, secret_problem, shared_secret_problem
from tests.test_app import AUTH, titles
from tests.viewer_session import CAPTAIN, app_as, audit_actions, serve_with


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
        # A keyboard walk along the rows, and the digits: two patterns, a few bits.
        ("qwertyuiopasdfghjklzxcvbnm1234567890", "weak"),
        # Repeated with one character more: the earlier copy explains the second half, the first is no random draw.
        ("Relais-SPVM-Quebec-2026!Relais-SPVM-Quebec-2026!!", "weak"),
        ("x" * 31 + "y", "weak"),
        # Words and a year with punctuation no generator uses: judged by their spread of characters, not as a draw.
        ("Relais-SPVM-Quebec-2026!", "weak"),
        # 22 random characters of token_urlsafe's alphabet (131 bits) and 32 random hex digits (128 bits).
        ("Xq3-vT9_LmZ2pW7eRk4sYb", None),
        ("pm9OrgcgycG5V59qcpPRyQ", None),
        ("4411ce601bc322ff345e1616cf0b2051", None),
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


def _draws(alphabet: str, length: int, count: int, seed: int) -> list[str]:
    """Secrets drawn as token_hex and token_urlsafe draw them, from a seeded generator so that a run is repeatable."""
    draw = random.Random(seed)
    return ["".join(draw.choice(alphabet) for _ in range(length)) for _ in range(count)]


HEX = "0123456789abcdef"
URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.mark.parametrize(
    ("alphabet", "length"),
    # token_hex(16), token_urlsafe(16), token_hex(32), token_urlsafe(48): 128 bits and more, valid under the
    # former rule of 32 characters; the estimate capped each character at log2 of the length and refused them.
    [(HEX, 32), (URLSAFE, 22), (HEX, 64), (URLSAFE, 64)],
)
def test_random_secrets_of_128_bits_and_more_are_accepted(alphabet, length):
    refused = [value for value in _draws(alphabet, length, 20_000, seed=length) if secret_problem(value)]
    # The one residue, about 2 draws in 100,000 of token_urlsafe(16): no letter of one case, so nothing tells the
    # draw from a hand-made text of letters and digits (36 characters, 114 bits at best).
    assert all(value.upper() == value or value.lower() == value for value in refused) and len(refused) <= 2
    assert refused == [] or length == 22
    assert secret_problem(secrets.token_hex(16)) is None and secret_problem(secrets.token_urlsafe(16)) is None


@pytest.mark.parametrize(
    "secret",
    ["REPLACE ME: python -c 'import secrets; print(secrets.token_urlsafe(47))'",
     "REPLACE_ME:python -c 'import secrets;print(secrets.token_urlsafe(48))'",
     'python -c "import secrets; print(secrets.token_hex(64))"',
     "use secrets.token_urlsafe(48) here: OiX0Xq3-vT9_LmZ2pW7eRk4sYbN8cJ1hFgUa5dQwEr6tZy"],
)
def test_a_published_value_slightly_altered_is_still_public(secret):
    assert secret_problem(secret) == "public"


def test_a_secret_shared_with_another_secret_of_the_deployment_is_refused():
    cookie, pseudonym_key, audit_key = (secrets.token_urlsafe(48) for _ in range(3))
    assert shared_secret_problem(audit_key, (cookie, pseudonym_key)) is None
    assert shared_secret_problem(cookie, [pseudonym_key, cookie]) == "shared"
    assert shared_secret_problem(f" {pseudonym_key}\n", iter([cookie, pseudonym_key])) == "shared"
    assert shared_secret_problem(audit_key, ()) is None


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
    test = app_as(database_url, monkeypatch, forged, auth={**AUTH, "cookie_secret": "x" * 32})
    assert not test.exception and titles(test) == ["Configuration non sûre"]
    message = test.markdown[0].value
    assert "128 bits" in message and "16 caractères différents" in message and SECRET_RECIPE in message
    assert not test.button and audit_actions(engine) == []


def test_serve_refuses_to_start_with_a_cookie_secret_of_one_repeated_character(tmp_path):
    result = serve_with(tmp_path, "x" * 32)
    assert result.returncode == 2
    assert "128 bits" in result.stderr and "16 different characters" in result.stderr
    assert SECRET_RECIPE in result.stderr
    assert not (tmp_path / "never.db").exists()
