"""`python -m dashboard rekey`: pseudonymise every stored subject key again under a new secret (key rotation)."""

from __future__ import annotations

import os

from sqlalchemy import Engine

from dashboard import settings
from dashboard.commands.audit import record_command
from dashboard.commands.exits import EXIT_OK, EXIT_USAGE
from dashboard.commands.printing import error
from dashboard.i18n import number, t
from dashboard.ingest.pseudonyms import KEY_RECIPE, PseudonymKeyError, checked_secrets, fingerprint, pseudonym
from queries.writes import replace_subject_keys, set_fingerprint, stored_fingerprint, stored_subject_keys

NEW_KEY_VARIABLE = "RELAIS_NEW_PSEUDONYM_KEY"


def run_rekey_command(engine: Engine) -> int:
    """Apply the new secret on top of the stored pseudonyms in one transaction; say which setting to change."""
    # The current chain is not judged: a weak or public key in it is what a rotation adds a strong one on top of.
    current = settings.pseudonym_keys()
    given = os.environ.get(NEW_KEY_VARIABLE, "").strip()
    try:
        (new,) = checked_secrets((given,) if given and current else ())
    except PseudonymKeyError as failure:
        error(t(f"rekey.error.{failure}", variable=NEW_KEY_VARIABLE, recipe=KEY_RECIPE))
        return EXIT_USAGE
    if new in current:
        error(t("rekey.error.same", variable=NEW_KEY_VARIABLE))
        return EXIT_USAGE
    with engine.begin() as connection:
        if stored_fingerprint(connection) not in (None, fingerprint(current)):
            # Run twice with the same settings, the new secret would be applied twice and links lost.
            error(t("rekey.error.mismatch"))
            return EXIT_USAGE
        stored = stored_subject_keys(connection)
        # HMAC under the new secret of what is stored: the chain of secrets grows by one, no raw key is needed.
        changed = replace_subject_keys(connection, [(service, key, pseudonym(key, (new,))) for service, key in stored])
        set_fingerprint(connection, fingerprint((*current, new)))
    record_command(engine, "rekey", None, {"subject_keys": len(stored), "interventions": changed,
                                           "secrets_before": len(current)})
    print(t("rekey.done", keys=number(len(stored)), interventions=number(changed), count=len(current) + 1))
    return EXIT_OK
