"""The ledger (台账): tables, engine/session, migrations and the queries over them."""
