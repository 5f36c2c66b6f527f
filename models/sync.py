"""Bring the ledger in line with a validated plan, set-based, in the caller's transaction.

Adds what is new, updates what changed, archives what was removed (never deletes: a
submission must always find its entry), and restores what comes back.  Running it
twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session, SQLModel

from models.db import refresh_statistics
from models.sync_read import PLAN_ROW, plan_fingerprint
from models.tables import AuditLog, LedgerEntry, Milestone, SyncState, Task, Unit, utcnow
from plan.model import Plan

KINDS = {"unit": "单位", "task": "任务", "milestone": "节点", "entry": "台账条目"}


@dataclass
class SyncDiff:
    added: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)
    archived: dict[str, list[str]] = field(default_factory=dict)
    restored: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(v for part in (self.added, self.changed, self.archived, self.restored)
                       for v in part.values())

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: {k: len(v) for k, v in part.items() if v}
                for name, part in (("added", self.added), ("changed", self.changed),
                                   ("archived", self.archived), ("restored", self.restored))}


def _sync_rows(session: Session, model: type[SQLModel], key: str, desired: dict[Any, dict[str, Any]],
               kind: str, diff: SyncDiff, now: dt.datetime, audit: list[dict[str, Any]],
               actor: str) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    pk = table.c[key]
    columns = list(next(iter(desired.values())).keys()) if desired else []
    query = select(pk, table.c.archived_at, *[table.c[c] for c in columns])
    if "origin" in table.c:  # rows duban created itself (整改, 请示) are not the plan's to archive
        query = query.where(table.c.origin == "plan")
    existing = {row[0]: row for row in session.execute(query)}
    inserts, updates = [], []
    for ident, values in desired.items():
        row = existing.get(ident)
        if row is None:
            inserts.append({key: ident, **values})
            diff.added.setdefault(kind, []).append(str(ident))
            audit.append(_audit(actor, "sync.add", kind, ident, values))
            continue
        before = {c: row[i + 2] for i, c in enumerate(columns)}
        restored = row[1] is not None
        if before != values or restored:
            updates.append({"_key": ident, "archived_at": None, **values})
            changes = {c: [_plain(before[c]), _plain(values[c])] for c in columns if before[c] != values[c]}
            if restored:
                diff.restored.setdefault(kind, []).append(str(ident))
            if changes:
                diff.changed.setdefault(kind, []).append(str(ident))
            audit.append(_audit(actor, "sync.restore" if restored else "sync.change", kind, ident,
                                changes))
    gone = [ident for ident, row in existing.items() if ident not in desired and row[1] is None]
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(update(table).where(pk == bindparam("_key")),
                        updates, execution_options={"synchronize_session": False})
    if gone:
        session.execute(update(table).where(pk.in_(gone)).values(archived_at=now),
                        execution_options={"synchronize_session": False})
        diff.archived.setdefault(kind, []).extend(str(g) for g in gone)
        audit.extend(_audit(actor, "sync.archive", kind, g, {}) for g in gone)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _audit(actor: str, action: str, kind: str, ident: Any, detail: dict[str, Any]) -> dict[str, Any]:
    return {"actor": actor, "action": action, "object_type": kind, "object_id": str(ident),
            "detail": {k: _plain(v) for k, v in detail.items()}}


def _sync_entries(session: Session, plan: Plan, diff: SyncDiff, now: dt.datetime,
                  audit: list[dict[str, Any]], actor: str) -> None:
    table = LedgerEntry.__table__  # type: ignore[attr-defined]
    c = table.c
    desired = {(o.milestone, o.unit): o.due for o in plan.obligations()}
    milestones = Milestone.__table__  # type: ignore[attr-defined]
    existing = {(r.milestone_id, r.unit_id): r for r in session.execute(
        select(c.id, c.milestone_id, c.unit_id, c.due, c.archived_at)
        .join(milestones, milestones.c.id == c.milestone_id)
        .where(milestones.c.origin == "plan"))}
    inserts, updates = [], []
    added: dict[str, list[str]] = {}
    changed: dict[str, list[str]] = {}
    restored: dict[str, list[str]] = {}
    moved: dict[str, list[Any]] = {}  # milestone → [old due, new due], for the audit log
    for (milestone, unit), due in desired.items():
        row = existing.get((milestone, unit))
        if row is None:
            inserts.append({"milestone_id": milestone, "unit_id": unit, "due": due, "status": "open",
                            "created_at": now, "updated_at": now})
            added.setdefault(milestone, []).append(unit)
        elif row.due != due or row.archived_at is not None:
            updates.append({"_id": row.id, "due": due, "archived_at": None, "updated_at": now})
            # An entry that comes back is "restored" (with its submissions), not "changed".
            if row.archived_at is not None:
                restored.setdefault(milestone, []).append(unit)
            if row.due != due:
                changed.setdefault(milestone, []).append(unit)
                moved[milestone] = [_plain(row.due), _plain(due)]
    gone = [r.id for key, r in existing.items() if key not in desired and r.archived_at is None]
    archived: dict[str, list[str]] = {}
    for key, r in existing.items():
        if key not in desired and r.archived_at is None:
            archived.setdefault(key[0], []).append(key[1])
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(update(table).where(c.id == bindparam("_id")), updates,
                        execution_options={"synchronize_session": False})
    if gone:
        for start in range(0, len(gone), 5000):
            session.execute(update(table).where(c.id.in_(gone[start:start + 5000]))
                            .values(archived_at=now, updated_at=now),
                            execution_options={"synchronize_session": False})
    # Entries are audited per milestone: one row naming the units, not one row per entry.
    for action, group, target in (("sync.add", added, diff.added), ("sync.change", changed, diff.changed),
                                  ("sync.restore", restored, diff.restored),
                                  ("sync.archive", archived, diff.archived)):
        for milestone, units in group.items():
            target.setdefault("entry", []).extend(f"{milestone}/{u}" for u in units)
            detail: dict[str, Any] = {"units": units}
            if action == "sync.change":
                detail["due"] = moved[milestone]
            audit.append(_audit(actor, action, "entry", milestone, detail))


def stored_fingerprint(session: Session) -> str | None:
    """The fingerprint of the plan the last sync applied (None: none recorded)."""
    return session.execute(select(SyncState.fingerprint)  # type: ignore[call-overload]
                           .where(SyncState.name == PLAN_ROW)).scalar_one_or_none()


def _record_fingerprint(session: Session, fingerprint: str | None, now: dt.datetime) -> None:
    """Remember what was applied; a plan built in code has no fingerprint, and clears it."""
    session.execute(delete(SyncState).where(SyncState.name == PLAN_ROW))  # type: ignore[arg-type]
    if fingerprint is not None:
        session.execute(insert(SyncState), [{"name": PLAN_ROW, "fingerprint": fingerprint, "synced_at": now}])


def sync_ledger(session: Session, plan: Plan, *, actor: str = "duban sync") -> SyncDiff:
    """Apply ``plan`` to the ledger in the session's transaction and return the diff.

    A plan whose fingerprint the last sync recorded is already in the ledger: nothing to diff.
    """
    now = utcnow()
    diff = SyncDiff()
    fingerprint = plan_fingerprint(plan.source_sha256) if plan.source_sha256 else None
    if fingerprint is not None and stored_fingerprint(session) == fingerprint:
        return diff
    audit: list[dict[str, Any]] = []
    steps: list[tuple[type[SQLModel], str, Callable[[], dict[Any, dict[str, Any]]], str]] = [
        (Unit, "id", lambda: {u.id: {"name": u.name, "kind": u.kind, "role": u.resolved_role,
                                     "contacts": [c.model_dump() for c in u.contacts]}
                              for u in plan.units.values()}, "unit"),
        (Task, "number", lambda: {t.number: {"section": t.section,
                                             "section_title": plan.sections[t.section].title,
                                             "title": t.title, "summary": t.summary,
                                             "lead": list(plan.leads_of(t.number)),
                                             "owners_confirmed": t.owners_confirmed}
                                  for t in plan.tasks.values()}, "task"),
        (Milestone, "id", lambda: {m.id: {"task_number": m.task, "title": m.title, "kind": m.kind,
                                          "due": m.due, "report_id": m.report,
                                          "window_start": m.window_start,
                                          "window_end": m.window_end, "stats_table": m.stats_table,
                                          "formats": list(m.formats), "period": m.period,
                                          "source": m.source}
                                   for m in plan.milestones()}, "milestone"),
    ]
    for model, key, desired, kind in steps:
        _sync_rows(session, model, key, desired(), kind, diff, now, audit, actor)
    _sync_entries(session, plan, diff, now, audit, actor)
    refresh_statistics(session, ("ledger_entry", "milestone", "unit"), rows_written=sum(
        len(part.get("entry", [])) for part in (diff.added, diff.changed, diff.archived, diff.restored)))
    if audit:
        session.execute(insert(AuditLog.__table__), [{**a, "at": now} for a in audit])  # type: ignore[attr-defined]
    _record_fingerprint(session, fingerprint, now)
    return diff
