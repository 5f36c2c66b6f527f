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


def test_status_reads_match_the_sqlalchemy_queries(ledger: Path, plan: object) -> None:
    """Submitted, waived (itself or through its report), reported done without evidence, a
    stats table without its summary, an empty progress report, an archived unit."""
    from decimal import Decimal

    from sqlalchemy import update

    from models import intake
    from models import ledger as ledger_model
    from models.ledger_read import (
        entry_rows_sqlite,
        is_synced_sqlite,
        live_task_sqlite,
        live_unit_sqlite,
        progress_flags_sqlite,
        reported_progress_sqlite,
    )
    from models.sync import sync_ledger
    from models.tables import Unit
    from plan.ledger_sheet import Progress

    with session_scope() as session:
        assert not ledger_model.is_synced(session)
    with sqlite_reader() as conn:
        assert conn is not None and not is_synced_sqlite(conn)
    with session_scope() as session:
        sync_ledger(session, plan)  # type: ignore[arg-type]
        ledger_model.record_submission(session, unit_id="pudong", milestone_id="work-plan",
                                       submitted_on=dt.date(2024, 6, 4), source="cli", actor="测试员")
        ledger_model.waive_entry(session, unit_id="xuhui", milestone_id="half-year-summary",
                                 reason="合并报送", actor="测试员")
        owned = {m: e for e, m in intake.owned_entries(session, unit_id="huangpu").items()}
        intake.record_progress(session, unit_id="huangpu", reported_on=dt.date(2024, 7, 1), source="ledger",
                               actor="测试员", rows={
                                   owned["half-year-summary"]: Progress("执法科", "张三", "done", 100, None),
                                   owned["work-plan"]: Progress(None, None, "in-progress", 40, "起草中"),
                                   owned["t02-half-year"]: Progress()})
        # done on an entry whose report is waived: nothing left to evidence, no flag
        tied = next(m.id for m in plan.milestones() if m.report == "half-year-summary")  # type: ignore[attr-defined]
        xuhui = {m: e for e, m in intake.owned_entries(session, unit_id="xuhui").items()}
        intake.record_progress(session, unit_id="xuhui", reported_on=dt.date(2024, 7, 1), source="ledger",
                               actor="测试员", rows={xuhui[tied]: Progress("科室", "李四", "done", 100, None)})
        intake.record_stats(session, unit_id="jingan", period="half-year", figures={"a": Decimal(1)},
                            received_on=dt.date(2024, 7, 3), source="stats", actor="测试员")
        session.execute(update(Unit).where(Unit.id == "lingang").values(archived_at=dt.datetime.now(dt.UTC)))
    filters: list[dict[str, object]] = [{}, {"unit": "huangpu"}, {"task": 2}, {"milestone": "half-year-summary"},
                                        {"unit": "xuhui", "task": 1}]
    with session_scope() as session:
        expected_rows = [ledger_model.entry_rows(session, **f) for f in filters]  # type: ignore[arg-type]
        expected_flags = intake.progress_flags(session)
        expected_progress = [intake.reported_progress(session, unit_id=u) for u in (None, "huangpu", "xuhui")]
    with sqlite_reader() as conn:
        assert conn is not None and is_synced_sqlite(conn)
        assert [entry_rows_sqlite(conn, **f) for f in filters] == expected_rows  # type: ignore[arg-type]
        assert progress_flags_sqlite(conn) == expected_flags
        assert [reported_progress_sqlite(conn, unit_id=u) for u in (None, "huangpu", "xuhui")] == expected_progress
        assert live_unit_sqlite(conn, "huangpu") and not live_unit_sqlite(conn, "lingang")
        assert not live_unit_sqlite(conn, "nowhere")
        assert live_task_sqlite(conn, 2) and not live_task_sqlite(conn, 99)
    # the cases above are really there, so the comparison compared something
    everything = {(r.unit_id, r.milestone_id): r for r in expected_rows[0]}
    assert everything["pudong", "work-plan"].submitted_on == dt.date(2024, 6, 4)
    assert everything["xuhui", "half-year-summary"].waived
    assert any(r.waived for (u, _), r in everything.items() if u == "xuhui" and r.report_id == "half-year-summary")
    assert sorted(set(expected_flags.values())) == ["已报完成，缺少佐证", "已收到统计表，总结未报送"]
    assert everything["xuhui", tied].id not in expected_flags
    assert len(expected_progress[1]) == 2  # the empty report is left out
