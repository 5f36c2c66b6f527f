"""plan.yaml → ledger: idempotent, archive-not-delete, changes propagate (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from models import ledger, sync_read
from models.db import get_engine, session_scope
from models.sync import SyncDiff, stored_fingerprint, sync_ledger
from models.sync_read import plan_fingerprint
from models.tables import AuditLog, LedgerEntry, Milestone, Submission
from plan import load_plan
from tests.conftest import table_snapshot
from tests.fixtures_plan import edit, shipped, write_plan


def _sync(workdir: Path, text: str) -> SyncDiff:
    write_plan(workdir, text)
    with session_scope() as session:
        return sync_ledger(session, load_plan("plan.yaml"), actor="测试员")


def _entries(milestone: str) -> dict[str, LedgerEntry]:
    with session_scope() as session:
        rows = session.execute(select(LedgerEntry).where(LedgerEntry.milestone_id == milestone)).scalars()
        return {e.unit_id: e for e in rows}


def _count(model: type) -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _without_block(text: str, start: str, end: str) -> str:
    """``text`` without the lines from ``start`` up to (not including) ``end``."""
    i, j = text.index(start), text.index(end)
    return text[:i] + text[j:]


def test_first_sync_adds_every_obligation(synced, db_url: str) -> None:
    rows = table_snapshot(db_url)
    assert len(rows["ledger_entry"]) == len(synced.obligations())
    assert len(rows["task"]) == 18
    assert len(rows["unit"]) == len(synced.units)
    assert len(rows["milestone"]) == len(synced.milestones())


def test_second_sync_changes_nothing(synced, db_url: str, workdir: Path) -> None:
    before = table_snapshot(db_url)
    audit_rows = _count(AuditLog)
    # A comment changes the file's bytes, so the whole diff runs (not the unchanged-plan skip)
    diff = _sync(workdir, shipped() + "\n# 注释\n")
    assert diff.empty, diff.counts()
    assert _count(AuditLog) == audit_rows
    assert {k: v for k, v in table_snapshot(db_url).items() if k != "sync_state"} == \
        {k: v for k, v in before.items() if k != "sync_state"}


def _statements_during(fn: Callable[[], object]) -> list[str]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def test_sync_records_the_plan_it_applied_and_skips_the_diff_only_for_that_plan(
        synced, workdir: Path) -> None:
    shipped_plan = load_plan("plan.yaml")
    with session_scope() as session:
        assert stored_fingerprint(session) == plan_fingerprint(shipped_plan.source_sha256)
    # The same bytes again: one read of the fingerprint, no diff.
    statements = _statements_during(lambda: _sync(workdir, shipped()))
    assert not any("ledger_entry" in s or "milestone" in s for s in statements), statements
    # An edited plan: the diff runs, and the new plan's fingerprint replaces the old one.
    diff = _sync(workdir, edit(("due: 2024-06-05", "due: 2024-06-07")))
    assert diff.changed["milestone"] == ["work-plan"]
    with session_scope() as session:
        assert stored_fingerprint(session) == plan_fingerprint(load_plan("plan.yaml").source_sha256)
        assert stored_fingerprint(session) != plan_fingerprint(shipped_plan.source_sha256)
    # A plan built in code has no file behind it: it is diffed, and clears the fingerprint,
    # so the shipped file is diffed (and its due date restored) next time.
    with session_scope() as session:
        sync_ledger(session, replace(shipped_plan, source_sha256=""), actor="测试员")
        assert stored_fingerprint(session) is None
    assert {e.due for e in _entries("work-plan").values()} == {dt.date(2024, 6, 5)}


def test_the_fingerprint_changes_with_the_code_that_builds_the_ledger(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = tmp_path / "sync.py"
    code.write_text("A = 1\n")
    monkeypatch.setattr(sync_read, "_CODE", (code,))
    sync_read._code_digest.cache_clear()
    before = plan_fingerprint("0" * 64)
    code.write_text("A = 2\n")
    sync_read._code_digest.cache_clear()
    assert plan_fingerprint("0" * 64) != before
    assert plan_fingerprint("1" * 64) != plan_fingerprint("0" * 64)
    sync_read._code_digest.cache_clear()


def test_removed_milestone_is_archived_not_deleted_and_comes_back(synced, db_url: str,
                                                                  workdir: Path) -> None:
    with session_scope() as session:
        ledger.record_submission(session, unit_id="pudong", milestone_id="t08-cste",
                                 submitted_on=dt.date(2024, 6, 18), source="cli", actor="测试员")
    without = _without_block(shipped(), "      - id: t08-cste\n", "      - id: t08-ciie\n")

    diff = _sync(workdir, without)
    assert diff.archived["milestone"] == ["t08-cste"]
    assert sorted(diff.archived["entry"]) == ["t08-cste/protection-centre", "t08-cste/pudong"]
    assert not diff.added and not diff.changed
    entries = _entries("t08-cste")
    assert set(entries) == {"pudong", "protection-centre"}
    assert all(e.archived_at is not None for e in entries.values())
    assert _count(Submission) == 1
    with session_scope() as session:
        assert not ledger.entry_rows(session, milestone="t08-cste")
        assert session.get(Milestone, "t08-cste").archived_at is not None

    diff = _sync(workdir, shipped())
    assert diff.restored["milestone"] == ["t08-cste"]
    assert sorted(diff.restored["entry"]) == ["t08-cste/protection-centre", "t08-cste/pudong"]
    assert not diff.changed and not diff.archived
    entries = _entries("t08-cste")
    assert all(e.archived_at is None for e in entries.values())
    assert entries["pudong"].submitted_on == dt.date(2024, 6, 18)
    with session_scope() as session:
        (row,) = ledger.entry_rows(session, unit="pudong", milestone="t08-cste")
        assert row.submitted_on == dt.date(2024, 6, 18)
        actions = [a for (a,) in session.execute(
            select(AuditLog.action).where(AuditLog.object_id == "t08-cste").order_by(AuditLog.id))]
    assert actions == ["sync.add", "sync.add", "sync.archive", "sync.archive", "sync.restore",
                       "sync.restore"]


def test_changed_due_date_propagates_to_entries(synced, workdir: Path) -> None:
    diff = _sync(workdir, edit(("due: 2024-06-05", "due: 2024-06-07")))
    assert diff.changed["milestone"] == ["work-plan"]
    assert len(diff.changed["entry"]) == len(_entries("work-plan"))
    assert {e.due for e in _entries("work-plan").values()} == {dt.date(2024, 6, 7)}
    with session_scope() as session:
        change = session.execute(select(AuditLog).where(AuditLog.action == "sync.change",
                                                        AuditLog.object_type == "entry")).scalar_one()
    assert change.actor == "测试员"
    assert change.detail["due"] == ["2024-06-05", "2024-06-07"]


def test_report_due_date_moves_the_milestones_tied_to_it(synced, workdir: Path) -> None:
    _sync(workdir, edit(("due: 2024-07-05", "due: 2024-07-10")))
    for milestone in ("half-year-summary", "t01-half-year", "t13-half-year"):
        assert {e.due for e in _entries(milestone).values()} == {dt.date(2024, 7, 10)}, milestone
    assert {e.due for e in _entries("t01-annual").values()} == {dt.date(2024, 12, 5)}


def test_unit_leaving_a_group_loses_its_entries_but_keeps_submissions(synced, workdir: Path) -> None:
    with session_scope() as session:
        ledger.record_submission(session, unit_id="lingang", milestone_id="t02-half-year",
                                 submitted_on=dt.date(2024, 7, 1), source="cli", actor="测试员")
    diff = _sync(workdir, edit(("members: [districts, lingang]", "members: [districts]")))
    assert "t02-half-year/lingang" in diff.archived["entry"]
    assert "half-year-summary/lingang" not in diff.archived["entry"]  # still a reporting unit
    assert _entries("t02-half-year")["lingang"].archived_at is not None
    assert _count(Submission) == 1


def test_new_milestone_is_added_for_its_units(synced, workdir: Path) -> None:
    text = edit(("      - id: t08-ciie\n", "      - id: t08-extra\n        title: 补充节点\n"
                 "        kind: deadline\n        due: 2024-09-30\n        units: [jingan]\n"
                 "      - id: t08-ciie\n"))
    diff = _sync(workdir, text)
    assert diff.added == {"milestone": ["t08-extra"], "entry": ["t08-extra/jingan"]}
    assert _entries("t08-extra")["jingan"].due == dt.date(2024, 9, 30)


def test_a_bulk_sync_refreshes_postgresql_planner_statistics(workdir: Path, db_url: str) -> None:
    """After loading the ledger PostgreSQL must know its size at once, not a minute later when
    autovacuum gets to it (its plans for the first sweep and evaluation depend on it)."""
    statements: list[str] = []
    engine = get_engine()

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        plan = load_plan("plan.yaml")
        with session_scope() as session:
            sync_ledger(session, plan, actor="测试员")  # the first sync: every entry is new
        first = [s for s in statements if s.startswith("ANALYZE")]
        statements.clear()
        _sync(workdir, shipped().replace("due: 2024-06-05", "due: 2024-06-07", 1))  # a few entries
        second = [s for s in statements if s.startswith("ANALYZE")]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    if db_url.startswith("postgresql"):
        assert first == ["ANALYZE ledger_entry, milestone, unit"]
        with session_scope() as session:
            analysed = session.execute(
                text("SELECT count(*) FROM pg_stats WHERE tablename = 'ledger_entry'")).scalar_one()
        assert analysed > 0
    else:
        assert first == []
    assert second == []
