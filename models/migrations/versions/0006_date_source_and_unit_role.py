"""date source on milestones, role on units

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-30 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows get the old behaviour (every date enforced, every unit a reporting unit);
    # the next sync writes the plan's real values.
    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='seed'))
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='reporting'))


def downgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('role')
    with op.batch_alter_table('milestone', schema=None) as batch_op:
        batch_op.drop_column('source')
