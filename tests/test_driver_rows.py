"""models.driver_rows: the big digest/evaluation reads straight from the DB-API cursor give,
after their date and boolean conversion, what SQLAlchemy's result gives for the same query,
on SQLite and PostgreSQL (bound parameters, expanding IN lists and dates included)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import col

from models.db import session_scope
from models.driver_rows import Days, driver_rows
from models.ledger import entry_rows
from models.reports import fired_rungs
from models.tables import Escalation, LedgerEntry, Milestone, Unit
from plan import load_plan


def _ledger(workdir: Path) -> None:
    from flows.sweep import run_sweep
    from models.ledger import record_submission, waive_entry
    from models.sync import sync_ledger

    plan = load_plan(workdir / "plan.yaml")
    with session_scope() as session:
        sync_ledger(session, plan, actor="测试员")
    with session_scope() as session:
        record_submission(session, unit_id="xuhui", milestone_id="work-plan", submitted_on=dt.date(2024, 6, 7),
                          source="manual", actor="测试员", note=None)
        waive_entry(session, milestone_id="work-plan", unit_id="jingan", reason="测试", actor="测试员")
    with session_scope() as session:
        run_sweep(session, plan=plan, today=dt.date(2024, 7, 8))


def test_driver_rows_match_sqlalchemy_results(workdir: Path) -> None:
    _ledger(workdir)
    e = LedgerEntry
    units = ["xuhui", "jingan", "huangpu", "o'brien"]  # a quote is a value, never SQL
    query = (select(col(e.id), col(e.unit_id), col(Unit.name), col(e.due), col(e.submitted_on),
                    case((col(e.status) == "waived", True), else_=False))
             .join(Unit, col(Unit.id) == col(e.unit_id))
             .where(col(e.due) <= dt.date(2024, 7, 10), col(e.unit_id).in_(units), col(e.archived_at).is_(None))
             .order_by(col(e.id)))
    rungs = (select(col(Escalation.entry_id), col(Escalation.kind), func.min(col(Escalation.fired_on)))
             .where(col(Escalation.fired_on) <= dt.date(2024, 7, 8))
             .group_by(col(Escalation.entry_id), col(Escalation.kind)).order_by(col(Escalation.entry_id)))
    with session_scope() as session:
        days = Days()
        got = [(i, u, n, days[d], days[s], bool(w)) for i, u, n, d, s, w in driver_rows(session, query)]
        expected = [tuple(r) for r in session.connection().execute(query)]
        assert got == expected and len(got) > 10
        assert any(r[4] for r in got) and any(r[5] for r in got)  # a submission and a waiver among them
        got_rungs = [(i, k, days[f]) for i, k, f in driver_rows(session, rungs)]
        assert got_rungs == [tuple(r) for r in session.connection().execute(rungs)] and got_rungs


def test_entry_rows_and_fired_rungs_keep_their_types(workdir: Path) -> None:
    _ledger(workdir)
    with session_scope() as session:
        rows = entry_rows(session)
        one = entry_rows(session, unit="xuhui", milestone="work-plan")
        fired = fired_rungs(session, today=dt.date(2024, 7, 8))
        names = dict(session.execute(select(col(Milestone.id), col(Milestone.title))).all())
    assert one and one[0].submitted_on == dt.date(2024, 6, 7) and one[0].waived is False
    assert all(type(r.due) is dt.date and type(r.waived) is bool for r in rows)
    assert any(r.waived for r in rows if r.unit_id == "jingan" and r.milestone_id == "work-plan")
    assert all(r.milestone_title == names[r.milestone_id] for r in rows)
    assert fired and all(type(d) is dt.date for kinds in fired.values() for d in kinds.values())


def _old_entry_rows(session: Any, **where: Any) -> list[tuple[Any, ...]]:
    """entry_rows as one joined query through SQLAlchemy (before it read the entries alone),
    kept here as the reference."""
    from sqlalchemy import and_
    from sqlalchemy.orm import aliased

    from models.tables import Task

    e, rep = LedgerEntry, aliased(LedgerEntry)
    pg = session.get_bind().dialect.name == "postgresql"
    query = (
        select(col(e.id), col(e.unit_id), col(Unit.name), col(e.milestone_id), col(Milestone.title),
               col(Milestone.kind), col(Milestone.task_number), col(Task.title), col(e.due),
               func.coalesce(col(e.submitted_on), col(rep.submitted_on)),
               case((col(e.status) == "waived", True), (col(rep.status) == "waived", True), else_=False),
               col(Milestone.report_id))
        .join(Unit, col(Unit.id) == col(e.unit_id))
        .join(Milestone, col(Milestone.id) == col(e.milestone_id))
        .outerjoin(Task, col(Task.number) == col(Milestone.task_number))
        .outerjoin(rep, and_(col(rep.milestone_id) == col(Milestone.report_id), col(rep.unit_id) == col(e.unit_id)))
        .where(col(e.archived_at).is_(None))
        # The order both backends give (reports, whose task is NULL, first; ids by code point).
        .order_by(col(e.due), col(Milestone.task_number).nulls_first(), col(e.milestone_id).collate("C")
                  if pg else col(e.milestone_id), col(e.unit_id).collate("C") if pg else col(e.unit_id)))
    if where.get("unit"):
        query = query.where(col(e.unit_id) == where["unit"])
    if where.get("task") is not None:
        query = query.where(col(Milestone.task_number) == where["task"])
    if where.get("milestone"):
        query = query.where(col(e.milestone_id) == where["milestone"])
    return [tuple(r) for r in session.connection().execute(query)]


def test_entry_rows_are_the_joined_query_row_for_row(workdir: Path) -> None:
    from models.ledger import record_submission, waive_entry

    _ledger(workdir)
    with session_scope() as session:
        linked = list(session.execute(select(col(Milestone.id), col(Milestone.report_id))
                                      .where(col(Milestone.report_id).is_not(None))).tuples())
        assert linked  # the shipped plan ties milestones to its reports
        # one unit's report submitted, another's waived: their linked milestones follow
        report = linked[0][1]
        record_submission(session, unit_id="huangpu", milestone_id=report, submitted_on=dt.date(2024, 7, 3),
                          source="manual", actor="测试员")
        waive_entry(session, unit_id="jingan", milestone_id=report, reason="测试", actor="测试员")
    with session_scope() as session:
        for where in ({}, {"unit": "huangpu"}, {"task": 7}, {"milestone": linked[0][0]}, {"unit": "nobody"}):
            assert [tuple(r) for r in entry_rows(session, **where)] == _old_entry_rows(session, **where), where
        rows = {(r.unit_id, r.milestone_id): r for r in entry_rows(session)}
    assert rows[("huangpu", linked[0][0])].submitted_on == dt.date(2024, 7, 3)
    assert rows[("jingan", linked[0][0])].waived is True
