"""Reads and writes of ledger entries and submissions.  Small functions taking a session."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from models.db import in_code_order
from models.driver_rows import Days, driver_rows
from models.ledger_read import EntryRow
from models.tables import AuditLog, LedgerEntry, Milestone, Submission, Task, Unit, utcnow
from plan.errors import DubanError


def entry_rows(session: Session, *, unit: str | None = None, task: int | None = None,
               milestone: str | None = None) -> list[EntryRow]:
    """Live entries, in order of due date, task, milestone and unit.  A milestone tied to a
    report counts as submitted/waived when the same unit's entry for that report is.

    The entries are read alone (joined only to filter and order) and completed from the
    units, milestones and tasks read once: selecting every entry's unit name, milestone
    title and task title made SQLite carry those strings through its sort, and the report
    self-join probed the index for each of 200,000 entries at national scale, most of the
    read's time.  The report entries are read once, for the milestones tied to a report.

    The order is the same on both backends: reports (no task) first among one day's entries,
    as SQLite puts NULL first and PostgreSQL last unless told; ids by code point.
    """
    e = LedgerEntry
    query = (
        select(col(e.id), col(e.unit_id), col(e.milestone_id), col(e.due), col(e.submitted_on), col(e.status))
        .join(Unit, col(Unit.id) == col(e.unit_id))
        .join(Milestone, col(Milestone.id) == col(e.milestone_id))
        .where(col(e.archived_at).is_(None))
        .order_by(col(e.due), col(Milestone.task_number).nulls_first(), in_code_order(session, col(e.milestone_id)),
                  in_code_order(session, col(e.unit_id)))
    )
    if unit:
        query = query.where(col(e.unit_id) == unit)
    if task is not None:
        query = query.where(col(Milestone.task_number) == task)
    if milestone:
        query = query.where(col(e.milestone_id) == milestone)
    names: dict[str, str] = dict(session.execute(select(col(Unit.id), col(Unit.name))).tuples().all())
    tasks: dict[int, str] = dict(session.execute(select(col(Task.number), col(Task.title))).tuples().all())
    milestones: dict[str, tuple[str, str, str, int | None, str | None, str | None]] = {
        mid: (mid, title, kind, number, tasks.get(number) if number is not None else None, report)
        for mid, title, kind, number, report in session.execute(
            select(col(Milestone.id), col(Milestone.title), col(Milestone.kind), col(Milestone.task_number),
                   col(Milestone.report_id))).tuples()}
    days = Days()
    reports = {m[5] for m in milestones.values() if m[5] is not None}
    # (report milestone, unit) → (submitted_on, waived) of the unit's report entry
    delivered: dict[tuple[str, str], tuple[dt.date | None, bool]] = {}
    if reports:
        for mid, uid, sub, status in driver_rows(session, select(
                col(e.milestone_id), col(e.unit_id), col(e.submitted_on), col(e.status))
                .where(col(e.milestone_id).in_(sorted(reports)))):
            delivered[(mid, uid)] = (days[sub], status == "waived")
    unit_ids: dict[str, str] = {u: u for u in names}  # one string object per id
    out: list[EntryRow] = []
    add = out.append
    for id_, u, m, due, sub, status in driver_rows(session, query):
        mid, title, kind, number, task_title, report = milestones[m]
        waived = status == "waived"
        submitted = days[sub]
        if report is not None:
            rep = delivered.get((report, u))
            if rep is not None:
                submitted = submitted if submitted is not None else rep[0]
                waived = waived or rep[1]
        u = unit_ids[u]
        add(EntryRow(id_, u, names[u], mid, title, kind, number, task_title, days[due], submitted, waived, report))
    return out


def _suggest(word: str, choices: list[str], fallback: str) -> str:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"是不是「{found[0]}」？" if found else fallback


def get_unit(session: Session, unit_id: str) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or unit.archived_at is not None:
        ids = list(session.execute(select(col(Unit.id)).where(col(Unit.archived_at).is_(None))).scalars())
        if not ids:
            raise DubanError(NOT_SYNCED, "先运行 duban sync")
        raise DubanError(f"没有编号为「{unit_id}」的单位",
                         _suggest(unit_id, ids, "单位编号见 plan.yaml 的 units:，或运行 duban status"))
    return unit


def get_task(session: Session, number: int) -> Task:
    task = session.get(Task, number)
    if task is None or task.archived_at is not None:
        raise DubanError(f"没有序号为 {number} 的任务", "任务序号是 1–18，见 plan.yaml 的 tasks:")
    return task


def get_entry(session: Session, *, unit_id: str, milestone_id: str) -> LedgerEntry:
    get_unit(session, unit_id)
    entry = session.execute(
        select(LedgerEntry).where(col(LedgerEntry.unit_id) == unit_id,
                                  col(LedgerEntry.milestone_id) == milestone_id,
                                  col(LedgerEntry.archived_at).is_(None))
    ).scalar_one_or_none()
    if entry is None:
        owed = list(session.execute(
            select(col(LedgerEntry.milestone_id)).where(col(LedgerEntry.unit_id) == unit_id,
                                                        col(LedgerEntry.archived_at).is_(None))
        ).scalars())
        exists = session.get(Milestone, milestone_id)
        if exists is None or exists.archived_at is not None:
            raise DubanError(f"没有编号为「{milestone_id}」的节点",
                             _suggest(milestone_id, owed, "节点编号见 plan.yaml 的 reports: 和各任务的 milestones:"))
        # The milestone exists, so a near-miss spelling is not the problem: say who owes it.
        owers = list(session.execute(
            select(col(LedgerEntry.unit_id)).where(col(LedgerEntry.milestone_id) == milestone_id,
                                                   col(LedgerEntry.archived_at).is_(None))
            .order_by(in_code_order(session, col(LedgerEntry.unit_id)))).scalars())
        who = "、".join(owers[:5]) + (f" 等 {len(owers)} 个单位" if len(owers) > 5 else "")
        raise DubanError(f"单位「{unit_id}」不需要报送「{milestone_id}」",
                         (f"「{milestone_id}」由 {who} 报送；" if owers else "")
                         + f"查看该单位的节点：duban status --unit {unit_id} --all")
    return entry


def audit(session: Session, *, actor: str, action: str, object_type: str, object_id: str,
          detail: dict[str, Any]) -> None:
    session.add(AuditLog(actor=actor, action=action, object_type=object_type,
                         object_id=object_id, detail=detail))


@dataclass(frozen=True)
class Recorded:
    submission: Submission
    entry: LedgerEntry
    late: bool
    duplicate: bool


def record_submission(session: Session, *, unit_id: str, milestone_id: str,
                      submitted_on: dt.date, source: str, actor: str, note: str | None = None,
                      files: list[dict[str, Any]] | None = None) -> Recorded:
    """Record what a unit delivered.  Late submissions are kept and marked late.

    The same set of files recorded again for the same entry is not recorded twice.
    """
    entry = get_entry(session, unit_id=unit_id, milestone_id=milestone_id)
    files = files or []
    if files:
        wanted = sorted(f["sha256"] for f in files)
        for earlier in session.execute(
            select(Submission).where(col(Submission.entry_id) == entry.id)
        ).scalars():
            if sorted(f["sha256"] for f in earlier.files) == wanted:
                return Recorded(earlier, entry, earlier.late, duplicate=True)
    late = submitted_on > entry.due
    submission = Submission(entry_id=entry.id, unit_id=unit_id, milestone_id=milestone_id,  # type: ignore[arg-type]
                            submitted_on=submitted_on, late=late, source=source, actor=actor,
                            note=note, files=files)
    session.add(submission)
    if entry.submitted_on is None or submitted_on < entry.submitted_on:
        entry.submitted_on = submitted_on
    if entry.status == "open":
        entry.status = "submitted"
    entry.updated_at = utcnow()
    session.add(entry)
    session.flush()
    audit(session, actor=actor, action="submission.record", object_type="entry",
          object_id=f"{milestone_id}/{unit_id}",
          detail={"submission": submission.id, "submitted_on": submitted_on.isoformat(),
                  "late": late, "source": source, "files": [f["sha256"] for f in files]})
    return Recorded(submission, entry, late, duplicate=False)


def waive_entry(session: Session, *, unit_id: str, milestone_id: str, reason: str,
                actor: str) -> LedgerEntry:
    return mark_waived(session, get_entry(session, unit_id=unit_id, milestone_id=milestone_id),
                       reason=reason, actor=actor)


def mark_waived(session: Session, entry: LedgerEntry, *, reason: str, actor: str) -> LedgerEntry:
    """Waive ``entry`` (no more reminders) and audit who did it and why."""
    entry.status = "waived"
    entry.waived_reason = reason
    entry.updated_at = utcnow()
    session.add(entry)
    audit(session, actor=actor, action="entry.waive", object_type="entry",
          object_id=f"{entry.milestone_id}/{entry.unit_id}", detail={"reason": reason})
    return entry


def is_synced(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() > 0


NOT_SYNCED = "台账是空的，还没有同步方案"


def require_synced(session: Session, *, hint: str = "先运行 duban sync") -> None:
    """Refuse to work on an empty ledger, with the one message every command uses."""
    if not is_synced(session):
        raise DubanError(NOT_SYNCED, hint)
