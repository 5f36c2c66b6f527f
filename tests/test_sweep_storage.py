"""The sweep's fast paths store exactly what the ORM path stores.

The catch-up sweep writes escalation rows past SQLAlchemy (its per-row parameter processing
cost more than the insert): as JSON arrays read by ``json_each`` on SQLite, by ``COPY`` on
PostgreSQL; the text in the database must not depend on which path wrote it.  The
migration check reads the heads from the migration files; they must be alembic's heads.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from models import outbox
from models.db import _script_heads, get_engine, head_revisions, session_scope
from models.locks import upsert
from models.sweep import (
    ESCALATION_COLUMNS,
    SweepWriter,
    copy_escalations,
    escalation_batch,
    escalation_values,
    insert_escalations_sqlite,
)
from models.tables import Escalation, LedgerEntry, OutboxMessage
from tests.conftest import PG_URL

CREATED = dt.datetime(2024, 7, 8, 1, 2, 3, 456789, tzinfo=dt.UTC)


def escalation_insert_sql(placeholder: str) -> str:
    """The one-row INSERT that ``executemany`` repeats (``placeholder``: ``?`` or ``%s``): the
    plain path the sweep's batch paths must store exactly as."""
    return (f"INSERT INTO escalation ({', '.join(ESCALATION_COLUMNS)}) "
            f"VALUES ({', '.join(placeholder for _ in ESCALATION_COLUMNS)}) "
            "ON CONFLICT (entry_id, rung_id) DO NOTHING")


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
            SweepWriter(session, fired_on=dt.date(2024, 7, 8), threaded=False).escalations(
                [(r["entry_id"], r["rung_id"], r["kind"], r["recipients"], r["message_key"]) for r in _rows(fast)],
                created_at=CREATED)
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


# Values COPY's text format must carry through unchanged: its field and row separators, its
# escape character and its NULL marker, quotes, non-BMP characters, an empty list.
TRICKY = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "quote's \"double\"",
          "𠀀𝔘😀 非BMP", "", " lead and trail "]


def _tricky_rows(entry_ids: list[int]) -> list[tuple[int, str, str, list[str], str | None]]:
    rows: list[tuple[int, str, str, list[str], str | None]] = []
    for n, entry_id in enumerate(entry_ids):
        value = TRICKY[n % len(TRICKY)]
        rows.append((entry_id, f"r{n}{value}"[:64], f"k{value}"[:16], [value, f"名 <{n}@x.test>"], value))
        rows.append((entry_id, f"none{n}", "chase", [], None))
    return rows


def test_escalation_batches_match_executemany(synced, db_url: str, monkeypatch) -> None:
    """The batch paths (``COPY`` on PostgreSQL, JSON arrays read by ``json_each`` on SQLite)
    store what ``executemany`` of the one-row INSERT stores, in the same order, and skip the
    pairs already recorded as its ON CONFLICT does."""
    monkeypatch.setattr("models.sweep.SQLITE_BATCH_ROWS", 5)  # the 25 rows in several arrays
    fired_on = dt.date(2024, 2, 29)
    created_at = dt.datetime(2024, 7, 8, 9, 2, 3, 456789, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    postgresql = db_url.startswith("postgresql")
    placeholder = "%s" if postgresql else "?"
    read = text("SELECT id, entry_id, rung_id, kind, fired_on, created_at, "
                f"{'recipients::text' if postgresql else 'recipients'}, message_key FROM escalation ORDER BY id")
    stored: dict[str, list[tuple[object, ...]]] = {}
    with session_scope() as session:
        ids = list(session.execute(text("SELECT id FROM ledger_entry ORDER BY id LIMIT 12")).scalars())
        # Reversed and interleaved: the ids must follow the rows' order, not the entries'.
        rows = _tricky_rows(ids[::-1])
        already = rows[3]
        for how in ("executemany", "batch"):
            with session.begin_nested() as nested:
                cursor = session.connection().connection.cursor()
                first = escalation_values(session, [already], fired_on=fired_on, created_at=created_at)
                cursor.execute(escalation_insert_sql(placeholder), first[0])
                given = [*rows, rows[0]]
                if how == "executemany":
                    cursor.executemany(escalation_insert_sql(placeholder),
                                       escalation_values(session, given, fired_on=fired_on, created_at=created_at))
                elif postgresql:
                    copy_escalations(cursor, escalation_values(session, given, fired_on=fired_on,
                                                               created_at=created_at))
                else:
                    insert_escalations_sqlite(cursor, escalation_batch(session, given, fired_on=fired_on,
                                                                       created_at=created_at))
                found = session.execute(read).all()
                stored[how] = [tuple(row[1:]) for row in found]
                # Ids in the rows' order: the recorded pair first, then the others as given.
                assert [row[0] for row in found] == sorted(row[0] for row in found)
                nested.rollback()
        assert session.execute(text("SELECT count(*) FROM escalation")).scalar() == 0
    assert stored["batch"] == stored["executemany"]
    assert len(stored["batch"]) == len(rows)
    assert [row[:2] for row in stored["batch"]] == [already[:2], *(r[:2] for r in rows if r != already)]
    # As each backend stores a date and a time (SQLite: SQLAlchemy's text, in UTC).
    when = (fired_on, created_at) if postgresql else ("2024-02-29", "2024-07-08 01:02:03.456789")
    assert stored["batch"][0][3:5] == when
    # The JSON column's text: PostgreSQL's own, SQLAlchemy's json.dumps on SQLite (ASCII).
    texts = {row[1]: (row[2], row[5], row[6]) for row in stored["batch"]}
    for n, value in enumerate(TRICKY):
        recipients = [value, f"名 <{n}@x.test>"]
        assert texts[f"r{n}{value}"] == (f"k{value}"[:16], json.dumps(recipients), value)
    assert texts["none0"] == ("chase", "[]", None)
    # And through the sweep's writer, a second time adding nothing.
    with session_scope() as session:
        for _ in range(2):
            SweepWriter(session, fired_on=fired_on, threaded=False).escalations(rows, created_at=created_at)
    with session_scope() as session:
        assert [tuple(row[1:]) for row in session.execute(read)] == [
            (r[0], r[1], r[2], *when, json.dumps(r[3]), r[4]) for r in rows]


def _tricky_messages() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for n, value in enumerate(TRICKY):
        rows.append({
            "key": f"unit-notice|u{n}@x.test|2024-07-08|{value}", "message_id": f"<m{n}.{value}@x.test>",
            "kind": "unit-notice", "run_date": dt.date(2024, 7, 8), "unit_id": None if n % 3 == 0 else f"u{n}",
            "sender": f'"督办{value}" <duban@x.test>', "to": [f'"{value}" <u{n}@x.test>'],
            "cc": [] if n % 2 else [value],
            "subject": f"【催办】{value}", "content": "notice" if n % 2 else "bodies",
            "notice": json.dumps({"items": [value, n]}, ensure_ascii=False) if n % 2 else None,
            "template_version": "v1" if n % 2 else None, "body_text": None if n % 2 else f"正文{value}",
            "body_html": None if n % 2 else f"<p>{value}</p>",
            "attachments": [{"name": f"{value}.docx", "sha256": "0" * 64}] if n % 4 == 0 else [],
            "recipient_states": None, "last_error": value or None})
    return rows


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.skipif(not PG_URL, reason="needs DUBAN_TEST_DATABASE_URL")
def test_outbox_rows_pipelined_on_postgresql_match_the_statement(workdir, db_url: str) -> None:
    """The pipelined insert (PostgreSQL) stores what SQLAlchemy's multi-row INSERT stores,
    returns the same keys, and skips a clash on the key or on the Message-ID."""
    from models.db import get_engine, migrate

    migrate(get_engine())
    now = dt.datetime(2024, 7, 8, 9, 2, 3, 456789, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    rows = _tricky_messages()
    clash_key = {**rows[4], "message_id": "<other@x.test>"}
    clash_id = {**rows[7], "key": "other-key"}
    values = outbox.queue_values(rows, now)
    # JSON as its text: psycopg reads both SQL NULL and JSON null as None.
    columns = ", ".join(f'CAST(o."{c.name}" AS TEXT) AS "{c.name}"' if c.name != "id" else "o.id"
                        for c in OutboxMessage.__table__.columns)  # type: ignore[attr-defined]
    read = text(f"SELECT {columns} FROM outbox o ORDER BY o.id")
    stored: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
    with session_scope() as session:
        for how, insert in (("statement", outbox.queue_statement), ("pipelined", outbox.queue_pipelined)):
            with session.begin_nested() as nested:
                assert outbox.queue_statement(session, outbox.queue_values([clash_key, clash_id], now)) == [
                    clash_key["key"], "other-key"]
                keys = insert(session, values)
                found = session.execute(read).mappings().all()
                stored[how] = (keys, [tuple(v for k, v in row.items() if k != "id") for row in found])
                assert [row["id"] for row in found] == sorted(row["id"] for row in found)
                nested.rollback()
    assert stored["pipelined"] == stored["statement"]
    keys, found = stored["pipelined"]
    assert keys == [r["key"] for r in rows if r["key"] != clash_key["key"] and r is not rows[7]]
    assert len(found) == len(rows)
    # And through queue(), a second time adding nothing.
    with session_scope() as session:
        assert outbox.queue(session, rows) == [r["key"] for r in rows]
        assert outbox.queue(session, rows) == []


def test_rows_written_beside_the_caller_raise_in_the_caller(synced, db_url: str, monkeypatch) -> None:
    """The rows written in a thread while the sweep goes on (both backends), in the order
    handed over: an error reaches the caller at finish(), and nothing handed over after it
    goes in."""
    import threading

    import models.sweep
    from models.sweep_basis import BasisRows

    writers: list[int] = []
    for name in ("copy_escalations", "insert_escalations_sqlite", "write_basis"):
        write = getattr(models.sweep, name)
        monkeypatch.setattr(models.sweep, name, lambda *args, write=write, **kwargs: (
            writers.append(threading.get_ident()), write(*args, **kwargs))[1])
    with session_scope() as session:
        entry = session.execute(text("SELECT min(id) FROM ledger_entry")).scalar_one()
        basis = BasisRows(f'[["2024-07-05", true, "2024-07-09", [{entry}]]]', fresh=False)
        good = SweepWriter(session, fired_on=dt.date(2024, 7, 8))
        good.basis(basis)
        good.escalations([(entry, "remind-1", "remind", ["a@x.test"], None)])
        good.finish()
        assert session.execute(text("SELECT entry_id, rung_id FROM escalation")).all() == [(entry, "remind-1")]
        assert session.execute(text("SELECT entry_id, CAST(next_on AS VARCHAR) FROM sweep_basis")).all() == [
            (entry, "2024-07-09")]
        assert len(writers) == 2 and threading.get_ident() not in writers  # not in the caller's thread
        session.execute(text("DELETE FROM sweep_basis"))
        bad = SweepWriter(session, fired_on=dt.date(2024, 7, 8))
        bad.escalations([(-1, "remind-1", "remind", [], None)])
        bad.basis(basis)
        bad.wait()
        with pytest.raises(ValueError, match=r"ledger entries that do not exist: \[-1\]"):
            bad.finish()
        assert session.execute(text("SELECT count(*) FROM sweep_basis")).scalar_one() == 0
        session.rollback()


def test_escalation_rows_for_unknown_entries_are_refused_whole(synced, db_url: str, monkeypatch) -> None:
    """Without a foreign key (migration 0017) a batch naming an entry that does not exist is
    refused before any of its rows goes in, on both backends (on SQLite, also when the
    unknown entries are in a later array than a known one)."""
    monkeypatch.setattr("models.sweep.SQLITE_BATCH_ROWS", 1)

    with session_scope() as session:
        entry = session.execute(text("SELECT min(id) FROM ledger_entry")).scalar_one()
        rows = [(entry, "remind-1", "remind", ["a@x.test"], None), (10**9, "remind-1", "remind", [], None),
                (-5, "overdue", "chase", [], None)]
        with pytest.raises(ValueError, match=r"do not exist: \[-5, 1000000000\]"):
            SweepWriter(session, fired_on=dt.date(2024, 7, 8), threaded=False).escalations(rows)
        assert session.execute(text("SELECT count(*) FROM escalation")).scalar_one() == 0
        session.rollback()


def test_ledger_entries_cannot_be_deleted_or_renumbered(synced, db_url: str) -> None:
    """Escalation rows rely on their entry staying (migration 0017's trigger): a delete or a
    change of id is refused with a message that says to archive; other updates go through."""
    from sqlalchemy.exc import DBAPIError

    for statement in ("DELETE FROM ledger_entry WHERE id = (SELECT min(id) FROM ledger_entry)",
                      "UPDATE ledger_entry SET id = id + 1000000 WHERE id = (SELECT max(id) FROM ledger_entry)"):
        with session_scope() as session, pytest.raises(DBAPIError, match="台账条目不能删除（可归档）"):
            session.execute(text(statement))
    with session_scope() as session:
        session.execute(text("UPDATE ledger_entry SET status = 'waived' WHERE id = (SELECT min(id) FROM ledger_entry)"))
        assert session.execute(text("SELECT count(*) FROM ledger_entry WHERE status = 'waived'")).scalar_one() == 1


def test_rows_are_handed_over_before_the_work_they_overlap(synced, monkeypatch) -> None:
    """The basis rows are known once the entries are read, the escalation rows (with their
    message keys) once the firings are routed: the sweep hands each to the writer then, so
    the database inserts them while the firings are routed and the notices built."""
    from models.sweep import fire_rungs
    from plan.ladder import Router

    events: list[str] = []
    for name in ("route", "build"):
        method = getattr(Router, name)
        monkeypatch.setattr(Router, name, lambda self, *args, name=name, method=method: (
            events.append(name), method(self, *args))[1])
    handed: list = []

    class Recording:
        def basis(self, basis) -> None:
            events.append("basis")

        def escalations(self, rows) -> None:
            events.append("rows")
            handed.extend(rows)

    with session_scope() as session:
        result = fire_rungs(session, plan=synced, today=dt.date(2024, 7, 8), writer=Recording())
        session.rollback()
    assert events == ["basis", "route", "rows", "build"]
    assert len(handed) == result.escalations > 0
    keys = {n.key for n in result.notices}
    # Each row names a message that was then built, or none (told nobody).
    assert {key for *_, key in handed} - {None} <= keys
    assert {key for *_, key in handed if key and key.startswith("unit-notice|")}
