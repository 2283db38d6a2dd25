"""the fingerprint of the secrets the stored pseudonyms were made with

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty: the next import of interventions records the chain it uses (the one the stored keys were made with,
    # if the operator kept the settings; a rekey records its own).
    op.create_table(
        'pseudonym_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pseudonym_check')),
    )


def downgrade() -> None:
    op.drop_table('pseudonym_check')
