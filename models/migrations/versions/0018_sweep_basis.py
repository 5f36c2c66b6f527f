"""sweep_basis: per entry, what the last sweep to examine it saw and when it can next fire

The daily sweep used to look again at every entry changed in the last day (a day's margin
for transactions that committed after a sweep read), which the day after a plan's first
sync is every entry: 0.25 s of anti-joins at 200,000 entries to find the 7,000 that fire.
Each examined entry now keeps its due date, its enforceability and the next day a rung is
reached for it; a later sweep reads the entries without such a row, with another due date
or enforceability, or whose next day has come (models.sweep_basis).  No row yet after the
upgrade: the next sweep examines every open entry, as before.

On PostgreSQL the table is UNLOGGED: it only saves work (a missing row means "read this
entry"), so after a crash PostgreSQL may empty it and the next sweep reads every entry,
and writing the catch-up day's rows skips the write-ahead log.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        'sweep_basis',
        sa.Column('entry_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('due', sa.Date(), nullable=False),
        sa.Column('enforceable', sa.Boolean(), nullable=False),
        sa.Column('next_on', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('entry_id'),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table('sweep_basis')
