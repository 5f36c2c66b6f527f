"""``duban serve``: plan.yaml's schedules run by APScheduler 3 in one process.

* Jobs live in APScheduler's ``SQLAlchemyJobStore`` in duban's own database, with
  ``coalesce=True``, ``max_instances=1`` and a misfire grace (see :mod:`flows.scheduling.triggers`),
  so a machine that was off overnight runs the missed cycle once when it starts.
* Every run first claims (job, day) in ``schedule_run``: whatever the catch-up, a restart or
  ``serve --once`` does, a job runs at most once a day (a one-off job at most once).
* A job's failure is logged and recorded (the digest shows it); the scheduler goes on.
* One ``serve`` per database: a lease row renewed by a heartbeat (:mod:`models.schedule`).
* SIGTERM/SIGINT let the running job finish, then the process exits 0.

Time comes from ``Runtime.clock`` and APScheduler's own clock, so a test can drive a
simulated week with a fake clock and :class:`SteppedScheduler`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import os
import pickle
import signal
import socket
import threading
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from flows.scheduling import triggers
from models.db import migrate, session_scope
from models.schedule import (
    acquire_lease,
    claim_run,
    finish_run,
    release_lease,
    renew_lease,
    runs_between,
)
from models.schedule_tables import JOBSTORE_TABLE
from plan import load_plan, schema
from plan.errors import DubanError
from plan.model import Plan
from plan.workdays import WorkCalendar

log = logging.getLogger("duban.serve")

# Flows by import path, resolved only when a job runs: serve starts without importing them.
FLOW_PATHS = {
    "cycle": "flows.cycle:cycle",
    "digest": "flows.digest:digest",
    "evaluate": "flows.evaluate:evaluate",
}
# What APScheduler stores for each job: the import path of the function it calls.
FIRE_REF = "flows.scheduling.serve:fire"
# Paths earlier versions stored (before serve moved to flows/scheduling/, #14).
OLD_FIRE_REFS = ("flows.serve:fire",)
LEASE_TTL = dt.timedelta(seconds=90)
HEARTBEAT_SECONDS = 30.0


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    flow: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return flow


@dataclass
class Runtime:
    """What a job needs when it fires; APScheduler stores only ``fire(job_id)``."""

    plan_path: Path
    engine: Engine
    clock: Callable[[], dt.datetime]
    flow_paths: dict[str, str] = field(default_factory=lambda: dict(FLOW_PATHS))
    mode: str = "serve"
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    today: dt.date | None = None  # serve --once --today D: run as of D
    outcomes: dict[str, str] = field(default_factory=dict)  # job id → what its last fire did


_runtime: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def local_day(now: dt.datetime, plan: Plan) -> dt.date:
    return now.astimezone(zoneinfo.ZoneInfo(plan.schedules.timezone)).date()


def claim_day(job: schema.Job, plan: Plan, today: dt.date) -> dt.date:
    """The day a run is claimed for: the execution day, or a one-off job's own date (so a
    one-off job runs once in all, not once per day it is still within its grace)."""
    return triggers.at_time(job, plan).date() if job.at is not None else today


def fire(job_id: str, signature: str = "") -> str:
    """APScheduler's entry point: run job ``job_id`` unless today is not for it.

    Returns what happened (ok / failed / skipped-…), for logs and tests.  ``signature`` is
    stored with the job only to notice when plan.yaml changed it.
    """
    runtime = _runtime
    if runtime is None:
        raise RuntimeError("flows.scheduling.serve.fire called without a runtime")
    outcome = _fire(runtime, job_id)
    runtime.outcomes[job_id] = outcome
    return outcome


def _fire(runtime: Runtime, job_id: str) -> str:
    try:
        plan = load_plan(runtime.plan_path)
    except DubanError as exc:  # plan.yaml broken since serve started: record, keep serving
        log.error("作业 %s 未运行：plan.yaml 有错误：%s", job_id, exc.message)
        day = runtime.today or runtime.clock().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
        with session_scope(runtime.engine) as session:
            if claim_run(session, job_id=job_id, flow="?", run_date=day, host=runtime.host,
                         pid=runtime.pid, mode=runtime.mode):
                finish_run(session, job_id=job_id, run_date=day,
                           error=f"plan.yaml 有错误：{exc.message}")
        return "failed"
    job = next((j for j in plan.schedules.jobs if j.id == job_id), None)
    if job is None:
        log.warning("作业 %s 已不在 plan.yaml 中，跳过", job_id)
        return "skipped-removed"
    now = runtime.clock()
    today = runtime.today or local_day(now, plan)
    if job.working_days_only and not WorkCalendar(plan.calendar).is_workday(today):
        log.info("作业 %s：%s 不是工作日，跳过", job_id, today)
        return "skipped-holiday"
    if runtime.today is None and triggers.stale_catch_up(job, plan, now):
        # A catch-up of an earlier day's run, on a day the job still fires: wait for that.
        log.info("作业 %s：今天稍后还会按时运行，不补跑", job_id)
        return "skipped-later"
    period = plan.meta.period
    if job.flow == "cycle" and not period.start <= today <= period.end:
        # After the period every item would read "已逾期 500 个工作日": say why nothing is sent.
        log.warning("作业 %s：%s 不在方案执行期（%s 至 %s）内，不提醒、不催办、不发送；"
                    "请更新 plan.yaml 的 meta.period 或停止 duban serve", job_id, today,
                    period.start, period.end)
        return "skipped-period"
    day = claim_day(job, plan, today)
    with session_scope(runtime.engine) as session:
        claimed = claim_run(session, job_id=job_id, flow=job.flow, run_date=day,
                            host=runtime.host, pid=runtime.pid, mode=runtime.mode)
    if not claimed:
        log.info("作业 %s：%s 已经运行过，不再重复", job_id, day)
        return "skipped-done"
    log.info("作业 %s（%s）开始，按 %s 运行", job_id, job.flow, today)
    error = run_flow(job, plan, runtime, today)
    with session_scope(runtime.engine) as session:
        finish_run(session, job_id=job_id, run_date=day, error=error)
    if not error:
        log.info("作业 %s 完成", job_id)
    return "failed" if error else "ok"


def run_flow(job: schema.Job, plan: Plan, runtime: Runtime, today: dt.date) -> str | None:
    """Call the job's flow; a failure becomes the error text (logged), never an exception."""
    try:
        flow = resolve(runtime.flow_paths[job.flow])
        flow(plan_path=str(runtime.plan_path), today=today.isoformat(), **job.params)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.info("作业 %s（%s）的错误详情", job.id, job.flow, exc_info=True)  # file only
        log.error("作业 %s（%s）失败：%s", job.id, job.flow, error)
        return error
    return None


# -- the schedulers ----------------------------------------------------------------------------
class SteppedScheduler(BaseScheduler):
    """A scheduler without a loop: each ``wakeup()`` runs the due jobs in the calling thread.

    ``serve --once`` is one step; a test drives a simulated week by stepping a fake clock.
    """

    def shutdown(self, wait: bool = True) -> None:  # abstract in BaseScheduler
        super().shutdown(wait)

    def wakeup(self) -> None:
        self._process_jobs()

    def _create_default_executor(self) -> DebugExecutor:
        return DebugExecutor()


def make_scheduler(engine: Engine, plan: Plan, *, stepped: bool = False) -> BaseScheduler:
    options: dict[str, Any] = {
        "jobstores": {"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        "job_defaults": {"coalesce": True, "max_instances": 1,
                         "misfire_grace_time": int(triggers.CRON_GRACE.total_seconds())},
        "timezone": zoneinfo.ZoneInfo(plan.schedules.timezone),
    }
    if stepped:
        return SteppedScheduler(executors={"default": DebugExecutor()}, **options)
    # One worker: jobs run one after another, never two flows writing the ledger at once.
    return BackgroundScheduler(executors={"default": ThreadPoolExecutor(1)}, **options)


def repoint_old_jobs(engine: Engine) -> None:
    """Point jobs stored under an old path of :func:`fire` at :data:`FIRE_REF`.

    APScheduler cannot load a job whose function no longer imports: it logs a traceback
    and deletes the job, so the first start after an upgrade would look like a failure.
    """
    table = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE).jobs_t
    with engine.begin() as connection:
        for row in connection.execute(select(table.c.id, table.c.job_state)).all():
            try:
                state = pickle.loads(row.job_state)
            except Exception:  # not ours to judge: APScheduler reports and drops it
                continue
            if state.get("func") in OLD_FIRE_REFS:
                state["func"] = FIRE_REF
                connection.execute(update(table).where(table.c.id == row.id)
                                   .values(job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))


def sync_jobs(scheduler: BaseScheduler, plan: Plan, runtime: Runtime) -> None:
    """Make the job store match plan.yaml's schedules (the one source of truth).

    An unchanged job keeps its stored next run time, so what it missed while duban was
    down is caught up (once).  A new or changed job starts from ``now − grace``: the first
    start after 09:00 still runs today's 09:00 cycle.
    """
    now = runtime.clock()
    wanted = {job.id: job for job in plan.schedules.jobs}
    for stored in scheduler.get_jobs():
        if stored.id not in wanted:
            scheduler.remove_job(stored.id)
    with session_scope(runtime.engine) as session:
        done = {(r.job_id, r.run_date) for r in runs_between(
            session, start=plan.meta.period.start - dt.timedelta(days=366),
            end=plan.meta.period.end + dt.timedelta(days=366))}
    for job in wanted.values():
        sig = triggers.signature(job, plan)
        stored = scheduler.get_job(job.id)
        if stored is not None and stored.kwargs.get("signature") == sig:
            continue
        if job.at is not None and ((job.id, triggers.at_time(job, plan).date()) in done
                                   or triggers.at_time(job, plan) + triggers.grace(job) < now):
            if stored is not None:  # ran already, or too long ago to run now
                scheduler.remove_job(job.id)
            continue
        trigger = triggers.job_trigger(job, plan)
        first = trigger.get_next_fire_time(None, now - triggers.grace(job))
        if first is None:
            continue
        scheduler.add_job(FIRE_REF, trigger=trigger, args=[job.id], kwargs={"signature": sig},
                          id=job.id, name=job.id,
                          replace_existing=True, next_run_time=first,
                          misfire_grace_time=int(triggers.grace(job).total_seconds()))


# -- single instance ------------------------------------------------------------------------
class Lease:
    """The database-wide lock of ``duban serve``; refuses with who holds it."""

    def __init__(self, engine: Engine, runtime: Runtime) -> None:
        self.engine, self.runtime = engine, runtime
        self.token = uuid.uuid4().hex

    def acquire(self) -> None:
        with session_scope(self.engine) as session:
            holder = acquire_lease(session, token=self.token, host=self.runtime.host,
                                   pid=self.runtime.pid, ttl=LEASE_TTL)
        if holder is not None:
            since = holder.since.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
            raise DubanError(
                f"duban serve 已在运行：主机 {holder.host}，进程 {holder.pid}，"
                f"自 {since:%Y-%m-%d %H:%M:%S}（北京时间）起",
                f"同一数据库只能运行一个 duban serve；先在 {holder.host} 上停止进程 {holder.pid}；"
                f"若它已崩溃，租约会在最后一次心跳后 {int(LEASE_TTL.total_seconds())} 秒自动失效")

    def renew(self) -> bool:
        with session_scope(self.engine) as session:
            return renew_lease(session, token=self.token, ttl=LEASE_TTL)

    def release(self) -> None:
        with session_scope(self.engine) as session:
            release_lease(session, token=self.token)

    @contextmanager
    def held(self) -> Iterator[Lease]:
        self.acquire()
        try:
            yield self
        finally:
            self.release()


def warm_prefect() -> None:
    """Start/ping the Prefect API in the main thread before jobs run in worker threads: two
    threads racing the first call can get ``ConnectError`` (STACK-NOTES)."""
    from flows.prefect_env import configure_prefect

    configure_prefect()
    # Prefect makes PREFECT_HOME without parents; a fresh var/ (PostgreSQL ledger) lacks them.
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    api_url = os.environ.get("PREFECT_API_URL")
    ephemeral = os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").lower() != "false"
    if not api_url and not ephemeral:
        return  # nothing to warm: the flows will say why they cannot reach Prefect
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        failure = client.api_healthcheck()
    if failure is not None:
        raise DubanError(f"无法连接 Prefect：{failure}",
                         "检查 PREFECT_API_URL，或去掉它使用本地模式")


# -- run modes ---------------------------------------------------------------------------------
def start_scheduler(runtime: Runtime, plan: Plan, *, stepped: bool = False) -> BaseScheduler:
    """Start a scheduler on the job store, matched to ``plan``; due jobs run at once (in a
    worker thread, or — ``stepped`` — right here)."""
    migrate(runtime.engine)  # before the job store, which would create its table itself
    repoint_old_jobs(runtime.engine)
    set_runtime(runtime)
    scheduler = make_scheduler(runtime.engine, plan, stepped=stepped)
    scheduler.start(paused=True)
    sync_jobs(scheduler, plan, runtime)
    scheduler.resume()
    return scheduler


def stop_scheduler(scheduler: BaseScheduler) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=True)  # lets the running job finish
    set_runtime(None)


def serve_forever(runtime: Runtime, *, warm: bool = True,
                  stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``); the running job finishes first."""
    migrate(runtime.engine)
    plan = load_plan(runtime.plan_path)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    lease = Lease(runtime.engine, runtime)
    with lease.held(), _warm_api(warm):
        if warm:
            warm_prefect()
        scheduler = start_scheduler(runtime, plan)
        try:
            log.warning("duban serve 已启动：%d 个作业", len(plan.schedules.jobs))
            mtime = _mtime(runtime.plan_path)
            while not stop.wait(HEARTBEAT_SECONDS):
                if not lease.renew():
                    log.error("serve 租约已被其他进程接管，停止")
                    break
                if _mtime(runtime.plan_path) != mtime:
                    mtime = _mtime(runtime.plan_path)
                    plan = _reload(runtime, scheduler, plan)
        finally:
            stop_scheduler(scheduler)
    log.warning("duban serve 已停止")


def _warm_api(warm: bool) -> contextlib.AbstractContextManager[str | None]:
    """A long-running serve keeps Prefect's API up for its own jobs and, through
    var/prefect/api.json, for ``duban run``/``digest``/``evaluate`` started beside it."""
    if not warm:
        return contextlib.nullcontext()
    from flows.prefect_api import warm_api

    return warm_api()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _reload(runtime: Runtime, scheduler: BaseScheduler, current: Plan) -> Plan:
    try:
        plan = load_plan(runtime.plan_path)
    except DubanError as exc:
        log.error("plan.yaml 有错误，继续使用原来的作业安排：%s", exc.message)
        return current
    sync_jobs(scheduler, plan, runtime)
    log.warning("plan.yaml 已变更，作业安排已更新")
    return plan


def serve_once(runtime: Runtime, *, warm: bool = True) -> None:
    """Run what is due now (including a catch-up within the grace), then return."""
    migrate(runtime.engine)
    plan = load_plan(runtime.plan_path)
    with Lease(runtime.engine, runtime).held():
        if warm:
            warm_prefect()
        stop_scheduler(start_scheduler(runtime, plan, stepped=True))


def run_day(runtime: Runtime, day: dt.date, *, warm: bool = True) -> dict[str, str]:
    """``serve --once --today D``: run every job that fires on D, as of D; the job store is
    left alone.  Returns job id → outcome."""
    migrate(runtime.engine)
    plan = load_plan(runtime.plan_path)
    outcomes: dict[str, str] = {}
    with Lease(runtime.engine, runtime).held():
        bounds = triggers.day_bounds(day, plan.schedules.timezone)
        due = [job for job in plan.schedules.jobs if any(triggers.fire_times(job, plan, *bounds))]
        if warm and due:
            warm_prefect()
        runtime.today = day
        set_runtime(runtime)
        try:
            for job in due:
                outcomes[job.id] = fire(job.id)
        finally:
            set_runtime(None)
            runtime.today = None
    return outcomes
