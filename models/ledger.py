"""Reads and writes of ledger entries and submissions.  Small functions taking a session."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from models.tables import AuditLog, LedgerEntry, Milestone, Submission, Task, Unit, utcnow
from plan.errors import DubanError


@dataclass(frozen=True)
class EntryRow:
    """A ledger entry joined with its unit, milestone and task, ready for the rules."""

    id: int
    unit_id: str
    unit_name: str
    milestone_id: str
    milestone_title: str
    kind: str
    task_number: int | None
    task_title: str | None
    due: dt.date
    submitted_on: dt.date | None
    waived: bool
    report_id: str | None


def entry_rows(session: Session, *, unit: str | None = None, task: int | None = None,
               milestone: str | None = None) -> list[EntryRow]:
    """Live entries in one query.  A milestone tied to a report counts as submitted/waived
    when the same unit's entry for that report is."""
    e, rep = LedgerEntry, aliased(LedgerEntry)
    submitted = func.coalesce(e.submitted_on, rep.submitted_on)
    waived = case((e.status == "waived", True), (rep.status == "waived", True), else_=False)
    query = (
        select(e.id, e.unit_id, Unit.name, e.milestone_id, Milestone.title, Milestone.kind,
               Milestone.task_number, Task.title, e.due, submitted, waived, Milestone.report_id)
        .join(Unit, Unit.id == e.unit_id)
        .join(Milestone, Milestone.id == e.milestone_id)
        .outerjoin(Task, Task.number == Milestone.task_number)
        .outerjoin(rep, and_(rep.milestone_id == Milestone.report_id, rep.unit_id == e.unit_id))
        .where(e.archived_at.is_(None))  # type: ignore[union-attr]
        .order_by(e.due, Milestone.task_number, e.milestone_id, e.unit_id)
    )
    if unit:
        query = query.where(e.unit_id == unit)
    if task is not None:
        query = query.where(Milestone.task_number == task)
    if milestone:
        query = query.where(e.milestone_id == milestone)
    return [EntryRow(*row) for row in session.execute(query)]


def _suggest(word: str, choices: list[str], fallback: str) -> str:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"是不是「{found[0]}」？" if found else fallback


def get_unit(session: Session, unit_id: str) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or unit.archived_at is not None:
        ids = list(session.execute(select(Unit.id).where(Unit.archived_at.is_(None))).scalars())  # type: ignore[union-attr]
        if not ids:
            raise DubanError("台账是空的，还没有同步方案", "先运行 duban sync")
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
        select(LedgerEntry).where(LedgerEntry.unit_id == unit_id,
                                  LedgerEntry.milestone_id == milestone_id,
                                  LedgerEntry.archived_at.is_(None))  # type: ignore[union-attr]
    ).scalar_one_or_none()
    if entry is None:
        owed = list(session.execute(
            select(LedgerEntry.milestone_id).where(LedgerEntry.unit_id == unit_id,
                                                   LedgerEntry.archived_at.is_(None))  # type: ignore[union-attr]
        ).scalars())
        exists = session.get(Milestone, milestone_id)
        if exists is None or exists.archived_at is not None:
            raise DubanError(f"没有编号为「{milestone_id}」的节点",
                             _suggest(milestone_id, owed, "节点编号见 plan.yaml 的 reports: 和各任务的 milestones:"))
        raise DubanError(f"单位「{unit_id}」不需要报送「{milestone_id}」",
                         _suggest(milestone_id, owed, "运行 duban status --unit " + unit_id + " 查看该单位的节点"))
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
            select(Submission).where(Submission.entry_id == entry.id)
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
    entry = get_entry(session, unit_id=unit_id, milestone_id=milestone_id)
    entry.status = "waived"
    entry.waived_reason = reason
    entry.updated_at = utcnow()
    session.add(entry)
    audit(session, actor=actor, action="entry.waive", object_type="entry",
          object_id=f"{milestone_id}/{unit_id}", detail={"reason": reason})
    return entry


def is_synced(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() > 0
