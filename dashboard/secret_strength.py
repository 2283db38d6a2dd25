"""Whether a secret (cookie, pseudonym, audit key) could be guessed: missing, public, or too little entropy."""

from __future__ import annotations

import math
import string
from collections import Counter
from collections.abc import Iterable

from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS

SECRET_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
MIN_ENTROPY_BITS = 128
MIN_DISTINCT_CHARACTERS = 16
# 64 hex digits miss one of the 16 about one time in four (token_hex(32)): a hex secret needs 12 of them.
MIN_DISTINCT_HEX_DIGITS = 12

# Published in secrets.example.toml, the README or the code: anyone can sign or pseudonymise with these.
PUBLIC_SECRETS = frozenset({
    "a long random string: python -c 'import secrets; print(secrets.token_hex(32))'",
    "REPLACE ME: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
    SECRET_RECIPE,
    *DEMO_PSEUDONYM_KEYS,
})

_HEX_DIGITS = frozenset(string.digits + "abcdef")
_CHARACTER_CLASSES = (
    (frozenset(string.digits), 10),
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.punctuation + " "), 33),
)
# Beyond ASCII the alphabet is unbounded; the text's own spread of characters caps the estimate anyway.
_OTHER_CHARACTERS = 128


def secret_problem(secret: str | None, public_values: Iterable[str] = ()) -> str | None:
    """Why a secret must not be used ('missing', 'public', 'weak'), or None when it may."""
    if not isinstance(secret, str) or not secret.strip():
        return "missing"
    value = secret.strip()
    if value in PUBLIC_SECRETS or value in {public.strip() for public in public_values}:
        return "public"
    if len(set(value)) < _distinct_floor(value) or entropy_bits(value) < MIN_ENTROPY_BITS:
        return "weak"
    return None


def entropy_bits(secret: str) -> float:
    """A cautious estimate of a secret's entropy: its unrepeated, unpatterned length × bits per character."""
    unit = _shortest_period(secret)
    return _surprising_characters(unit) * min(math.log2(_alphabet_size(unit)), _spread_bits(unit))


def _distinct_floor(secret: str) -> int:
    """How many different characters a secret this alphabet draws from must show at least."""
    return MIN_DISTINCT_HEX_DIGITS if set(secret.lower()) <= _HEX_DIGITS else MIN_DISTINCT_CHARACTERS


def _alphabet_size(secret: str) -> int:
    """The size of the character classes the secret draws from (16 for hex digits of one case)."""
    if set(secret) <= _HEX_DIGITS or set(secret) <= frozenset(string.digits + "ABCDEF"):
        return 16
    used = set(secret)
    size = sum(size for members, size in _CHARACTER_CLASSES if used & members)
    return size + (_OTHER_CHARACTERS if any(not character.isascii() for character in used) else 0)


def _spread_bits(secret: str) -> float:
    """Shannon entropy per character of the secret's own character frequencies (0 for one repeated character)."""
    counts = Counter(secret)
    return -sum(count / len(secret) * math.log2(count / len(secret)) for count in counts.values())


def _shortest_period(secret: str) -> str:
    """The shortest text the secret is a repetition of ('abcabcab' → 'abc'), the secret itself if none."""
    for period in range(1, len(secret) // 2 + 1):
        if all(secret[index] == secret[index - period] for index in range(period, len(secret))):
            return secret[:period]
    return secret


def _surprising_characters(secret: str) -> int:
    """Characters that do not continue a run of equal steps ('aaaa', 'abcd', '9876' count two each)."""
    steps = [ord(after) - ord(before) for before, after in zip(secret, secret[1:], strict=False)]
    return min(len(secret), 2) + sum(1 for previous, step in zip(steps, steps[1:], strict=False) if step != previous)
