"""subject keys stored as keyed pseudonyms (HMAC-SHA256), never as written

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:00:00

The secret comes from RELAIS_PSEUDONYM_KEYS (demo rows use the demo's public one); it is never stored. A database
holding subject keys cannot be upgraded without it: the migration stops and says so, and nothing is changed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dashboard import settings
from dashboard.demo.calibration import DEMO_PSEUDONYM_KEYS
from dashboard.ingest.pseudonyms import KEY_RECIPE, PseudonymKeyError, checked_secrets, pseudonym

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _normalised(value: str) -> str:
    # The importer's normalisation, without its refusal of odd characters: a stored key is converted, not judged.
    import unicodedata

    return unicodedata.normalize("NFKC", value).strip().upper()


def upgrade() -> None:
    bind = op.get_bind()
    rows = sa.table("intervention", sa.column("id", sa.Integer), sa.column("police_service", sa.String),
                    sa.column("subject_key", sa.Text), sa.column("demo", sa.Boolean))
    stored = bind.execute(sa.select(rows.c.police_service, rows.c.subject_key, rows.c.demo)
                          .where(rows.c.subject_key.is_not(None)).distinct()).all()
    if not stored:
        return
    real_secrets: tuple[str, ...] = ()
    if any(not demo for _service, _key, demo in stored):
        try:
            real_secrets = checked_secrets(settings.pseudonym_keys())
        except PseudonymKeyError as error:
            raise RuntimeError(
                f"RELAIS_PSEUDONYM_KEYS is {error}: the stored subject keys cannot be converted to keyed pseudonyms "
                f"without it. Make one with {KEY_RECIPE}, keep it out of the database, set it and upgrade again."
            ) from None
    update = (sa.update(rows)
              .where(rows.c.police_service == sa.bindparam("service"), rows.c.subject_key == sa.bindparam("raw"))
              .values(subject_key=sa.bindparam("keyed")))
    changes = [{"service": service, "raw": key, "keyed": pseudonym(_normalised(key),
                                                                   DEMO_PSEUDONYM_KEYS if demo else real_secrets)}
               for service, key, demo in stored]
    for start in range(0, len(changes), 5_000):
        bind.execute(update, changes[start:start + 5_000])


def downgrade() -> None:
    # A keyed pseudonym cannot be turned back into what was written: that is the point.
    pass
