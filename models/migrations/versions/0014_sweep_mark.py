"""sweep_mark: where the last full-rules sweep left off, so a daily sweep reads only what can fire

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 02:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No row yet: the first sweep after the upgrade examines every open entry, as before.
    op.create_table(
        'sweep_mark',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('swept_on', sa.Date(), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('sweep_mark')
