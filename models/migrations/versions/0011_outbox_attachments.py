"""attachments on outbox messages (the digest's PDF 简报 and Excel ledger)

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-30 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0006'
branch_labels = None
depends_on = '0002'  # the outbox table is created there


def upgrade() -> None:
    # Messages queued before this revision had no attachments: an empty list is their truth.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attachments')
