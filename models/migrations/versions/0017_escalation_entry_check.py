"""escalation.entry_id: one check per batch instead of a foreign key, and entries never deleted

The foreign key checked each escalation row on its own, and on PostgreSQL took a lock on
its ledger entry row for it: a third of the server's work in a national catch-up sweep
(123,000 rows).  What it guaranteed is kept another way:

* a row names an existing entry: the sweep checks each batch of rows at once before
  inserting it (``models.sweep``), and no other code writes escalation rows;
* the entry stays: ledger entries are never deleted (they are archived), which a trigger
  now enforces for every entry, with or without escalation rows.

On SQLite a later batch migration of ``ledger_entry`` recreates the table, which drops its
triggers: such a migration must create them again (``tests/test_sweep_storage.py`` checks
them on the newest schema).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 14:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# SQLite names no foreign key: batch mode reflects it under this name, to drop it by name.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
MESSAGE = "台账条目不能删除（可归档）：督办记录引用它"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('escalation_entry_id_fkey', 'escalation', type_='foreignkey')
        op.execute(f"""
            CREATE FUNCTION duban_ledger_entry_kept() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
            END $$""")
        op.execute("CREATE TRIGGER ledger_entry_kept BEFORE DELETE OR UPDATE OF id ON ledger_entry "
                   "FOR EACH ROW EXECUTE FUNCTION duban_ledger_entry_kept()")
    else:
        with op.batch_alter_table('escalation', naming_convention=NAMING) as batch_op:
            batch_op.drop_constraint('fk_escalation_entry_id_ledger_entry', type_='foreignkey')
        for event in ("DELETE", "UPDATE OF id"):
            name = "ledger_entry_kept_" + event.split()[0].lower()
            op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON ledger_entry "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entry_kept ON ledger_entry")
        op.execute("DROP FUNCTION duban_ledger_entry_kept()")
        op.create_foreign_key('escalation_entry_id_fkey', 'escalation', 'ledger_entry', ['entry_id'], ['id'])
    else:
        op.execute("DROP TRIGGER ledger_entry_kept_delete")
        op.execute("DROP TRIGGER ledger_entry_kept_update")
        with op.batch_alter_table('escalation') as batch_op:
            batch_op.create_foreign_key('fk_escalation_entry_id_ledger_entry', 'ledger_entry', ['entry_id'], ['id'])
