"""Reads and writes of evaluations: facts to score, runs, overrides, 整改 and 约谈 records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from models.db import in_code_order
from models.driver_rows import Days, driver_rows
from models.generated_entries import ensure_entries, ensure_milestones, waive
from models.ledger import audit, get_entry, get_unit, record_submission
from models.report_tables import (
    EvaluationOverride,
    EvaluationRun,
    EvaluationScore,
    Interview,
    Rectification,
)
from models.tables import Escalation, LedgerEntry, Milestone, Unit, utcnow
from plan.errors import DubanError
from plan.evaluation import (
    PERIOD_LABELS,
    RUNG_ORDER,
    Obligation,
    Override,
    Reason,
    Review,
    StatsState,
    UnitFacts,
    UnitScore,
)

RUNG_RANK = {kind: n for n, kind in enumerate(RUNG_ORDER)}


def obligations(session: Session, *, units: Sequence[str], today: dt.date, cutoff: dt.date,
                ) -> dict[str, list[Obligation]]:
    """Each unit's counted obligations due by ``cutoff``, as of ``today`` (two queries).

    Milestones tied to a report are left out: they are the same delivery as the report.
    Never counted, whatever ``units`` says: dates the notice does not set (``source:
    assumed``) and task-only units (局机关处室), who are not scored or named in a 通报.
    """
    e = LedgerEntry
    # The driver's tuples (models/driver_rows): SQLAlchemy's per-row processing and per-cell
    # date parsing were most of the time of these two reads; dates converted once per day.
    days = Days()
    rows = driver_rows(session,
        select(col(e.id), col(e.unit_id), col(e.milestone_id), col(Milestone.title), col(e.due),
               col(e.submitted_on), col(e.status))
        .join(Milestone, col(Milestone.id) == col(e.milestone_id))
        .join(Unit, col(Unit.id) == col(e.unit_id))
        .where(col(e.archived_at).is_(None), col(Milestone.archived_at).is_(None),
               col(Milestone.report_id).is_(None), col(e.due) <= cutoff,
               col(Milestone.source) != "assumed", col(Unit.role) == "reporting",
               col(e.unit_id).in_(list(units)))
        .order_by(col(e.due), in_code_order(session, col(e.milestone_id))))
    # Each entry's worst rung fired by today and the first day it fired (as fired_rungs, with
    # the worst picked while reading instead of a dict per entry).
    worst: dict[int | None, tuple[int, dt.date]] = {}
    for rung_entry, kind, first in driver_rows(session,
            select(col(Escalation.entry_id), col(Escalation.kind), func.min(col(Escalation.fired_on)))
            .where(col(Escalation.fired_on) <= today)
            .group_by(col(Escalation.entry_id), col(Escalation.kind))):
        rank = RUNG_RANK[kind]
        held = worst.get(rung_entry)
        if held is None or rank > held[0]:
            worst[rung_entry] = (rank, days[first])
    out: dict[str, list[Obligation]] = {u: [] for u in units}
    for entry_id, unit_id, milestone_id, title, due, submitted_on, status in rows:
        fired = worst.get(entry_id)
        due, submitted_on = days[due], days[submitted_on]
        out[unit_id].append(Obligation(
            milestone_id=milestone_id, title=title, due=due,
            submitted_on=submitted_on if submitted_on and submitted_on <= today else None,
            waived=status == "waived", rung=RUNG_ORDER[fired[0]] if fired else None,
            rung_on=fired[1] if fired else None))
    return out


def reviews(session: Session, *, units: Sequence[str], before_period: str) -> dict[str, list[Review]]:
    """复查 results of earlier periods' rectifications."""
    rows = session.execute(
        select(col(Rectification.unit_id), col(Rectification.period), col(Rectification.review_result),
               col(Rectification.reviewed_on))
        .where(col(Rectification.unit_id).in_(list(units)), col(Rectification.period) != before_period,
               col(Rectification.review_result).is_not(None), col(Rectification.active))
    )
    out: dict[str, list[Review]] = {}
    for unit_id, period, result, on in rows:
        out.setdefault(unit_id, []).append(Review(period, result, on))
    return out


def reporting(session: Session, *, units: Sequence[str]) -> list[str]:
    """``units`` without the task-only ones, in the given order (one query)."""
    kept = set(session.execute(
        select(col(Unit.id)).where(col(Unit.id).in_(list(units)), col(Unit.role) == "reporting")).scalars())
    return [u for u in units if u in kept]


def unit_facts(session: Session, *, units: Sequence[str], names: dict[str, str], period: str,
               today: dt.date, cutoff: dt.date,
               stats: dict[str, tuple[StatsState, str]] | None) -> list[UnitFacts]:
    """Facts of the reporting units among ``units``; task-only units are dropped here, so
    they are never scored, ranked or listed whatever the scope says."""
    units = reporting(session, units=units)
    owed = obligations(session, units=units, today=today, cutoff=cutoff)
    done = reviews(session, units=units, before_period=period)
    stats = stats or {}
    return [UnitFacts(u, names[u], tuple(owed[u]),
                      stats=stats[u][0] if u in stats else None,
                      stats_detail=stats[u][1] if u in stats else "",
                      reviews=tuple(done.get(u, ())))
            for u in units]


# -- overrides ---------------------------------------------------------------------------

def record_override(session: Session, *, period: str, unit_id: str, action: str, target: str | None,
                    reason: str, actor: str) -> None:
    get_unit(session, unit_id)
    session.add(EvaluationOverride(period=period, unit_id=unit_id, action=action, target=target,
                                   reason=reason, actor=actor))
    audit(session, actor=actor, action=f"evaluation.{action}", object_type="unit", object_id=unit_id,
          detail={"period": period, "list": target, "reason": reason})


def overrides(session: Session, *, period: str) -> list[Override]:
    rows = session.execute(
        select(EvaluationOverride).where(col(EvaluationOverride.period) == period)
        .order_by(col(EvaluationOverride.at), col(EvaluationOverride.id))
    ).scalars()
    return [Override(o.unit_id, o.action, o.target, o.reason, o.actor, o.at) for o in rows]


# -- runs --------------------------------------------------------------------------------

def latest_run(session: Session, *, period: str) -> EvaluationRun | None:
    return session.execute(
        select(EvaluationRun).where(col(EvaluationRun.period) == period, col(EvaluationRun.status) != "superseded")
        .order_by(col(EvaluationRun.id).desc())
    ).scalars().first()


def refuse_if_approved(session: Session, *, period: str) -> None:
    run = latest_run(session, period=period)
    if run is not None and run.status == "approved":
        label = PERIOD_LABELS.get(period, period)
        raise DubanError(f"{label}评估已于 {run.approved_at:%Y-%m-%d} 由 {run.approved_by} 审定，不能重新评估",
                         "审定后的名单不再改动；如确需调整，请联系维护人员")


def save_run(session: Session, *, period: str, today: dt.date, scores: Iterable[UnitScore],
             rules: dict[str, object], actor: str) -> EvaluationRun:
    """Store a draft run; the previous draft of the period is kept, marked superseded."""
    refuse_if_approved(session, period=period)
    previous = latest_run(session, period=period)
    if previous is not None:
        previous.status = "superseded"
        session.add(previous)
    run = EvaluationRun(period=period, as_of=today, rules=rules, actor=actor)
    session.add(run)
    session.flush()
    # Units share their Reason objects (evaluate() keeps one per distinct obligation), so each
    # is turned into a dict once; the dicts are only read, by the JSON column's serialiser.
    as_json: dict[int, dict[str, object]] = {}

    def plain(r: Reason) -> dict[str, object]:
        found = as_json.get(id(r))
        if found is None:
            found = as_json[id(r)] = r.as_json()
        return found

    # One multi-row INSERT without RETURNING: nothing reads the scores' ids, and building an
    # ORM object per unit and flushing them was most of save_run (~1 s at 1,000 units on PostgreSQL).
    rows = [{"run_id": run.id, "unit_id": s.unit_id, "score": s.score, "rank": s.rank, "proposed": s.proposed,
             "final": s.final, "reasons": [plain(r) for r in s.reasons]} for s in scores]
    if rows:
        session.execute(insert(EvaluationScore), rows)
    audit(session, actor=actor, action="evaluation.run", object_type="evaluation", object_id=str(run.id),
          detail={"period": period, "as_of": today.isoformat(),
                  "commend": [s.unit_id for s in scores if s.final == "commend"],
                  "criticise": [s.unit_id for s in scores if s.final == "criticise"]})
    session.flush()
    return run


def run_scores(session: Session, *, run_id: int) -> list[EvaluationScore]:
    return list(session.execute(
        select(EvaluationScore).where(col(EvaluationScore.run_id) == run_id).order_by(col(EvaluationScore.rank))
    ).scalars())


def approve(session: Session, *, period: str, actor: str) -> EvaluationRun:
    run = latest_run(session, period=period)
    label = PERIOD_LABELS.get(period, period)
    if run is None:
        raise DubanError(f"还没有{label}评估结果，无法审定",
                         f"先运行 duban evaluate --period {period}")
    if run.status == "approved":
        raise DubanError(f"{label}评估已于 {run.approved_at:%Y-%m-%d} 由 {run.approved_by} 审定",
                         "无需重复审定")
    run.status = "approved"
    run.approved_by = actor
    run.approved_at = utcnow()
    session.add(run)
    audit(session, actor=actor, action="evaluation.approve", object_type="evaluation",
          object_id=str(run.id), detail={"period": period, "as_of": run.as_of.isoformat()})
    return run


# -- 整改 and 约谈 ------------------------------------------------------------------------

@dataclass(frozen=True)
class FollowUps:
    """What the run left in place: each criticised unit's 整改 and 约谈 due dates (a date given
    by an earlier run stays), and the units taken off the list."""

    rectify_due: dict[str, dt.date]
    interview_due: dict[str, dt.date]
    withdrawn: list[str]


def rectify_milestone(period: str) -> str:
    return f"rectify-{period}"


def interview_milestone(period: str, unit_id: str) -> str:
    return f"interview-{period}-{unit_id}"


def sync_follow_ups(session: Session, *, period: str, run: EvaluationRun, criticised: Sequence[str],
                    coordinator: str, rectify_due: dt.date, interview_due: dt.date,
                    actor: str) -> FollowUps:
    """整改 entry (owed by the unit) and 约谈 entry (held by the coordinator) per criticised unit.

    A unit taken off the list has both waived, not deleted; put back, they reopen with
    their first deadlines (a re-run never moves a deadline already given).
    """
    label = PERIOD_LABELS.get(period, period)
    names: dict[str, str] = {u: n for u, n in session.execute(select(col(Unit.id), col(Unit.name)))}
    existing_r = {r.unit_id: r for r in session.execute(
        select(Rectification).where(col(Rectification.period) == period)).scalars()}
    existing_i = {i.unit_id: i for i in session.execute(
        select(Interview).where(col(Interview.period) == period)).scalars()}
    rect_id = rectify_milestone(period)
    rect_due: dict[str, dt.date] = {}
    meeting_due: dict[str, dt.date] = {}
    # New records in bulk (a national evaluation criticises hundreds of units: a get and a
    # flush per unit, then an ORM object per record, were an eighth and then a tenth of its
    # time); records of an earlier run of the period are updated as objects.
    now = utcnow()
    new_rects: list[dict[str, object]] = []
    new_meetings: list[dict[str, object]] = []
    for unit_id in criticised:
        rect = existing_r.get(unit_id)
        if rect is None:
            new_rects.append({"period": period, "unit_id": unit_id, "run_id": run.id, "milestone_id": rect_id,
                              "due": rectify_due, "active": True, "created_at": now})
            rect_due[unit_id] = rectify_due
        else:
            rect.active, rect.run_id = True, run.id
            session.add(rect)
            rect_due[unit_id] = rect.due
        meeting = existing_i.get(unit_id)
        if meeting is None:
            new_meetings.append({"period": period, "unit_id": unit_id, "run_id": run.id,
                                 "milestone_id": interview_milestone(period, unit_id), "due": interview_due,
                                 "active": True, "created_at": now})
            meeting_due[unit_id] = interview_due
        else:
            meeting.active, meeting.run_id = True, run.id
            session.add(meeting)
            meeting_due[unit_id] = meeting.due
    if criticised:
        ensure_milestones(session, [(rect_id, f"{label}评估通报批评整改（报送整改报告）", rectify_due)]
                          + [(interview_milestone(period, u), f"约谈{names.get(u, u)}（{label}评估通报批评）",
                              meeting_due[u]) for u in criticised], origin="evaluation")
    if new_rects:
        session.execute(insert(Rectification), new_rects)
    if new_meetings:
        session.execute(insert(Interview), new_meetings)
    ensure_entries(session, [e for u in criticised
                             for e in ((rect_id, u, rect_due[u]), (interview_milestone(period, u), coordinator,
                                                                    meeting_due[u]))],
                   actor=actor)
    withdrawn = []
    reason = f"{label}评估调整：不再列入通报批评名单"
    listed = set(criticised)  # asked once per earlier record: a list made a re-run quadratic
    for unit_id, rect in existing_r.items():
        if unit_id not in listed and rect.active:
            rect.active = False
            session.add(rect)
            waive(session, milestone_id=rect.milestone_id, unit_id=unit_id, reason=reason, actor=actor)
            withdrawn.append(unit_id)
    for unit_id, meeting in existing_i.items():
        if unit_id not in listed and meeting.active:
            meeting.active = False
            session.add(meeting)
            waive(session, milestone_id=meeting.milestone_id, unit_id=coordinator, reason=reason, actor=actor)
    session.flush()
    return FollowUps(rect_due, meeting_due, withdrawn)


def _rectification(session: Session, *, period: str, unit_id: str) -> Rectification:
    get_unit(session, unit_id)
    rect = session.execute(
        select(Rectification).where(col(Rectification.period) == period, col(Rectification.unit_id) == unit_id)
    ).scalar_one_or_none()
    if rect is None or not rect.active:
        label = PERIOD_LABELS.get(period, period)
        raise DubanError(f"「{unit_id}」没有{label}评估的整改事项",
                         f"只有列入通报批评名单的单位才有整改事项；运行 duban evaluate show --period {period} 查看")
    return rect


def review(session: Session, *, period: str, unit_id: str, result: str, on: dt.date, actor: str,
           note: str | None) -> Rectification:
    """Record the 复查 result.  A pass also closes the 整改 entry if the unit's report was not
    recorded yet (the review is the evidence)."""
    rect = _rectification(session, period=period, unit_id=unit_id)
    rect.review_result, rect.reviewed_on, rect.reviewer, rect.review_note = result, on, actor, note
    session.add(rect)
    entry = get_entry(session, unit_id=unit_id, milestone_id=rect.milestone_id)
    if result == "pass" and entry.submitted_on is None:
        record_submission(session, unit_id=unit_id, milestone_id=rect.milestone_id, submitted_on=on,
                          source="review", actor=actor, note=note or "整改复查合格")
    audit(session, actor=actor, action="rectification.review", object_type="entry",
          object_id=f"{rect.milestone_id}/{unit_id}",
          detail={"result": result, "on": on.isoformat(), "note": note})
    return rect


def interview_held(session: Session, *, period: str, unit_id: str, on: dt.date, coordinator: str,
                   actor: str, note: str | None) -> Interview:
    get_unit(session, unit_id)
    meeting = session.execute(
        select(Interview).where(col(Interview.period) == period, col(Interview.unit_id) == unit_id)
    ).scalar_one_or_none()
    if meeting is None or not meeting.active:
        label = PERIOD_LABELS.get(period, period)
        raise DubanError(f"「{unit_id}」没有{label}评估的约谈事项",
                         f"只有列入通报批评名单的单位才有约谈事项；运行 duban evaluate show --period {period} 查看")
    meeting.held_on, meeting.note = on, note
    session.add(meeting)
    record_submission(session, unit_id=coordinator, milestone_id=meeting.milestone_id, submitted_on=on,
                      source="interview", actor=actor, note=note or "已约谈")
    return meeting


def open_follow_ups(session: Session) -> tuple[list[Rectification], list[Interview]]:
    rects = list(session.execute(
        select(Rectification).where(col(Rectification.active)).order_by(col(Rectification.due))).scalars())
    meetings = list(session.execute(
        select(Interview).where(col(Interview.active)).order_by(col(Interview.due))).scalars())
    return rects, meetings
