"""Schema migrations: an empty database reaches the heads, and an old one upgrades in place."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import models
from models.db import _alembic_config, current_revisions, get_engine, head_revisions, migrate, session_scope
from models.sync import sync_ledger
from tests.conftest import table_snapshot


def _all_table_modules() -> None:
    """Import every models/*tables.py, as the migrations environment does."""
    for path in Path(models.__file__).parent.glob("*tables.py"):
        importlib.import_module(f"models.{path.stem}")


def test_empty_database_migrates_to_heads(db_url: str) -> None:
    engine = get_engine(db_url)
    assert current_revisions(engine) == set()
    assert migrate(engine) is True
    assert current_revisions(engine) == head_revisions(engine)
    assert migrate(engine) is False  # already at the heads: nothing to do
    _all_table_modules()
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


def test_migrations_match_the_models(db_url: str) -> None:
    """A model changed without a migration would leave old databases behind."""
    engine = get_engine(db_url)
    migrate(engine)
    _all_table_modules()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_database_at_0001_upgrades_in_place(db_url: str, plan) -> None:
    engine = get_engine(db_url)
    command.upgrade(_alembic_config(engine), "0001")
    assert current_revisions(engine) == {"0001"}
    now = dt.datetime(2024, 6, 1, 1, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:  # a ledger written by the 0001 version
        conn.execute(text("INSERT INTO unit (id, name, kind, contacts) VALUES ('pudong', '浦东', 'district', '[]')"))
        conn.execute(text("INSERT INTO task (number, section, section_title, title, summary, lead, "
                          "owners_confirmed) VALUES (8, 3, 's', 't', 'x', '[]', true)"))
        conn.execute(text("INSERT INTO milestone (id, task_number, title, kind, due, stats_table, formats) "
                          "VALUES ('t08-cste', 8, '上交会', 'event', '2024-06-19', false, '[]')"))
        conn.execute(text("INSERT INTO ledger_entry (milestone_id, unit_id, due, status, submitted_on, "
                          "created_at, updated_at) VALUES ('t08-cste', 'pudong', '2024-06-19', "
                          "'submitted', '2024-06-18', :now, :now)"), {"now": now})
        entry = conn.execute(text("SELECT id FROM ledger_entry")).scalar_one()
        conn.execute(text("INSERT INTO submission (entry_id, unit_id, milestone_id, submitted_on, late, "
                          "recorded_at, source, actor, files) VALUES (:entry, 'pudong', 't08-cste', "
                          "'2024-06-18', false, :now, 'cli', '测试员', '[]')"), {"now": now, "entry": entry})
    before = table_snapshot(db_url)

    assert migrate(engine) is True
    assert current_revisions(engine) == head_revisions(engine)
    after = table_snapshot(db_url)
    for table in ("unit", "task", "milestone", "ledger_entry", "submission"):
        # Later migrations append columns; the old values are kept as they were.
        assert [row[:len(before[table][0])] for row in after[table]] == before[table], table
    # Rows from before 0006 keep the old behaviour until the next sync writes the plan's values.
    assert after["unit"][0][-1] == "reporting"
    assert after["milestone"][0][-1] == "seed"

    # The upgraded ledger takes the plan; the old entry keeps its submission.
    with session_scope(engine) as session:
        diff = sync_ledger(session, plan)
    assert "t08-cste/pudong" not in diff.added.get("entry", [])
    rows = table_snapshot(db_url)
    assert len(rows["submission"]) == 1
    assert len(rows["ledger_entry"]) == len(plan.obligations())


def test_escalations_are_found_by_entry_through_the_unique_index(db_url: str) -> None:
    """ix_escalation_entry_id was dropped (0016): uq_escalation_entry_rung's first column serves."""
    engine = get_engine(db_url)
    migrate(engine)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("escalation")}
    assert "ix_escalation_entry_id" not in indexes
    query = "SELECT rung_id FROM escalation WHERE entry_id = 7"
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
            assert "USING" in plan and "INDEX" in plan, plan  # e.g. COVERING INDEX sqlite_autoindex_…
        else:
            conn.execute(text("SET enable_seqscan = off"))  # a scan then means no index can serve it
            plan = " ".join(row[0] for row in conn.execute(text(f"EXPLAIN {query}")))
            assert "uq_escalation_entry_rung" in plan, plan
