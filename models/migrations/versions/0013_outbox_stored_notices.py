"""outbox messages store a sweep notice's items; bodies are rendered at delivery

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows queued before this revision keep their rendered bodies and still send as stored:
    # 'bodies' is their truth.  New sweep notices store the notice's JSON instead.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.String(length=16), nullable=False,
                                      server_default='bodies'))
        batch_op.add_column(sa.Column('notice', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('template_version', sa.String(length=32), nullable=True))
        batch_op.alter_column('body_text', existing_type=sa.String(), nullable=True)
        batch_op.alter_column('body_html', existing_type=sa.String(), nullable=True)


def downgrade() -> None:
    # A notice row has no bodies to keep: render them first (deliver or drop those rows).
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('body_html', existing_type=sa.String(), nullable=False)
        batch_op.alter_column('body_text', existing_type=sa.String(), nullable=False)
        batch_op.drop_column('template_version')
        batch_op.drop_column('notice')
        batch_op.drop_column('content')
