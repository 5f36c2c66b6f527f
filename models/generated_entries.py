"""Ledger entries duban creates itself (整改, 约谈, 请示答复) rather than reading from plan.yaml.

They are ordinary milestones and entries, marked by ``Milestone.origin``, so status,
the sweep and the digest treat them like any other; sync never archives them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from models.ledger import audit, mark_waived
from models.tables import LedgerEntry, Milestone, utcnow

CHUNK = 500  # ids per IN (...) query: well under every database's bound-parameter limit


def ensure_milestones(session: Session, wanted: Sequence[tuple[str, str, dt.date]], *, origin: str,
                      kind: str = "deadline") -> dict[str, Milestone]:
    """The milestones (id, title, due), created where missing: one read per chunk of ids and
    one flush, not a get and a flush each (a national evaluation asks for ~1,000)."""
    ids = list(dict.fromkeys(mid for mid, _, _ in wanted))
    found: dict[str, Milestone] = {}
    for start in range(0, len(ids), CHUNK):
        found.update((m.id, m) for m in session.execute(
            select(Milestone).where(col(Milestone.id).in_(ids[start:start + CHUNK]))).scalars())
    new = []
    for mid, title, due in wanted:
        if mid not in found:
            found[mid] = Milestone(id=mid, title=title, kind=kind, due=due, origin=origin)
            new.append(found[mid])
    if new:
        session.add_all(new)
        session.flush()
    return found


def ensure_milestone(session: Session, *, milestone_id: str, title: str, due: dt.date, origin: str,
                     kind: str = "deadline") -> Milestone:
    return ensure_milestones(session, [(milestone_id, title, due)], origin=origin, kind=kind)[milestone_id]


def ensure_entries(session: Session, wanted: Sequence[tuple[str, str, dt.date]], *,
                   actor: str) -> dict[tuple[str, str], LedgerEntry]:
    """The open entries (milestone, unit, due); a waived one is reopened (its reason cleared).

    One read per chunk of milestones and one flush for all new rows, each creation and
    reopening audited as before, in the order asked for.
    """
    keys = {(mid, unit) for mid, unit, _ in wanted}
    milestones = list(dict.fromkeys(mid for mid, _, _ in wanted))
    found: dict[tuple[str, str], LedgerEntry] = {}
    for start in range(0, len(milestones), CHUNK):
        for entry in session.execute(select(LedgerEntry).where(
                col(LedgerEntry.milestone_id).in_(milestones[start:start + CHUNK]))).scalars():
            if (entry.milestone_id, entry.unit_id) in keys:
                found[(entry.milestone_id, entry.unit_id)] = entry
    created: list[tuple[str, str, dt.date]] = []
    for mid, unit, due in wanted:
        entry = found.get((mid, unit))
        if entry is None:
            found[(mid, unit)] = LedgerEntry(milestone_id=mid, unit_id=unit, due=due)
            created.append((mid, unit, due))
        elif entry.status == "waived":
            entry.status = "submitted" if entry.submitted_on else "open"
            entry.waived_reason = None
            entry.updated_at = utcnow()
            session.add(entry)
            audit(session, actor=actor, action="entry.reopen", object_type="entry",
                  object_id=f"{mid}/{unit}", detail={})
    if created:
        session.add_all([found[(mid, unit)] for mid, unit, _ in created])
        session.flush()
        for mid, unit, due in created:
            audit(session, actor=actor, action="entry.create", object_type="entry",
                  object_id=f"{mid}/{unit}", detail={"due": due.isoformat()})
    return found


def ensure_entry(session: Session, *, milestone_id: str, unit_id: str, due: dt.date,
                 actor: str) -> LedgerEntry:
    """The open entry for (milestone, unit); a waived one is reopened (its reason is cleared)."""
    return ensure_entries(session, [(milestone_id, unit_id, due)], actor=actor)[(milestone_id, unit_id)]


def waive(session: Session, *, milestone_id: str, unit_id: str, reason: str, actor: str) -> None:
    entry = session.execute(
        select(LedgerEntry).where(col(LedgerEntry.milestone_id) == milestone_id,
                                  col(LedgerEntry.unit_id) == unit_id)
    ).scalar_one_or_none()
    if entry is None or entry.status == "waived":
        return
    mark_waived(session, entry, reason=reason, actor=actor)
