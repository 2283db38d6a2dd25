"""municipality boundaries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:53:41.409001
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('municipality_boundary',
    sa.Column('municipality_code', sa.String(length=5), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False, comment='GeoJSON Polygon or MultiPolygon, WGS84, 5 decimals'),
    sa.Column('source_file', sa.Text(), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_code'], ['municipality.code'], name=op.f('fk_municipality_boundary_municipality_code_municipality')),
    sa.PrimaryKeyConstraint('municipality_code', name=op.f('pk_municipality_boundary'))
    )


def downgrade() -> None:
    op.drop_table('municipality_boundary')
