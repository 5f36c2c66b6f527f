"""``duban serve`` over simulated weeks with a fake clock: the real APScheduler, the real job
store in the real database, only time is faked (stepped every 15 minutes)."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import zoneinfo
from pathlib import Path

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest
from sqlalchemy import select, update

from flows.scheduling import serve
from models.db import get_engine, session_scope
from models.schedule import recent_job_failures, runs_between
from models.schedule_tables import JOBSTORE_TABLE

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
CALLS: list[tuple[str, str, dict[str, str]]] = []
FAIL_ON: set[tuple[str, str]] = set()


def _call(flow: str, today: str, **params: str) -> None:
    CALLS.append((flow, today, params))
    if (flow, today) in FAIL_ON:
        raise RuntimeError(f"{flow} 模拟失败")


def standin_cycle(plan_path: str, today: str, inbox: str | None = None) -> dict[str, int]:
    assert Path(plan_path).is_file()
    _call("cycle", today)
    return {"queued": 0}


def standin_digest(plan_path: str, today: str) -> None:
    _call("digest", today)


def standin_evaluate(plan_path: str, period: str, today: str) -> None:
    _call("evaluate", today, period=period)


STANDINS = {name: f"tests.test_serve_week:standin_{name}" for name in ("cycle", "digest", "evaluate")}


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2024, 1, 1, tzinfo=SH)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, *args: int) -> None:
        self.now = dt.datetime(*args, tzinfo=SH)  # type: ignore[misc]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """APScheduler reads ``datetime.now`` in two modules; both see the fake clock."""
    fake = FakeClock()

    class FakeDatetime(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return fake.now.astimezone(tz) if tz else fake.now.replace(tzinfo=None)

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", FakeDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", FakeDatetime)
    CALLS.clear()
    FAIL_ON.clear()
    return fake


@pytest.fixture
def week_plan(workdir: Path) -> Path:
    """The shipped plan, with the half-year evaluation moved into the simulated week."""
    path = workdir / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    assert "at: 2024-07-20T10:00:00" in text
    path.write_text(text.replace("at: 2024-07-20T10:00:00", "at: 2024-06-12T10:00:00"),
                    encoding="utf-8")
    return path


class Machine:
    """One "process" of duban serve: start, let the clock run, stop."""

    def __init__(self, plan_path: Path, clock: FakeClock) -> None:
        self.plan_path, self.clock = plan_path, clock
        self.scheduler = None

    def start(self) -> None:
        from plan import load_plan

        runtime = serve.Runtime(plan_path=self.plan_path, engine=get_engine(), clock=self.clock,
                                flow_paths=STANDINS)
        self.scheduler = serve.start_scheduler(runtime, load_plan(self.plan_path), stepped=True)

    def run_until(self, *end: int, step: dt.timedelta = dt.timedelta(minutes=15)) -> None:
        until = dt.datetime(*end, tzinfo=SH)  # type: ignore[misc]
        while self.clock.now < until:
            self.clock.now = min(self.clock.now + step, until)
            self.scheduler.wakeup()  # type: ignore[union-attr]

    def stop(self) -> None:
        serve.stop_scheduler(self.scheduler)  # type: ignore[arg-type]


def ran(flow: str) -> list[str]:
    return [today for name, today, _ in CALLS if name == flow]


def test_simulated_week_around_dragon_boat(week_plan: Path, clock: FakeClock) -> None:
    clock.set(2024, 6, 7, 7, 0)  # Friday morning, first start ever
    machine = Machine(week_plan, clock)
    machine.start()
    assert CALLS == []  # 07:00: yesterday's 09:00 is not caught up, today's comes at 09:00
    machine.run_until(2024, 6, 11, 18, 0)
    machine.stop()  # the machine is switched off Tuesday evening …
    clock.set(2024, 6, 12, 10, 30)  # … and on again Wednesday 10:30, after the 09:00 cycle
    machine.start()
    assert CALLS[-2:] == [("cycle", "2024-06-12", {}),
                          ("evaluate", "2024-06-12", {"period": "half-year"})]
    machine.run_until(2024, 6, 16, 23, 0)
    machine.stop()

    # 06-08/09 weekend, 06-10 端午 holiday: no cycle; the missed Wednesday cycle ran once.
    assert ran("cycle") == ["2024-06-07", "2024-06-11", "2024-06-12", "2024-06-13", "2024-06-14"]
    assert ran("digest") == ["2024-06-10"]  # Mondays, holiday or not (working_days_only: false)
    assert ran("evaluate") == ["2024-06-12"]
    with session_scope() as session:
        runs = runs_between(session, start=dt.date(2024, 6, 1), end=dt.date(2024, 6, 30))
    assert [(r.job_id, r.run_date.isoformat(), r.state) for r in runs] == [
        ("cycle", "2024-06-07", "ok"), ("digest", "2024-06-10", "ok"),
        ("cycle", "2024-06-11", "ok"), ("cycle", "2024-06-12", "ok"),
        ("evaluate-half-year", "2024-06-12", "ok"), ("cycle", "2024-06-13", "ok"),
        ("cycle", "2024-06-14", "ok")]


def test_make_up_saturday_runs_and_failure_does_not_stop_the_scheduler(
        week_plan: Path, clock: FakeClock) -> None:
    FAIL_ON.add(("digest", "2024-09-09"))
    clock.set(2024, 9, 8, 20, 0)  # Sunday evening
    machine = Machine(week_plan, clock)
    machine.start()
    machine.run_until(2024, 9, 17, 23, 0)
    machine.stop()
    # 09-14 is a make-up working Saturday (调休); 09-15..17 中秋 holidays.
    assert ran("cycle") == ["2024-09-09", "2024-09-10", "2024-09-11", "2024-09-12", "2024-09-13",
                            "2024-09-14"]
    assert ran("digest") == ["2024-09-09", "2024-09-16"]  # the failed one, then the next
    with session_scope() as session:
        failures = recent_job_failures(session, dt.date(2024, 9, 1))
        later = recent_job_failures(session, dt.date(2024, 9, 10))
    assert [(f.job_id, f.run_date.isoformat(), f.state, f.error) for f in failures] == [
        ("digest", "2024-09-09", "failed", "RuntimeError: digest 模拟失败")]
    assert later == []
    assert ran("cycle")[0] == "2024-09-09"  # the cycle after the failed digest still ran


def test_never_twice_on_the_same_day(week_plan: Path, clock: FakeClock) -> None:
    clock.set(2024, 6, 11, 8, 0)
    machine = Machine(week_plan, clock)
    machine.start()
    machine.run_until(2024, 6, 11, 9, 30)
    machine.stop()
    assert ran("cycle") == ["2024-06-11"]
    # The job store is lost (a new database copy, a changed job): the fresh job catches up
    # 09:00 — and the day's claim refuses it.
    with get_engine().begin() as conn:
        conn.exec_driver_sql("DELETE FROM apscheduler_jobs")
    machine.start()
    machine.run_until(2024, 6, 11, 18, 0)
    machine.stop()
    # ``serve --once`` the same day does not run it again either.
    runtime = serve.Runtime(plan_path=week_plan, engine=get_engine(), clock=clock,
                            flow_paths=STANDINS, mode="once")
    serve.serve_once(runtime, warm=False)
    assert serve.run_day(runtime, dt.date(2024, 6, 11), warm=False) == {"cycle": "skipped-done"}
    assert ran("cycle") == ["2024-06-11"]


def test_long_outage_catches_up_once_not_per_day(week_plan: Path, clock: FakeClock) -> None:
    clock.set(2024, 6, 3, 8, 0)  # Monday
    machine = Machine(week_plan, clock)
    machine.start()
    machine.run_until(2024, 6, 3, 12, 0)
    machine.stop()
    clock.set(2024, 6, 6, 11, 0)  # Thursday 11:00: missed Tue, Wed and Thu 09:00
    machine.start()
    machine.stop()
    assert ran("cycle") == ["2024-06-03", "2024-06-06"]


def test_one_off_job_on_a_saturday_moves_to_the_next_working_day(
        workdir: Path, clock: FakeClock) -> None:
    plan = workdir / "plan.yaml"  # shipped plan: half-year evaluation at Saturday 2024-07-20
    clock.set(2024, 7, 19, 12, 0)
    machine = Machine(plan, clock)
    machine.start()
    machine.run_until(2024, 7, 23, 12, 0, step=dt.timedelta(hours=1))
    machine.stop()
    assert [c for c in CALLS if c[0] == "evaluate"] == [
        ("evaluate", "2024-07-22", {"period": "half-year"})]
    # A restart afterwards does not run the one-off job again.
    clock.set(2024, 7, 24, 10, 0)
    machine.start()
    machine.stop()
    assert ran("evaluate") == ["2024-07-22"]


def test_a_plan_broken_while_serving_is_recorded_and_serving_goes_on(
        week_plan: Path, clock: FakeClock) -> None:
    clock.set(2024, 6, 11, 8, 0)
    machine = Machine(week_plan, clock)
    machine.start()
    good = week_plan.read_text(encoding="utf-8")
    week_plan.write_text(good.replace("due_soon: 5", "due_soon: 五"), encoding="utf-8")
    machine.run_until(2024, 6, 11, 12, 0)
    week_plan.write_text(good, encoding="utf-8")
    machine.run_until(2024, 6, 12, 12, 0)
    machine.stop()
    assert ran("cycle") == ["2024-06-12"]
    with session_scope() as session:
        failures = recent_job_failures(session, dt.date(2024, 6, 11))
    assert [(f.job_id, f.run_date.isoformat()) for f in failures] == [("cycle", "2024-06-11")]
    assert failures[0].error == f"plan.yaml 有错误：{week_plan} 有 1 处错误，未做任何改动"


def _stored_refs() -> dict[str, str]:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    table = SQLAlchemyJobStore(engine=get_engine(), tablename=JOBSTORE_TABLE).jobs_t
    with get_engine().begin() as connection:
        return {row.id: pickle.loads(row.job_state)["func"]
                for row in connection.execute(select(table.c.id, table.c.job_state))}


def _store_old_refs() -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    table = SQLAlchemyJobStore(engine=get_engine(), tablename=JOBSTORE_TABLE).jobs_t
    with get_engine().begin() as connection:
        for row in connection.execute(select(table.c.id, table.c.job_state)).all():
            state = pickle.loads(row.job_state)
            state["func"] = "flows.serve:fire"
            connection.execute(update(table).where(table.c.id == row.id)
                               .values(job_state=pickle.dumps(state)))


def test_jobs_stored_before_serve_moved_are_kept_and_run(week_plan: Path, clock: FakeClock,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Rows of the job store name the function APScheduler calls by import path; those an
    earlier version wrote name ``flows.serve:fire``, gone since serve moved to
    flows/scheduling/ (#14).  They are repointed, not dropped with a traceback."""
    clock.set(2024, 6, 11, 7, 0)
    machine = Machine(week_plan, clock)
    machine.start()
    machine.run_until(2024, 6, 11, 18, 0)
    machine.stop()
    _store_old_refs()  # as an earlier version left the job store
    assert set(_stored_refs().values()) == {"flows.serve:fire"}

    clock.set(2024, 6, 12, 10, 30)  # restarted after the upgrade, after the 09:00 cycle
    with caplog.at_level(logging.WARNING, logger="apscheduler"):
        machine.start()
    machine.run_until(2024, 6, 12, 18, 0)
    machine.stop()
    assert ran("cycle") == ["2024-06-11", "2024-06-12"]  # the missed cycle caught up, once
    assert [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")
            and r.levelno >= logging.WARNING] == []
    assert set(_stored_refs().values()) == {serve.FIRE_REF}
