"""Keyed pseudonyms of subject keys: what a police extract writes there is never stored, only its HMAC."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence

from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.ingest.problems import InvalidValue
from dashboard.secret_strength import SECRET_RECIPE, secret_problem

SUBJECT_KEY_MAX_LENGTH = 64
# Record numbers, not prose: letters, digits and the separators file numbers use. A space is refused, which also
# turns away most names put in the column by mistake.
SUBJECT_KEY = re.compile(r"[A-Z0-9._:/#-]{1,64}")
KEY_RECIPE = SECRET_RECIPE


class PseudonymKeyError(ValueError):
    """No pseudonym key, or one that can be guessed ('weak', 'public'); the reason is the catalogue key's suffix."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.position = reason, position

    def __str__(self) -> str:
        return self.reason


def normalised_subject_key(value: str) -> str:
    """A subject key as compared: compatibility-normalised (NFKC), trimmed, upper case; InvalidValue if not one."""
    key = unicodedata.normalize("NFKC", value).strip().upper()
    if len(key) > SUBJECT_KEY_MAX_LENGTH:
        raise InvalidValue("import.reason.too_long", limit=SUBJECT_KEY_MAX_LENGTH)
    if not SUBJECT_KEY.fullmatch(key):
        raise InvalidValue("import.reason.subject_key_characters")
    return key


def pseudonym(key: str, secrets: Sequence[str]) -> str:
    """HMAC-SHA256 of a normalised key under each secret in turn, oldest first (rotation appends a secret)."""
    digest = key
    for secret in secrets:
        digest = hmac.new(secret.encode("utf-8"), digest.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest


# A fixed text whose pseudonym identifies a chain of secrets without revealing any of them.
FINGERPRINT_TEXT = "RELAIS-PSEUDONYM-CHECK"


def fingerprint(secrets: Sequence[str]) -> str:
    """What a chain of secrets makes of a fixed text: equal for the same chain, different for any other."""
    return pseudonym(FINGERPRINT_TEXT, secrets)


def checked_secrets(secrets: Sequence[str], *, demo: bool = False) -> tuple[str, ...]:
    """The pseudonym secrets if the newest cannot be guessed and none is public; PseudonymKeyError otherwise.

    Each HMAC of the chain is applied to the one before: whoever lacks the newest secret cannot tell one record
    number's pseudonym from another's, so an older secret, weak or even public, is harmless once a strong one
    follows it, and rekey is the way out of it. Only demo rows (`demo`) may end the chain with the demo's public
    key: with it alone, anyone can tell which record number is behind a pseudonym by trying them all.
    """
    if not secrets:
        raise PseudonymKeyError("missing")
    newest = secrets[-1]
    if not (demo and newest in DEMO_PSEUDONYM_KEYS) and (problem := secret_problem(newest)):
        raise PseudonymKeyError(problem, len(secrets))
    return tuple(secrets)
