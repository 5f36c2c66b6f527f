"""the fingerprint of the plan last applied by sync, so an unchanged plan is not re-diffed

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 02:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No row until the next sync: that sync does the whole diff and records what it applied.
    op.create_table(
        'sync_state',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('synced_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('sync_state')
