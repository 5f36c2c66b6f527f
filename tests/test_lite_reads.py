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
