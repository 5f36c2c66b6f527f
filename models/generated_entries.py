"""Ledger entries duban creates itself (整改, 约谈, 请示答复) rather than reading from plan.yaml.

They are ordinary milestones and entries, marked by ``Milestone.origin``, so status,
the sweep and the digest treat them like any other; sync never archives them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import Session, col

from models.ledger import audit, mark_waived
from models.tables import LedgerEntry, Milestone, utcnow


def ensure_milestone(session: Session, *, milestone_id: str, title: str, due: dt.date, origin: str,
                     kind: str = "deadline") -> Milestone:
    milestone = session.get(Milestone, milestone_id)
    if milestone is None:
        milestone = Milestone(id=milestone_id, title=title, kind=kind, due=due, origin=origin)
        session.add(milestone)
        session.flush()
    return milestone


def ensure_entry(session: Session, *, milestone_id: str, unit_id: str, due: dt.date,
                 actor: str) -> LedgerEntry:
    """The open entry for (milestone, unit); a waived one is reopened (its reason is cleared)."""
    entry = session.execute(
        select(LedgerEntry).where(col(LedgerEntry.milestone_id) == milestone_id,
                                  col(LedgerEntry.unit_id) == unit_id)
    ).scalar_one_or_none()
    if entry is None:
        entry = LedgerEntry(milestone_id=milestone_id, unit_id=unit_id, due=due)
        session.add(entry)
        session.flush()
        audit(session, actor=actor, action="entry.create", object_type="entry",
              object_id=f"{milestone_id}/{unit_id}", detail={"due": due.isoformat()})
    elif entry.status == "waived":
        entry.status = "submitted" if entry.submitted_on else "open"
        entry.waived_reason = None
        entry.updated_at = utcnow()
        session.add(entry)
        audit(session, actor=actor, action="entry.reopen", object_type="entry",
              object_id=f"{milestone_id}/{unit_id}", detail={})
    return entry


def waive(session: Session, *, milestone_id: str, unit_id: str, reason: str, actor: str) -> None:
    entry = session.execute(
        select(LedgerEntry).where(col(LedgerEntry.milestone_id) == milestone_id,
                                  col(LedgerEntry.unit_id) == unit_id)
    ).scalar_one_or_none()
    if entry is None or entry.status == "waived":
        return
    mark_waived(session, entry, reason=reason, actor=actor)
