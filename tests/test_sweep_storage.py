"""The sweep's fast paths store exactly what the ORM path stores.

The catch-up sweep writes escalation rows through the SQLite driver's ``executemany``
(SQLAlchemy's per-row parameter processing cost more than the insert); the text in the
database must not depend on which path wrote it.  The migration check reads the heads from
the migration files; they must be alembic's heads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import _script_heads, get_engine, head_revisions, session_scope
from models.locks import upsert
from models.sweep import insert_escalations
from models.tables import Escalation, LedgerEntry

CREATED = dt.datetime(2024, 7, 8, 1, 2, 3, 456789, tzinfo=dt.UTC)


def _rows(entry_ids: list[int]) -> list[dict[str, object]]:
    return [{"entry_id": entry_id, "rung_id": rung, "kind": kind, "fired_on": dt.date(2024, 7, 8),
             "created_at": CREATED, "recipients": recipients, "message_key": key}
            for entry_id in entry_ids
            for rung, kind, recipients, key in (
                ("remind-1", "remind", ["a@x.test", "协调人 <b@x.test>"], "unit-notice|a|2024-07-08"),
                ("overdue", "chase", [], None))]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_escalations_written_by_the_driver_match_the_orm(synced, db_url: str) -> None:
    with session_scope() as session:
        ids = list(session.execute(text(f"SELECT id FROM {LedgerEntry.__tablename__} ORDER BY id LIMIT 4"))
                   .scalars())
        fast, orm = ids[:2], ids[2:]
        for _ in range(2):  # a second sweep the same day adds nothing
            insert_escalations(session, [(r["entry_id"], r["rung_id"], r["kind"], r["recipients"], r["message_key"])
                                         for r in _rows(fast)],
                               fired_on=dt.date(2024, 7, 8), created_at=CREATED)
        statement = upsert(session, Escalation.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=["entry_id", "rung_id"])
        session.execute(statement, _rows(orm))
    with get_engine().connect() as conn:
        stored = conn.execute(text(
            "SELECT entry_id, rung_id, kind, fired_on, created_at, recipients, message_key,"
            " typeof(fired_on), typeof(created_at), typeof(recipients) FROM escalation ORDER BY id")).all()
    assert len(stored) == 8
    by_entry = {entry_id: [row[1:] for row in stored if row[0] == entry_id] for entry_id in ids}
    assert by_entry[fast[0]] == by_entry[orm[0]] == by_entry[fast[1]] == by_entry[orm[1]]
    assert by_entry[fast[0]][0] == ("remind-1", "remind", "2024-07-08", "2024-07-08 01:02:03.456789",
                                    '["a@x.test", "\\u534f\\u8c03\\u4eba <b@x.test>"]',
                                    "unit-notice|a|2024-07-08", "text", "text", "text")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_heads_read_from_the_files_are_alembics(workdir: Path, db_url: str) -> None:
    assert _script_heads() == frozenset(head_revisions(get_engine()))
