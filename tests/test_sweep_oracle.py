"""The sweep against an oracle: the firing rules written out the slow, obvious way.

A small generated plan (some dates assumed, one task-only unit, reports and task
milestones) is swept every working day for a season, with a gap while duban was off and
some submissions.  The oracle walks the calendar day by day, every entry, every rung,
with none of the sweep's machinery (no SQL, no caches, no working-day index), and says per
run date which rungs fire, who is told what, the working days cited and the history each
item may quote.  The sweep's stored escalation rows and outbox items must say the same.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import chinese_calendar
import yaml
from sqlalchemy import select

from bench.synthetic import plan_data
from flows.sweep import run_sweep
from models import ledger
from models.db import session_scope
from models.sync import sync_ledger
from models.tables import Escalation, LedgerEntry, OutboxMessage
from plan import load_plan

D = dt.date
KIND_RANK = {"remind": 0, "chase": 1, "supervise": 2, "interview": 3}
HISTORY = ("remind", "chase", "supervise")
SUBMITTED = {D(2024, 6, 14): [("u00002", "work-plan")], D(2024, 7, 2): [("u00003", "half-year-summary")],
             D(2024, 7, 16): [("u00001", "half-year-summary")]}  # the last one late
OFF = (D(2024, 7, 22), D(2024, 7, 30))  # duban off: the next run catches up
# Plan edits synced the morning of a day: from MOVED, t2-m0011 is due three weeks earlier
# (its entries change, nothing else does); from CONFIRMED, task 1's dates are confirmed
# (no entry changes, but its entries may now climb past 催办).
MOVED, CONFIRMED = D(2024, 8, 12), D(2024, 8, 26)
FIRST = D(2024, 5, 20)


def write_plan(folder: Path, today: dt.date = FIRST) -> Path:
    data = plan_data(units=6, milestones=27)
    data["units"][-1]["role"] = "task-only"  # u00006: reminded and chased only
    if "evaluation" in data:  # a task-only unit is never scored
        data["evaluation"]["scope"] = [u["id"] for u in data["units"][1:-1]]
    for task in data["tasks"][::3]:  # tasks 1, 4, 7, 10: dates still inferred
        if not (task["number"] == 1 and today >= CONFIRMED):
            for milestone in task["milestones"]:
                milestone["source"] = "assumed"
    if today >= MOVED:
        moved = next(m for t in data["tasks"] for m in t["milestones"] if m["id"] == "t2-m0011")
        moved["due"] = (D.fromisoformat(moved["due"]) - dt.timedelta(days=21)).isoformat()
    path = folder / f"plan-{today}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class Days:
    """Working days by walking the calendar one day at a time."""

    def __init__(self, calendar) -> None:
        self.holidays, self.workdays = set(calendar.extra_holidays), set(calendar.extra_workdays)

    def work(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        return day in self.workdays or chinese_calendar.is_workday(day)

    def shift(self, day: dt.date, n: int) -> dt.date:
        step = 1 if n > 0 else -1
        while n:
            day += dt.timedelta(days=step)
            if self.work(day):
                n -= step
        return day

    def between(self, a: dt.date, b: dt.date) -> int:
        lo, hi, sign = (a, b, 1) if a <= b else (b, a, -1)
        count, day = 0, lo
        while day < hi:
            day += dt.timedelta(days=1)
            count += self.work(day)
        return sign * count


def oracle(plans, days: Days, run_dates: list[dt.date]):
    """Per run date: {(unit, milestone, rung)} fired and {(kind, group): {(unit, milestone): item}}.

    ``plans(day)``: the plan in force that day."""
    submitted: dict[tuple[str, str], dt.date] = {}
    history: dict[tuple[str, str], list[tuple[str, str, dt.date, bool]]] = {}  # rung, kind, on, sent
    out = {}
    for today in run_dates:
        plan = plans(today)
        rungs = list(plan.escalation.rungs)
        entries = [(m, unit) for m in plan.milestones() if m.report is None for unit in m.units]
        for unit, milestone in SUBMITTED.get(today, []):
            submitted[unit, milestone] = today
        fired_today: dict[tuple[str, str], list] = {}
        for m, unit in entries:
            key = (unit, m.id)
            if key in submitted and submitted[key] <= today:
                continue
            enforceable = m.source != "assumed" and plan.units[unit].resolved_role != "task-only"
            allowed = [r for r in rungs if enforceable or r.kind in ("remind", "chase")]
            reached = [r for r in allowed if today >= days.shift(m.due, r.offset)]
            done = {rung for rung, *_ in history.get(key, [])}
            escalated = any(kind != "remind" for _, kind, _, _ in history.get(key, []))
            for r in reached:
                if r.kind == "remind" and (r is not reached[-1] or escalated):
                    continue
                if r.id not in done:
                    fired_today.setdefault(key, []).append(r)
        messages: dict[tuple[str, str], dict[tuple[str, str], tuple]] = {}
        sent: set[tuple[str, str, str]] = set()
        for (unit, milestone_id), fired in fired_today.items():
            due = next(m.due for m, u in entries if m.id == milestone_id and u == unit)
            for audience in ("unit", "coordinator", "leadership"):
                mine = [r for r in fired if audience in r.to]
                if not mine:
                    continue
                top = max(mine, key=lambda r: [x.id for x in rungs].index(r.id))
                sent.add((unit, milestone_id, top.id))
                n = days.between(today, due) if top.kind == "remind" else days.between(due, today)
                earlier = []
                if top.kind != "remind":
                    first: dict[str, dt.date] = {}
                    for _, kind, on, was_sent in sorted(history.get((unit, milestone_id), []),
                                                        key=lambda h: (h[2], KIND_RANK[h[1]])):
                        if was_sent and on < today and kind in HISTORY and KIND_RANK[kind] < KIND_RANK[top.kind]:
                            first.setdefault(kind, on)
                    earlier = sorted(([k, on.isoformat()] for k, on in first.items()), key=lambda e: KIND_RANK[e[0]])
                kind = {"unit": "unit-notice", "coordinator": "coordinator-list",
                        "leadership": "interview-proposal"}[audience]
                group = unit if audience == "unit" else audience
                messages.setdefault((kind, group), {})[unit, milestone_id] = (top.id, n, earlier)
        for (unit, milestone_id), fired in fired_today.items():
            for r in fired:
                history.setdefault((unit, milestone_id), []).append(
                    (r.id, r.kind, today, (unit, milestone_id, r.id) in sent))
        out[today] = ({(u, m, r.id) for (u, m), fired in fired_today.items() for r in fired}, messages)
    return out


def stored(day: dt.date):
    with session_scope() as session:
        fired = {tuple(row) for row in session.execute(
            select(LedgerEntry.unit_id, LedgerEntry.milestone_id, Escalation.rung_id)
            .join(LedgerEntry, LedgerEntry.id == Escalation.entry_id).where(Escalation.fired_on == day))}
        messages = {}
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.run_date == day)):
            notice = json.loads(row.notice)
            group = notice["unit_id"] or {"coordinator-list": "coordinator",
                                          "interview-proposal": "leadership"}[row.kind]
            # item arrays: entry, unit, milestone, milestone facts, due, rung, kind, days, formats, assumed, earlier
            messages[row.kind, group] = {(i[1], i[2]): (i[5], i[7], [list(e) for e in i[10]])
                                         for i in notice["items"]}
    return fired, messages


def test_sweep_fires_and_tells_what_the_oracle_says(tmp_path, db_url):
    versions = {day: load_plan(write_plan(tmp_path, day)) for day in (D(2024, 5, 20), MOVED, CONFIRMED)}

    def plans(day: dt.date):
        return versions[max(d for d in versions if d <= day)]

    days = Days(plans(MOVED).calendar)
    run_dates = [D(2024, 5, 20) + dt.timedelta(days=n) for n in range(130)]
    run_dates = [d for d in run_dates if days.work(d) and not OFF[0] <= d <= OFF[1]]
    assert MOVED in run_dates and CONFIRMED in run_dates
    expected = oracle(plans, days, run_dates)
    total = 0
    for today in run_dates:
        with session_scope() as session:
            if today == run_dates[0] or today in versions:
                sync_ledger(session, plans(today))
            for unit, milestone in SUBMITTED.get(today, []):
                ledger.record_submission(session, unit_id=unit, milestone_id=milestone, submitted_on=today,
                                         source="cli", actor="测试员")
            run_sweep(session, plan=plans(today), today=today)
        fired, messages = stored(today)
        assert fired == expected[today][0], today
        assert messages == expected[today][1], today
        total += len(fired)
    # The scenario reaches every rung, catches up after the gap, and skips missed reminders.
    kinds = {rung.split("-")[0] for fired, _ in expected.values() for _, _, rung in fired}
    assert kinds == {"remind", "overdue", "supervise", "interview"}
    assert total > 300


def test_a_non_working_day_fires_nothing(tmp_path, db_url):
    plan = load_plan(write_plan(tmp_path))
    with session_scope() as session:
        sync_ledger(session, plan)
        result = run_sweep(session, plan=plan, today=D(2024, 7, 13))  # a Saturday
    assert result.fired == [] and result.notices == []
    assert stored(D(2024, 7, 13)) == (set(), {})
