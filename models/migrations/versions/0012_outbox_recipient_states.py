"""per-recipient delivery state on outbox messages

Revision ID: 0012
Revises: 0006 (depends on 0002, which creates the outbox)
Create Date: 2026-11-30 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0006'
branch_labels = None
depends_on = '0002'  # the outbox table


def upgrade() -> None:
    # NULL for existing rows: "no recipient settled yet" (a queued row sends to everyone,
    # a sent row was sent before recipients were tracked).
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_states', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('recipient_states')
