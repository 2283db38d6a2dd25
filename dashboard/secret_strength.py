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
# 64 hex digits miss one of the 16 about one time in four (token_hex(32)): a hex secret needs 12 of them. Shorter
# random secrets show fewer (32 hex digits: 9 one time in 12,000, token_urlsafe(16): 12 one time in 200,000), so
# the floor is a quarter of a hex secret's length and half of another's, up to these.
MIN_DISTINCT_HEX_DIGITS = 12
# A repeat, a sequence or a keyboard walk this long is a pattern, not chance: in 32 random hex digits one turns up
# less than once in a million draws, so 128-bit secrets keep their full credit.
MIN_PATTERN_LENGTH = 7

# Published in secrets.example.toml, the README or the code: anyone can sign or pseudonymise with these.
PUBLIC_SECRETS = frozenset({
    "a long random string: python -c 'import secrets; print(secrets.token_hex(32))'",
    "REPLACE ME: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
    SECRET_RECIPE,
    *DEMO_PSEUDONYM_KEYS,
})
# A recipe pasted as the secret, or a published value slightly altered, still says where it came from.
PUBLIC_FRAGMENTS = ("python -c", "secrets.token")

_HEX_DIGITS = frozenset(string.digits + "abcdef")
_BASE64_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_+/=")
_CHARACTER_CLASSES = (
    (frozenset(string.digits), 10),
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.punctuation + " "), 33),
)
# Beyond ASCII the alphabet is unbounded; the text's own spread of characters caps the estimate anyway.
_OTHER_CHARACTERS = 128
# Keys in the order they are typed along a keyboard's rows (QWERTY and AZERTY), and the shifted digits.
_KEYBOARD_WALKS = ("1234567890", "qwertyuiopasdfghjklzxcvbnm", "azertyuiopqsdfghjklmwxcvbn", "!@#$%^&*()")


def secret_problem(secret: str | None, public_values: Iterable[str] = ()) -> str | None:
    """Why a secret must not be used ('missing', 'public', 'weak'), or None when it may."""
    if not isinstance(secret, str) or not secret.strip():
        return "missing"
    value = secret.strip()
    if value in PUBLIC_SECRETS or value in {public.strip() for public in public_values}:
        return "public"
    if any(fragment in value.lower() for fragment in PUBLIC_FRAGMENTS):
        return "public"
    if len(set(value)) < _distinct_floor(value) or entropy_bits(value) < MIN_ENTROPY_BITS:
        return "weak"
    return None


def shared_secret_problem(secret: str, others: Iterable[str]) -> str | None:
    """'shared' when a secret is also another secret of the deployment (a leak of one is a leak of both), else None."""
    value = secret.strip()
    return "shared" if any(value == other.strip() for other in others if isinstance(other, str)) else None


def entropy_bits(secret: str) -> float:
    """A cautious estimate of a secret's entropy: its characters no pattern explains × bits per character.

    A secret in a generator's alphabet (hex, base64) with no repeat, sequence or keyboard walk is credited its
    alphabet's bits per character (what a random draw from it has); one with other punctuation or such a pattern
    was likely made by hand, and gets no more than its own spread of characters.
    """
    unexplained, patterned = _unexplained_characters(secret)
    bits = math.log2(_alphabet_size(secret))
    drawn = not patterned and set(secret) <= _BASE64_CHARACTERS
    return unexplained * (bits if drawn else min(bits, _spread_bits(secret)))


def _distinct_floor(secret: str) -> int:
    """How many different characters a secret this alphabet draws from must show at least."""
    if set(secret.lower()) <= _HEX_DIGITS:
        return min(MIN_DISTINCT_HEX_DIGITS, len(secret) // 4)
    return min(MIN_DISTINCT_CHARACTERS, len(secret) // 2)


def _alphabet_size(secret: str) -> int:
    """The size of the alphabet the secret draws from: 16 for hex digits of one case, 64 for base64 of both cases."""
    used = set(secret)
    if used <= _HEX_DIGITS or used <= frozenset(string.digits + "ABCDEF"):
        return 16
    size = sum(size for members, size in _CHARACTER_CLASSES if used & members)
    if used <= _BASE64_CHARACTERS and used & set(string.ascii_lowercase) and used & set(string.ascii_uppercase):
        # token_urlsafe's alphabet: 22 of its characters often show no digit nor '-' or '_', yet carry 131 bits.
        size = max(size, 64)
    return size + (_OTHER_CHARACTERS if any(not character.isascii() for character in used) else 0)


def _spread_bits(secret: str) -> float:
    """Shannon entropy per character of the secret's own character frequencies (0 for one repeated character)."""
    counts = Counter(secret)
    return -sum(count / len(secret) * math.log2(count / len(secret)) for count in counts.values())


def _unexplained_characters(secret: str) -> tuple[int, bool]:
    """How many characters no long pattern explains (a pattern counts one), and whether any pattern was found."""
    unexplained, patterned, index = 0, False, 0
    while index < len(secret):
        length = max(_repeat_length(secret, index), _sequence_length(secret, index))
        unexplained += 1
        if length >= MIN_PATTERN_LENGTH:
            patterned, index = True, index + length
        else:
            index += 1
    return unexplained, patterned


def _repeat_length(secret: str, start: int) -> int:
    """The longest text from `start` that already begins earlier (overlapping it too: 'xxxx' from 1 is 3)."""
    length = 0
    while start + length < len(secret) and secret.find(secret[start:start + length + 1]) < start:
        length += 1
    return length


def _sequence_length(secret: str, start: int) -> int:
    """The longest run from `start` of equal steps ('aaaa', 'abcd', '9753') or of keys typed along a keyboard."""
    return max(_equal_steps_length(secret, start), _walk_length(secret.lower(), start))


def _equal_steps_length(secret: str, start: int) -> int:
    """Characters from `start` whose code points go up or down by one same step."""
    if start + 1 >= len(secret):
        return len(secret) - start
    step, end = ord(secret[start + 1]) - ord(secret[start]), start + 2
    while end < len(secret) and ord(secret[end]) - ord(secret[end - 1]) == step:
        end += 1
    return end - start


def _walk_length(secret: str, start: int) -> int:
    """Characters from `start` that follow one another along a keyboard walk, forwards or backwards."""
    longest = 1
    for walk in _KEYBOARD_WALKS:
        for row in (walk, walk[::-1]):
            end = start + 1
            while end < len(secret) and (secret[end - 1] + secret[end]) in row:
                end += 1
            longest = max(longest, end - start)
    return longest
