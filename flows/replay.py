"""``duban replay``: what the cycle would have sent on each working day of a period.

One process, no Prefect per day: the plan is synced once into a scratch SQLite ledger,
the real ledger's submissions (with their dates) are copied in, then the sweep runs for
each working day in order, exactly as the cycle's sweep step does.  Nothing is delivered
and the real ledger is only read — so coordinators can see what a plan change *would*
have sent, next to what the real outbox did send on those days.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from models.db import get_engine, session_scope
from models.sync import sync_ledger
from models.tables import LedgerEntry, OutboxMessage
from plan.model import Plan
from plan.workdays import WorkCalendar


@dataclass
class ReplayDay:
    day: dt.date
    entries_checked: int
    escalations: dict[str, int]
    messages: list[dict[str, Any]]
    actually_sent: int | None = None  # in the real outbox, for that day


@dataclass
class ReplayResult:
    start: dt.date
    end: dt.date
    days: list[ReplayDay] = field(default_factory=list)
    submissions_copied: int = 0
    seconds: float = 0.0

    @property
    def messages(self) -> int:
        return sum(len(d.messages) for d in self.days)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(), "to": self.end.isoformat(),
            "working_days": len(self.days), "messages": self.messages,
            "submissions_copied": self.submissions_copied, "seconds": round(self.seconds, 3),
            "days": [{"date": d.day.isoformat(), "entries_checked": d.entries_checked,
                      "escalations": d.escalations, "actually_sent": d.actually_sent,
                      "messages": d.messages} for d in self.days],
        }


def working_days(plan: Plan, start: dt.date, end: dt.date) -> list[dt.date]:
    calendar = WorkCalendar(plan.calendar)
    days = (start + dt.timedelta(days=n) for n in range((end - start).days + 1))
    return [day for day in days if calendar.sends_on(day)]


def _source_rows(source: Engine | None) -> tuple[list[dict[str, Any]], dict[dt.date, int]]:
    """Submitted/waived entries and sent-per-day of the real ledger (nothing if it has none)."""
    if source is None:
        return [], {}
    e, o = LedgerEntry.__table__, OutboxMessage.__table__  # type: ignore[attr-defined]
    try:
        with source.connect() as conn:
            done = [dict(row._mapping) for row in conn.execute(
                select(e.c.milestone_id.label("m"), e.c.unit_id.label("u"), e.c.status,
                       e.c.submitted_on, e.c.waived_reason)
                .where(e.c.status != "open", e.c.archived_at.is_(None)))]
            sent = {day: n for day, n in conn.execute(
                select(o.c.run_date, func.count()).where(o.c.state == "sent")
                .group_by(o.c.run_date))}
    except SQLAlchemyError:  # no ledger there yet
        return [], {}
    return done, sent


def _copy_submissions(scratch: Engine, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = LedgerEntry.__table__  # type: ignore[attr-defined]
    with session_scope(scratch) as session:
        session.execute(
            update(table).where(table.c.milestone_id == bindparam("m"),
                                table.c.unit_id == bindparam("u")),
            rows, execution_options={"synchronize_session": False})


def _day_messages(session: Any, day: dt.date) -> list[dict[str, Any]]:
    o = OutboxMessage.__table__  # type: ignore[attr-defined]
    rows = session.execute(select(o.c.kind, o.c.unit_id, o.c.to, o.c.cc, o.c.subject)
                           .where(o.c.run_date == day).order_by(o.c.id))
    return [dict(row._mapping) for row in rows]


@dataclass
class Replayer:
    """The replay's pieces, so the benchmark can time them."""

    plan: Plan
    scratch: Engine
    source: Engine | None = None
    sent: dict[dt.date, int] = field(default_factory=dict)

    def prepare(self) -> int:
        with session_scope(self.scratch) as session:
            sync_ledger(session, self.plan, actor="duban replay")
        done, self.sent = _source_rows(self.source)
        _copy_submissions(self.scratch, done)
        return len(done)

    def day(self, day: dt.date) -> ReplayDay:
        from flows.sweep import run_sweep

        with session_scope(self.scratch) as session:
            result = run_sweep(session, plan=self.plan, today=day, lock=False)
            session.flush()
            messages = _day_messages(session, day)
        by_rung: dict[str, int] = {}
        for firing in result.fired:
            by_rung[firing.rung.id] = by_rung.get(firing.rung.id, 0) + 1
        return ReplayDay(day, result.entries_checked, by_rung, messages,
                         self.sent.get(day, 0) if self.source is not None else None)


def replay(plan: Plan, *, start: dt.date, end: dt.date, source_url: str | None,
           scratch_dir: Path | None = None,
           progress: Callable[[Iterator[dt.date], int], Iterator[dt.date]] | None = None,
           ) -> ReplayResult:
    """Replay the cycle's sweep for every working day in [start, end]."""
    began = time.perf_counter()
    result = ReplayResult(start, end)
    with tempfile.TemporaryDirectory(prefix="duban-replay-", dir=scratch_dir) as tmp:
        scratch = get_engine(f"sqlite:///{Path(tmp) / 'replay.db'}")
        try:
            source = get_engine(source_url) if source_url else None
            replayer = Replayer(plan, scratch, source)
            result.submissions_copied = replayer.prepare()
            days = working_days(plan, start, end)
            iterator: Iterator[dt.date] = iter(days)
            if progress is not None:
                iterator = progress(iterator, len(days))
            for day in iterator:
                result.days.append(replayer.day(day))
        finally:
            scratch.dispose()
    result.seconds = time.perf_counter() - began
    return result
