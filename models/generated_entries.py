"""Ledger entries duban creates itself (整改, 约谈, 请示答复) rather than reading from plan.yaml.

They are ordinary milestones and entries, marked by ``Milestone.origin``, so status,
the sweep and the digest treat them like any other; sync never archives them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, col

from models.ledger import mark_waived
from models.tables import AuditLog, LedgerEntry, Milestone, utcnow

CHUNK = 500  # ids per IN (...) query: well under every database's bound-parameter limit


def ensure_milestones(session: Session, wanted: Sequence[tuple[str, str, dt.date]], *, origin: str,
                      kind: str = "deadline") -> None:
    """The milestones (id, title, due), created where missing: one read of ids per chunk and
    one multi-row INSERT, no ORM objects (a national evaluation asks for ~1,000)."""
    ids = list(dict.fromkeys(mid for mid, _, _ in wanted))
    found: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(session.execute(
            select(col(Milestone.id)).where(col(Milestone.id).in_(ids[start:start + CHUNK]))).scalars())
    new: dict[str, dict[str, Any]] = {}
    for mid, title, due in wanted:
        if mid not in found and mid not in new:
            new[mid] = {"id": mid, "title": title, "kind": kind, "due": due, "origin": origin,
                        "formats": [], "stats_table": False, "source": "seed"}
    if new:
        session.execute(insert(Milestone), list(new.values()))


def ensure_milestone(session: Session, *, milestone_id: str, title: str, due: dt.date, origin: str,
                     kind: str = "deadline") -> None:
    ensure_milestones(session, [(milestone_id, title, due)], origin=origin, kind=kind)


def ensure_entries(session: Session, wanted: Sequence[tuple[str, str, dt.date]], *, actor: str) -> None:
    """The open entries (milestone, unit, due); a waived one is reopened (its reason cleared).

    One read per chunk of milestones; new entries and all the audit lines (each creation and
    reopening, in the order asked for) go in as multi-row INSERTs, not ORM objects: ~2,000
    entries and their audit lines were a quarter of a national evaluation.
    """
    keys = {(mid, unit) for mid, unit, _ in wanted}
    milestones = list(dict.fromkeys(mid for mid, _, _ in wanted))
    found: dict[tuple[str, str], LedgerEntry] = {}
    for start in range(0, len(milestones), CHUNK):
        for entry in session.execute(select(LedgerEntry).where(
                col(LedgerEntry.milestone_id).in_(milestones[start:start + CHUNK]))).scalars():
            if (entry.milestone_id, entry.unit_id) in keys:
                found[(entry.milestone_id, entry.unit_id)] = entry
    now = utcnow()
    created: dict[tuple[str, str], dict[str, Any]] = {}
    audits: list[dict[str, Any]] = []
    for mid, unit, due in wanted:
        entry = found.get((mid, unit))
        if entry is None:
            if (mid, unit) in created:
                continue
            created[(mid, unit)] = {"milestone_id": mid, "unit_id": unit, "due": due, "status": "open",
                                    "created_at": now, "updated_at": now}
            audits.append({"at": now, "actor": actor, "action": "entry.create", "object_type": "entry",
                           "object_id": f"{mid}/{unit}", "detail": {"due": due.isoformat()}})
        elif entry.status == "waived":
            entry.status = "submitted" if entry.submitted_on else "open"
            entry.waived_reason = None
            entry.updated_at = now
            session.add(entry)
            audits.append({"at": now, "actor": actor, "action": "entry.reopen", "object_type": "entry",
                           "object_id": f"{mid}/{unit}", "detail": {}})
    if created:
        session.execute(insert(LedgerEntry), list(created.values()))
    if audits:
        session.execute(insert(AuditLog), audits)


def ensure_entry(session: Session, *, milestone_id: str, unit_id: str, due: dt.date, actor: str) -> None:
    """The open entry for (milestone, unit); a waived one is reopened (its reason is cleared)."""
    ensure_entries(session, [(milestone_id, unit_id, due)], actor=actor)


def waive(session: Session, *, milestone_id: str, unit_id: str, reason: str, actor: str) -> None:
    entry = session.execute(
        select(LedgerEntry).where(col(LedgerEntry.milestone_id) == milestone_id,
                                  col(LedgerEntry.unit_id) == unit_id)
    ).scalar_one_or_none()
    if entry is None or entry.status == "waived":
        return
    mark_waived(session, entry, reason=reason, actor=actor)
