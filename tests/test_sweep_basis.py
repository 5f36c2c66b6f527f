"""The sweep's basis rows (``models.sweep_basis``): a sweep that reads only the entries its
basis rows do not vouch for fires exactly what a sweep that reads every open entry fires,
whatever happened to the entries in between, however it was written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import text

import models.sweep
from flows.sweep import run_sweep
from models.db import session_scope
from plan.ladder import UNENFORCED_KINDS, Ladder
from plan.workdays import WorkCalendar

D = dt.date


def test_next_reach_is_the_next_day_a_rung_is_reached(plan):
    calendar = WorkCalendar(plan.calendar)
    rungs = list(plan.escalation.rungs)

    def reached(due: dt.date, enforceable: bool, day: dt.date) -> set[str]:
        return {r.id for r in rungs if (enforceable or r.kind in UNENFORCED_KINDS)
                and day >= calendar.shift(due, r.offset)}

    for today in (D(2024, 5, 31), D(2024, 6, 7), D(2024, 7, 5), D(2024, 9, 30), D(2024, 10, 8)):
        ladder = Ladder(plan, calendar, today)
        for due in (today + dt.timedelta(days=n) for n in range(-60, 30)):
            for enforceable in (True, False):
                now = reached(due, enforceable, today)
                later = (today + dt.timedelta(days=n) for n in range(1, 120))
                expected = next((day for day in later if reached(due, enforceable, day) != now), dt.date.max)
                assert ladder.next_reach(due, enforceable) == expected, (today, due, enforceable)


def fired_on(session, day: dt.date) -> set[tuple[int, str]]:
    return {tuple(row) for row in session.execute(
        text("SELECT entry_id, rung_id FROM escalation WHERE fired_on = :day"), {"day": day})}


def sweep_checked(plan, today: dt.date, reads: list[int]) -> set[tuple[int, str]]:
    """Sweep ``today`` twice on the same state: with the basis rows, then without any (every
    open entry read); both must fire the same.  The first is kept.  Returns what fired."""
    with session_scope() as session:
        session.execute(text("DELETE FROM sweep_basis"))
        run_sweep(session, plan=plan, today=today)
        everything = fired_on(session, today)
        session.rollback()
    with session_scope() as session:
        before = len(reads)
        run_sweep(session, plan=plan, today=today)
        fired = fired_on(session, today)
        read = reads[before:]
    assert fired == everything, today
    # Each entry read was examined: its basis row is there, naming the entry's due date.
    with session_scope() as session:
        basis = dict(session.execute(text("SELECT entry_id, CAST(due AS VARCHAR) FROM sweep_basis")).all())
        dues = dict(session.execute(text("SELECT id, CAST(due AS VARCHAR) FROM ledger_entry")).all())
    assert all(basis[entry] == dues[entry] for entry in read[0] if entry in dues)
    return fired


def test_a_sweep_reading_the_unvouched_entries_fires_what_reading_all_fires(synced, db_url, monkeypatch):
    plan = synced
    reads: list = []
    read = models.sweep.open_candidates

    def recording(session, **kwargs):
        found = read(session, **kwargs)
        reads.append([c.entry_id for c in found])
        return found

    monkeypatch.setattr(models.sweep, "open_candidates", recording)

    def sql(statement: str, **params) -> None:
        with session_scope() as session:  # as a coordinator's fix in the database would: no updated_at
            session.execute(text(statement), params)

    def examined(where: str) -> int:
        with session_scope() as session:
            return session.execute(text(
                "SELECT min(e.id) FROM ledger_entry e JOIN sweep_basis b ON b.entry_id = e.id "
                f"WHERE e.status = 'open' AND {where}")).scalar_one()

    calendar = WorkCalendar(plan.calendar)

    def working_days(first: dt.date, last: dt.date, step: int = 1) -> list[dt.date]:
        days = (first + dt.timedelta(days=n) for n in range(0, (last - first).days + 1, step))
        return [day for day in days if calendar.sends_on(day)]

    fired = sweep_checked(plan, D(2024, 7, 8), reads)  # the catch-up: every open entry read
    assert len(fired) > 100
    partly = 0
    for day in [*working_days(D(2024, 7, 9), D(2024, 8, 8), step=3), D(2024, 8, 12)]:  # then only what rungs reach
        sweep_checked(plan, day, reads)
        all_open, unvouched = reads[-2:]
        partly += 0 < len(unvouched) < len(all_open) / 2
    assert partly >= 2
    # 2024-08-13, three working days before a due date: entries examined at their first
    # reminder.  One is moved two months earlier (it climbs at once), another is closed.
    today = D(2024, 8, 13)
    moved = examined("b.next_on < '9999-01-01'")
    sql("UPDATE ledger_entry SET due = :due WHERE id = :id", due=D(2024, 6, 10), id=moved)
    closed = examined(f"e.id <> {moved} AND b.next_on > '{today}' AND b.next_on < '9999-01-01'")
    sql("UPDATE ledger_entry SET status = 'submitted', submitted_on = :on WHERE id = :id", on=today, id=closed)
    fired = sweep_checked(plan, today, reads)
    assert moved in reads[-1] and {rung for entry, rung in fired if entry == moved} >= {"overdue"}
    # The closed entry's next rung is reached while it is closed; reopened, it is read and fires.
    with session_scope() as session:
        next_on = D.fromisoformat(session.execute(
            text("SELECT CAST(next_on AS VARCHAR) FROM sweep_basis WHERE entry_id = :id"), {"id": closed}).scalar_one())
    sweep_checked(plan, next_on, reads)
    assert closed not in reads[-1]
    sql("UPDATE ledger_entry SET status = 'open', submitted_on = NULL WHERE id = :id", id=closed)
    reopened = working_days(next_on + dt.timedelta(days=1), next_on + dt.timedelta(days=10))[0]
    fired = sweep_checked(plan, reopened, reads)
    assert closed in reads[-1] and any(entry == closed for entry, _ in fired)
    for day in working_days(reopened + dt.timedelta(days=1), D(2024, 12, 31), step=5):
        sweep_checked(plan, day, reads)


def test_new_rules_forget_the_basis(synced, db_url):
    plan = synced
    with session_scope() as session:
        run_sweep(session, plan=plan, today=D(2024, 7, 8))
        examined = session.execute(text("SELECT count(*) FROM sweep_basis")).scalar_one()
    assert examined > 50
    # A holiday added: every next day may move, so no basis row is kept but the ones this
    # sweep writes (the entries with a reached rung not recorded yet: the reminders).
    calendar = plan.calendar.model_copy(update={"extra_holidays": [*plan.calendar.extra_holidays, D(2024, 8, 14)]})
    changed = dataclasses.replace(plan, calendar=calendar)
    with session_scope() as session:
        run_sweep(session, plan=changed, today=D(2024, 8, 12))
        kept = session.execute(text("SELECT count(*) FROM sweep_basis")).scalar_one()
        fired = {entry for entry, _ in fired_on(session, D(2024, 8, 12))}
    assert 0 < kept == len(fired) < examined
