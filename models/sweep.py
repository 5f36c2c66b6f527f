"""The sweep: one set-based pass over the ledger that fires the ladder's rungs and queues
one message per recipient in the outbox, in one transaction.

Reads are two queries (open entries within the ladder's horizon; their fired rungs),
writes are two bulk inserts (escalations; outbox rows), whatever the number of entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session, col

from models.locks import take_lock, upsert
from models.tables import Escalation, LedgerEntry, Milestone, utcnow
from notifications.notice import Notice, UnmatchedFile
from notifications.unmatched import with_unmatched
from plan.ladder import Candidate, Firing, Ladder, Router
from plan.model import Plan
from plan.workdays import WorkCalendar


@dataclass
class SweepResult:
    today: dt.date
    working_day: bool
    entries_checked: int = 0
    fired: list[Firing] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)

    @property
    def escalations(self) -> int:
        return len(self.fired)


def open_candidates(session: Session, *, today: dt.date, horizon: dt.date) -> list[Candidate]:
    """Entries not submitted (as of today), not waived, due by ``horizon``.

    Milestones tied to a report are left out: they follow their report's entry.
    """
    e = LedgerEntry
    rows = session.execute(
        select(col(e.id), col(e.unit_id), col(e.milestone_id), col(Milestone.title),
               col(Milestone.task_number), col(e.due))
        .join(Milestone, col(Milestone.id) == col(e.milestone_id))
        .where(col(e.archived_at).is_(None), col(Milestone.archived_at).is_(None),
               col(Milestone.report_id).is_(None), col(e.status) != "waived",
               or_(col(e.submitted_on).is_(None), col(e.submitted_on) > today),
               col(e.due) <= horizon)
    )
    return [Candidate(*row) for row in rows]


def fired_rungs(session: Session, *, today: dt.date, horizon: dt.date) -> dict[int, set[str]]:
    e = LedgerEntry
    rows = session.execute(
        select(col(Escalation.entry_id), col(Escalation.rung_id))
        .join(e, col(e.id) == col(Escalation.entry_id))
        .where(col(e.archived_at).is_(None), col(e.due) <= horizon,
               or_(col(e.submitted_on).is_(None), col(e.submitted_on) > today))
    )
    fired: dict[int, set[str]] = {}
    for entry_id, rung_id in rows:
        fired.setdefault(entry_id, set()).add(rung_id)
    return fired


def run_sweep(session: Session, *, plan: Plan, today: dt.date, sender: str | None = None,
              lock: bool = True, unmatched: Sequence[UnmatchedFile] = ()) -> SweepResult:
    """Fire due rungs and queue messages as of ``today``.  The caller commits (or, for a
    preview, rolls back).  ``unmatched`` (files intake could not place) are listed in the
    coordinator's message, which is sent for them alone when nothing else is due."""
    from models.outbox import queue
    from notifications.compose import default_sender, outbox_row
    from notifications.render import render_notice

    calendar = WorkCalendar(plan.calendar)
    result = SweepResult(today=today, working_day=calendar.sends_on(today))
    if not result.working_day:
        return result
    if lock:
        take_lock(session, "sweep")
    ladder = Ladder(plan, calendar, today)
    horizon = ladder.horizon()
    candidates = open_candidates(session, today=today, horizon=horizon)
    result.entries_checked = len(candidates)
    firings = ladder.firings(candidates, fired_rungs(session, today=today, horizon=horizon))
    router = Router(plan, today)
    result.notices = with_unmatched(router.notices(firings), plan=plan, today=today, unmatched=unmatched)
    result.undeliverable = sorted(router.undeliverable)
    result.fired = firings
    sender = sender or default_sender(plan.meta.mailbox)
    rows = [outbox_row(n, render_notice(n), sender=sender) for n in result.notices]
    key_of: dict[tuple[int, str], str] = {}
    recipients: dict[tuple[int, str], list[str]] = {}
    # An escalation remembers the message that told the unit itself, when there is one.
    pairs = sorted(zip(result.notices, rows, strict=True), key=lambda pair: pair[0].kind != "unit-notice")
    for notice, row in pairs:
        for item in notice.items:
            key_of.setdefault((item.entry_id, item.rung_id), row["key"])
            recipients.setdefault((item.entry_id, item.rung_id), []).extend(notice.to)
    if firings:
        now = utcnow()
        escalations = [{
            "entry_id": f.candidate.entry_id, "rung_id": f.rung.id, "kind": f.rung.kind,
            "fired_on": today, "created_at": now,
            "recipients": recipients.get((f.candidate.entry_id, f.rung.id), []),
            "message_key": key_of.get((f.candidate.entry_id, f.rung.id)),
        } for f in firings]
        statement = upsert(session, Escalation.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=["entry_id", "rung_id"])
        for start in range(0, len(escalations), 20000):
            session.execute(statement, escalations[start:start + 20000])
    result.queued = queue(session, rows) if rows else []
    return result


@dataclass(frozen=True)
class SupervisedEntry:
    entry_id: int
    unit_id: str
    milestone_id: str
    due: dt.date
    rung_kind: str
    fired_on: dt.date


def supervision_list(session: Session, *, today: dt.date,
                     kinds: tuple[str, ...] = ("supervise", "interview")) -> list[SupervisedEntry]:
    """Entries still open today that reached the 督导检查 (or 约谈) rung: the current list."""
    e = LedgerEntry
    rows = session.execute(
        select(col(e.id), col(e.unit_id), col(e.milestone_id), col(e.due), col(Escalation.kind),
               func.min(col(Escalation.fired_on)))
        .join(Escalation, and_(col(Escalation.entry_id) == col(e.id), col(Escalation.kind).in_(kinds)))
        .where(col(e.archived_at).is_(None), col(e.status) != "waived", col(Escalation.fired_on) <= today,
               or_(col(e.submitted_on).is_(None), col(e.submitted_on) > today))
        .group_by(col(e.id), col(e.unit_id), col(e.milestone_id), col(e.due), col(Escalation.kind))
        .order_by(col(e.unit_id), col(e.due))
    )
    return [SupervisedEntry(*row) for row in rows]
