"""Replaying a season of the supervision cycle against a real database.

Expected dates are worked out by hand from the 2024 calendar (端午 2024-06-10 is a
holiday), so a calendar or ladder regression shows up as a wrong date here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from flows.sweep import run_sweep
from models import ledger
from models.db import session_scope
from models.sweep import supervision_list, supervision_sheets
from models.tables import Escalation, LedgerEntry, OutboxMessage
from notifications.compose import materialise
from plan.supervision import EarlierRung
from plan.workdays import WorkCalendar

D = dt.date


def _days(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


# (unit, milestone, submitted on) recorded during the replay, the morning of that day.
SUBMISSIONS = {
    D(2024, 6, 3): [("pudong", "work-plan")],
    D(2024, 6, 12): [("xuhui", "work-plan")],          # late: after overdue, before 督导检查
    D(2024, 7, 4): [("pudong", "half-year-summary")],
    D(2024, 7, 10): [("xuhui", "half-year-summary")],  # late
}


@pytest.fixture
def season(synced, plan):
    """Run the sweep each day 2024-05-20 … 2024-07-31; returns per-day sweep results."""
    results = {}
    for day in _days(D(2024, 5, 20), D(2024, 7, 31)):
        with session_scope() as session:
            for unit, milestone in SUBMISSIONS.get(day, []):
                ledger.record_submission(session, unit_id=unit, milestone_id=milestone,
                                         submitted_on=day, source="cli", actor="测试员")
            results[day] = run_sweep(session, plan=plan, today=day)
    return results


def _fired(unit: str, milestone: str) -> dict[str, dt.date]:
    with session_scope() as session:
        rows = session.execute(
            select(Escalation.rung_id, Escalation.fired_on, Escalation.message_key)
            .join(LedgerEntry, LedgerEntry.id == Escalation.entry_id)
            .where(LedgerEntry.unit_id == unit, LedgerEntry.milestone_id == milestone)
        ).all()
    return {rung: fired_on for rung, fired_on, _key in rows}


def test_unit_that_never_reports_climbs_every_rung_on_the_right_working_day(season):
    assert _fired("huangpu", "work-plan") == {
        "remind-5": D(2024, 5, 29),
        "remind-1": D(2024, 6, 4),
        "overdue": D(2024, 6, 6),
        "supervise": D(2024, 6, 13),   # 5 working days: 06-10 (端午) does not count
        "interview": D(2024, 6, 20),
    }
    assert _fired("huangpu", "half-year-summary") == {
        "remind-5": D(2024, 6, 28),
        "remind-1": D(2024, 7, 4),
        "overdue": D(2024, 7, 8),
        "supervise": D(2024, 7, 12),
        "interview": D(2024, 7, 19),
    }


def test_submission_stops_the_ladder(season):
    assert _fired("pudong", "work-plan") == {"remind-5": D(2024, 5, 29)}  # sent 06-03: no remind-1
    assert _fired("xuhui", "work-plan") == {
        "remind-5": D(2024, 5, 29), "remind-1": D(2024, 6, 4), "overdue": D(2024, 6, 6)}
    assert _fired("xuhui", "half-year-summary") == {
        "remind-5": D(2024, 6, 28), "remind-1": D(2024, 7, 4), "overdue": D(2024, 7, 8)}


def test_nothing_happens_on_a_holiday_and_no_message_repeats(season):
    assert season[D(2024, 6, 10)].working_day is False
    assert season[D(2024, 6, 10)].notices == []
    assert season[D(2024, 6, 15)].working_day is False  # a Saturday
    with session_scope() as session:
        keys = [m.key for m in session.execute(select(OutboxMessage)).scalars()]
        fired = session.execute(select(Escalation.entry_id, Escalation.rung_id)).all()
        days = {d for (d,) in session.execute(select(OutboxMessage.run_date))}
    assert len(keys) == len(set(keys))
    assert len(fired) == len(set(fired))
    assert D(2024, 6, 10) not in days
    # One message per recipient per run.
    for result in season.values():
        recipients = Counter((n.kind, n.unit_id or n.to[0]) for n in result.notices)
        assert all(count == 1 for count in recipients.values())


def test_overdue_notice_goes_to_the_unit_with_the_lead_in_copy(season, plan):
    notices = season[D(2024, 6, 6)].notices
    huangpu = next(n for n in notices if n.unit_id == "huangpu")
    assert set(huangpu.to) == {c.email for c in plan.units["huangpu"].contacts}
    assert "shszcj@126.com" in huangpu.cc  # the coordinator leads the reporting obligations
    assert {(i.milestone_id, i.rung_id) for i in huangpu.items} >= {("work-plan", "overdue")}
    assert not any(n.unit_id == "pudong" for n in notices)


def test_supervision_list_and_interview_proposal(season, plan):
    on_13th = season[D(2024, 6, 13)].notices
    coordinator = next(n for n in on_13th if n.kind == "coordinator-list")
    listed = {i.unit_id for i in coordinator.items if i.milestone_id == "work-plan"}
    assert "huangpu" in listed and "xuhui" not in listed and "pudong" not in listed
    interview = next(n for n in season[D(2024, 6, 20)].notices if n.kind == "interview-proposal")
    assert set(interview.to) == {c.email for c in plan.meta.leadership}
    with session_scope() as session:
        on_list = {s.unit_id for s in supervision_list(session, today=D(2024, 7, 15),
                                                       kinds=("supervise",))
                   if s.milestone_id in ("work-plan", "half-year-summary")}
    assert "huangpu" in on_list and "pudong" not in on_list and "xuhui" not in on_list


def test_second_sweep_on_the_same_day_queues_nothing(synced, plan):
    with session_scope() as session:
        first = run_sweep(session, plan=plan, today=D(2024, 7, 8))
    with session_scope() as session:
        second = run_sweep(session, plan=plan, today=D(2024, 7, 8))
    assert first.queued and second.queued == [] and second.escalations == 0


def test_make_up_working_saturday_counts():
    calendar = WorkCalendar()
    assert calendar.is_workday(D(2024, 9, 14)) and calendar.is_workday(D(2024, 10, 12))
    assert calendar.shift(D(2024, 9, 13), 1) == D(2024, 9, 14)
    assert not calendar.is_workday(D(2024, 6, 10))


def test_catch_up_run_lists_each_entry_once_at_its_highest_rung(synced, plan):
    """A first run long after the due date fires 催办 and 督办 together, but the unit's
    督办单 names the overdue item once, under 督办."""
    with session_scope() as session:
        result = run_sweep(session, plan=plan, today=D(2024, 7, 8))
    huangpu = next(n for n in result.notices if n.unit_id == "huangpu")
    entries = [i.entry_id for i in huangpu.items]
    assert len(entries) == len(set(entries))
    work_plan = next(i for i in huangpu.items if i.milestone_id == "work-plan")
    assert work_plan.rung_id == "supervise"
    assert "overdue" in huangpu.key and "supervise" in huangpu.key
    # Reminders whose moment passed before duban ran are skipped, not sent late.
    with session_scope() as session:
        rows = dict(session.execute(
            select(Escalation.rung_id, Escalation.message_key)
            .join(LedgerEntry, LedgerEntry.id == Escalation.entry_id)
            .where(LedgerEntry.unit_id == "huangpu", LedgerEntry.milestone_id == "work-plan")).all())
    assert "remind-5" not in rows and "remind-1" not in rows
    assert rows["supervise"] == huangpu.key


# -- only the notice's obligations are enforced; wording follows the record (#10) ----------
def _escalations_by_enforceability() -> tuple[Counter, Counter]:
    from models.tables import Milestone, Unit

    with session_scope() as session:
        rows = session.execute(
            select(Escalation.kind, Milestone.source, Unit.role, LedgerEntry.unit_id)
            .join(LedgerEntry, LedgerEntry.id == Escalation.entry_id)
            .join(Milestone, Milestone.id == LedgerEntry.milestone_id)
            .join(Unit, Unit.id == LedgerEntry.unit_id)).all()
    unenforced = Counter((kind, unit) for kind, source, role, unit in rows
                         if source == "assumed" or role == "task-only")
    enforced = Counter((kind, unit) for kind, source, role, unit in rows
                       if source != "assumed" and role != "task-only")
    return unenforced, enforced


def test_assumed_dates_and_task_only_units_stop_at_chase(season, plan):
    unenforced, enforced = _escalations_by_enforceability()
    assert {kind for kind, _unit in unenforced} == {"remind", "chase"}  # reminded and chased …
    assert ("chase", "huangpu") in unenforced  # … e.g. 黄浦's assumed t07/t08/t11 dates
    divisions = {u.id for u in plan.units.values() if u.resolved_role == "task-only"}
    assert {unit for kind, unit in unenforced if kind == "chase"} & divisions  # divisions are chased
    assert not {unit for kind, unit in enforced} & divisions
    assert ("supervise", "huangpu") in enforced  # the seed's half-year summary is still enforced
    with session_scope() as session:
        listed = supervision_list(session, today=D(2024, 7, 31))
        bodies = [materialise(row).text for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind.in_(
                ("coordinator-list", "interview-proposal"))))]
    assumed = {m.id for m in plan.assumed_milestones()}
    assert listed and not [s for s in listed if s.milestone_id in assumed or s.unit_id in divisions]
    names = [plan.units[d].name for d in divisions]
    listed_units = {line.split(". ", 1)[1] for b in bodies for line in b.splitlines()
                    if line[:1].isdigit() and ". " in line}  # "1. 黄浦区知识产权局"
    assert listed_units and not listed_units & set(names)


def _unit_text(day: dt.date, unit: str) -> str:
    with session_scope() as session:
        row = session.scalars(select(OutboxMessage).where(
            OutboxMessage.run_date == day, OutboxMessage.unit_id == unit,
            OutboxMessage.kind == "unit-notice")).one()
        return materialise(row).text


def test_normal_sequence_cites_the_recorded_chase(season, plan):
    fired = _fired("huangpu", "half-year-summary")
    assert fired["overdue"] == D(2024, 7, 8)
    text = _unit_text(fired["supervise"], "huangpu")
    assert "办理经过：已于7月8日催办，仍未报送，现予督办。" in text
    assert "本次一并予以督办" not in text
    sheet = next(s for s in season[fired["supervise"]].sheets if s.unit_id == "huangpu")
    assert sheet.number == f"督〔2024〕半年第{list(plan.units).index('huangpu') + 1:02d}号"
    assert f"督办编号：{sheet.number}" in text
    assert [i.earlier for i in sheet.items] == [(EarlierRung("remind", D(2024, 6, 28)),
                                                 EarlierRung("chase", D(2024, 7, 8)))]
    assert "此前已于6月28日提醒、7月8日催办。" in text
    with session_scope() as session:  # the printable .docx can be written from the ledger later
        assert supervision_sheets(session, plan=plan, today=fired["supervise"]) == season[fired["supervise"]].sheets
    with session_scope() as session:
        proposal = materialise(session.scalars(select(OutboxMessage).where(
            OutboxMessage.run_date == fired["interview"],
            OutboxMessage.kind == "interview-proposal")).one()).text
    assert "经催办、督办仍未报送。" in proposal


def test_late_start_reaches_several_rungs_at_once_and_says_so(synced, plan):
    with session_scope() as session:
        result = run_sweep(session, plan=plan, today=D(2024, 7, 22))
    text = _unit_text(D(2024, 7, 22), "huangpu")
    assert "办理经过：该事项已逾期11个工作日，本次一并予以督办。" in text
    assert "经催办" not in text
    assert "huangpu" in {s.unit_id for s in result.sheets}
    with session_scope() as session:
        proposal = materialise(session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "interview-proposal")).one()).text
    assert "经催办" not in proposal
    assert "该事项已逾期11个工作日，此前未发出催办、督办，本次一并提出约谈建议。" in proposal


def test_back_dated_sweep_never_reminds_escalated_items(synced, plan):
    with session_scope() as session:
        run_sweep(session, plan=plan, today=D(2024, 7, 8))
    with session_scope() as session:
        result = run_sweep(session, plan=plan, today=D(2024, 6, 3))
        escalated = {entry for (entry,) in session.execute(
            select(Escalation.entry_id).where(Escalation.kind != "remind",
                                              Escalation.fired_on == D(2024, 7, 8)))}
    assert escalated
    assert not [f for f in result.fired if f.rung.kind == "remind" and f.candidate.entry_id in escalated]


def test_rungs_are_named_for_the_coordinator_not_by_their_ids(plan) -> None:
    """Run and replay summaries say 催办/督办; two reminders are told apart by when they fire."""
    from plan.ladder import rung_labels

    assert rung_labels(plan.escalation.rungs) == {
        "remind-5": "提醒（截止前 5 个工作日）", "remind-1": "提醒（截止前 1 个工作日）",
        "overdue": "催办", "supervise": "督办", "interview": "约谈建议"}
