"""A season of the supervision cycle replayed for the digest and evaluation tests.

The real sweep runs every day from 2024-05-20; units report on the days below, the
statistics tables come in through the intake feature, and the digest runs on three
Mondays so the dashboard has a history.  Expected values in the tests are worked out by
hand from the 2024 calendar (端午 2024-06-10 is a holiday).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

D = dt.date
REPORTING = ["huangpu", "xuhui", "changning", "jingan", "putuo", "hongkou", "yangpu", "minhang",
             "baoshan", "jiading", "pudong", "jinshan", "songjiang", "qingpu", "fengxian", "chongming",
             "lingang", "service-centre", "protection-centre", "policy-division",
             "utilization-division", "public-service-division"]
ENFORCEMENT = REPORTING[:17]

# Early reporters, in order of how early (they are the commendation candidates).
EARLY = {"pudong": (D(2024, 5, 24), D(2024, 6, 24)), "jiading": (D(2024, 5, 27), D(2024, 6, 25)),
         "songjiang": (D(2024, 5, 28), D(2024, 6, 26)), "huangpu": (D(2024, 5, 29), D(2024, 6, 27)),
         "protection-centre": (D(2024, 5, 30), D(2024, 6, 28))}
LATE_WORK_PLAN = {"xuhui": D(2024, 6, 12), "changning": D(2024, 6, 7)}
LATE_HALF_YEAR = {"xuhui": D(2024, 7, 9), "yangpu": D(2024, 7, 10)}
NEVER = {"jingan"}  # reports nothing
NO_DRAGON_BOAT = {"minhang"}
NO_STATS = {"yangpu"}
INCOMPLETE_STATS = {"putuo"}
DIGEST_DAYS = (D(2024, 6, 17), D(2024, 7, 1), D(2024, 7, 15))


def submissions() -> dict[dt.date, list[tuple[str, str]]]:
    plan: dict[dt.date, list[tuple[str, str]]] = {}

    def add(day: dt.date, unit: str, milestone: str) -> None:
        plan.setdefault(day, []).append((unit, milestone))

    add(D(2024, 6, 18), "pudong", "t08-cste")
    add(D(2024, 6, 18), "protection-centre", "t08-cste")
    for unit in REPORTING:
        if unit in NEVER:
            continue
        early = EARLY.get(unit)
        add(LATE_WORK_PLAN.get(unit) or (early[0] if early else D(2024, 6, 5)), unit, "work-plan")
        add(LATE_HALF_YEAR.get(unit) or (early[1] if early else D(2024, 7, 5)), unit, "half-year-summary")
    for unit in ENFORCEMENT:
        if unit not in NEVER | NO_DRAGON_BOAT:
            add(D(2024, 6, 20), unit, "t07-dragon-boat")
    return plan


def figures(complete: bool = True) -> dict[str, Decimal]:
    from plan import stats_table as st

    out = {row.key: Decimal(3 if row.item.kind == "count" else "1.5") for row in st.ROWS}
    out["patent-dispute.closed"] = Decimal(1)
    if not complete:
        del out["patent-dispute.closed"]
    return out


def replay(plan, until: dt.date, *, digests: tuple[dt.date, ...] = DIGEST_DAYS) -> dict[dt.date, object]:
    """Sweep each day from 2024-05-20 to ``until``, recording the season's submissions."""
    from flows.report_jobs import run_digest
    from flows.sweep import run_sweep
    from models import ledger
    from models.db import session_scope

    todo = submissions()
    results = {}
    day = D(2024, 5, 20)
    while day <= until:
        with session_scope() as session:
            for unit, milestone in todo.get(day, []):
                ledger.record_submission(session, unit_id=unit, milestone_id=milestone,
                                         submitted_on=day, source="cli", actor="测试员")
                if milestone == "half-year-summary" and unit not in NO_STATS:
                    _stats(session, unit, day)
            results[day] = run_sweep(session, plan=plan, today=day)
        if day in digests:
            run_digest(plan_path="plan.yaml", today=day, email=True)
        day += dt.timedelta(days=1)
    return results


def _stats(session, unit: str, day: dt.date) -> None:
    from models.intake import record_stats

    record_stats(session, unit_id=unit, period="half-year", figures=figures(unit not in INCOMPLETE_STATS),
                 received_on=day, source="cli", actor="测试员")


@pytest.fixture
def season(synced) -> Iterator[dict[dt.date, object]]:
    """The season replayed up to Friday 2024-07-19 (digests on 06-17, 07-01 and 07-15)."""
    yield replay(synced, D(2024, 7, 19))
