"""The run-date guard: no back-dated run, no run outside the plan period (#10)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from flows.scheduling import serve
from flows.sweep import run_sweep
from models.db import get_engine, session_scope
from models.sweep import check_run_date, latest_run_date
from plan.errors import DubanError
from tests.test_serve_week import CALLS, STANDINS, FakeClock, ran

D = dt.date


def test_back_dated_and_out_of_period_days_are_refused(synced, plan) -> None:
    with session_scope() as session:
        check_run_date(session, plan=plan, today=D(2024, 6, 3))  # nothing recorded yet: fine
        run_sweep(session, plan=plan, today=D(2024, 7, 8))
    with session_scope() as session:
        assert latest_run_date(session) == D(2024, 7, 8)
        check_run_date(session, plan=plan, today=D(2024, 7, 8))  # the same day again is fine
        with pytest.raises(DubanError) as back:
            check_run_date(session, plan=plan, today=D(2024, 6, 3))
        with pytest.raises(DubanError) as after:
            check_run_date(session, plan=plan, today=D(2026, 1, 5))
    assert back.value.message == ("2024年6月3日早于已记录的最近一次运行（2024年7月8日），"
                                  "按这一天运行会对已催办、督办的事项重新发送提醒")
    assert back.value.hint == "检查 --today；确需补跑这一天，加 --force（不会重复提醒已升级的事项）"
    period = plan.meta.period
    assert after.value.message == (
        f"2026年1月5日不在方案执行期（{period.start.year}年{period.start.month}月{period.start.day}日"
        f"至{period.end.year}年{period.end.month}月{period.end.day}日）内，不提醒、不催办、不发送")


def test_serve_after_the_plan_period_skips_the_cycle(workdir: Path) -> None:
    CALLS.clear()
    runtime = serve.Runtime(plan_path=workdir / "plan.yaml", engine=get_engine(), clock=FakeClock(),
                            flow_paths=STANDINS, mode="once")
    outcome = serve.run_day(runtime, D(2026, 6, 2), warm=False)
    assert outcome["cycle"] == "skipped-period"
    assert ran("cycle") == []  # nothing reported as "已逾期 566 个工作日"
