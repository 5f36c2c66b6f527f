"""The sqlite3 reads of the read-only commands (models.lite) give what the SQLAlchemy
queries they mirror give, on the same ledger file; and they step aside whenever the ordinary
path must run (PostgreSQL, no ledger yet, a schema behind the migrations)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.db import dispose_engines, session_scope
from models.lite import sqlite_reader
from models.schedule import acquire_lease, claim_run, finish_run, last_runs, lease_holder
from models.schedule_read import last_runs_sqlite, lease_holder_sqlite


@pytest.fixture()
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "var" / "duban.db"
    monkeypatch.setenv("DUBAN_DATABASE_URL", f"sqlite:///{path}")
    yield path
    dispose_engines()


def test_jobs_reads_match_the_sqlalchemy_queries(ledger: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    with session_scope() as session:
        for day, error in ((dt.date(2024, 7, 5), None), (dt.date(2024, 7, 8), "SMTP 拒绝")):
            assert claim_run(session, job_id="cycle", flow="cycle", run_date=day, host="h1", pid=42)
            finish_run(session, job_id="cycle", run_date=day, error=error)
        assert claim_run(session, job_id="digest", flow="digest", run_date=dt.date(2024, 7, 8),
                         host="h2", pid=7, mode="manual")  # still running: no finish time
        assert acquire_lease(session, token="t", host="h1", pid=42, ttl=dt.timedelta(minutes=5),
                             now=now) is None
    with session_scope() as session:
        expected_runs, expected_holder = last_runs(session), lease_holder(session)
    with sqlite_reader() as conn:
        assert conn is not None
        runs, holder = last_runs_sqlite(conn), lease_holder_sqlite(conn, now=dt.datetime.now(dt.UTC))
    assert runs == expected_runs
    assert runs["cycle"].run_date == dt.date(2024, 7, 8) and runs["cycle"].error == "SMTP 拒绝"
    assert runs["digest"].finished_at is None and runs["digest"].state == "running"
    assert holder is not None and holder == expected_holder
    with sqlite_reader() as conn:  # an expired lease is nobody's
        assert conn is not None
        assert lease_holder_sqlite(conn, now=now + dt.timedelta(minutes=6)) is None
    with session_scope() as session:
        assert lease_holder(session, now=now + dt.timedelta(minutes=6)) is None


def test_no_ledger_yet_or_an_old_schema_takes_the_ordinary_path(ledger: Path) -> None:
    with sqlite_reader() as conn:
        assert conn is None  # nothing created: the ordinary path makes and migrates it
    assert not ledger.exists()
    with session_scope():
        pass
    with sqlite_reader() as conn:
        assert conn is not None
    with sqlite3.connect(ledger) as raw:
        raw.execute("DELETE FROM alembic_version")  # as if an upgrade of duban brought a migration
        raw.execute("INSERT INTO alembic_version VALUES ('0001')")
    with sqlite_reader() as conn:
        assert conn is None


def test_postgresql_takes_the_ordinary_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/nowhere")
    with sqlite_reader() as conn:
        assert conn is None


def test_outbox_listing_matches_the_sqlalchemy_query(ledger: Path) -> None:
    from models import outbox
    from models.outbox_read import list_messages_sqlite

    moment = dt.datetime(2024, 7, 8, 1, 30, 5, 123456, tzinfo=dt.UTC)
    common = {"sender": "督办 <duban@example.org>", "cc": [], "run_date": dt.date(2024, 7, 8),
              "recipient_states": None}
    with session_scope() as session:
        outbox.queue(session, [
            {**common, "key": "a", "message_id": "<a@x>", "kind": "unit-notice", "unit_id": "xuhui",
             "to": ["徐汇 <xuhui@example.org>", "lead@example.org"], "subject": "关于报送的提醒",
             "state": "queued", "attempts": 1, "last_error": "451 稍后再试",
             "next_attempt_at": moment + dt.timedelta(minutes=5),
             "recipient_states": {"lead@example.org": {"state": "sent", "reply": "250 OK"}}},
            {**common, "key": "b", "message_id": "<b@x>", "kind": "digest", "to": ["boss@example.org"],
             "cc": ["office@example.org"], "subject": "进度简报", "state": "sent", "attempts": 1,
             "sent_at": moment},
            {**common, "key": "c", "message_id": "<c@x>", "kind": "coordinator-list",
             "to": ["office@example.org"], "subject": "督导检查名单", "state": "failed", "attempts": 5,
             "last_error": "550 拒收"},
        ])
    with session_scope() as session:
        expected = {state: outbox.list_messages(session, state=state)
                    for state in (None, "queued", "sent", "failed", "sending")}
    fields = ("id", "key", "message_id", "kind", "run_date", "unit_id", "sender", "to", "cc",
              "subject", "state", "attempts", "last_error", "created_at", "next_attempt_at",
              "sent_at", "recipient_states")
    with sqlite_reader() as conn:
        assert conn is not None
        for state, orm_rows in expected.items():
            rows = list_messages_sqlite(conn, state=state)
            assert [[getattr(r, f) for f in fields] for r in rows] == \
                [[getattr(r, f) for f in fields] for r in orm_rows]
    assert [r.key for r in expected[None]] == ["a", "b", "c"]
    assert expected["queued"][0].recipient_states == {"lead@example.org": {"state": "sent", "reply": "250 OK"}}
    assert expected["sent"][0].sent_at == moment
