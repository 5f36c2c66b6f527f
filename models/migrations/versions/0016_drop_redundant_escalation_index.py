"""drop ix_escalation_entry_id: uq_escalation_entry_rung (entry_id, rung_id) already serves it

Every escalation row was written into both indexes; each lookup by entry uses the unique
index's first column on SQLite and PostgreSQL alike (and so does the foreign key's check
when a ledger entry is deleted).  The catch-up sweep writes 123,000 rows at national scale.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 11:45:00
"""
from __future__ import annotations

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_entry_id')


def downgrade() -> None:
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_entry_id', ['entry_id'], unique=False)
