"""One ``duban serve`` per database; SIGTERM finishes the running job; ``--once``."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.db import session_scope
from models.schedule import acquire_lease, lease_holder, runs_between
from tests.conftest import ROOT

EVERY_MINUTE = """schedules:
  timezone: Asia/Shanghai
  jobs:
    - {id: cycle, flow: cycle, cron: "* * * * *", working_days_only: false}
"""


def slow_cycle(plan_path: str, today: str, inbox: str | None = None) -> None:
    """A stand-in cycle that takes a few seconds, leaving marks to see it start and end."""
    folder = Path(os.environ["SERVE_TEST_DIR"])
    (folder / "started").write_text(today)
    time.sleep(3)
    (folder / "finished").write_text(today)


SCRIPT = """
import datetime as dt, sys
from pathlib import Path
from flows.scheduling import serve
from flows.clock import SHANGHAI
from models.db import get_engine
runtime = serve.Runtime(plan_path=Path(sys.argv[1]), engine=get_engine(),
                        clock=lambda: dt.datetime.now(SHANGHAI),
                        flow_paths={"cycle": "tests.test_serve_lock:slow_cycle"})
serve.serve_forever(runtime, warm=False)
"""


def _every_minute_plan(workdir: Path) -> Path:
    path = workdir / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("schedules:\n")
    end = text.index("\n# ----", start)
    text = text[:start] + EVERY_MINUTE + text[end:]
    # The jobs run on the real clock, and serve skips the cycle outside the plan period.
    old_period = "period: {start: 2024-05-14, end: 2024-12-31}"
    assert text.count(old_period) == 1
    text = text.replace(old_period, "period: {start: 2024-05-14, end: 2099-12-31}")
    path.write_text(text, encoding="utf-8")
    return path


def _wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear"
        time.sleep(0.1)


def test_sigterm_lets_the_running_job_finish_and_a_second_serve_is_refused(workdir, cli):
    plan = _every_minute_plan(workdir)
    env = {**os.environ, "SERVE_TEST_DIR": str(workdir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(plan)], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(workdir / "started")
        second = cli("serve", "--once")
        assert second.exit_code == 1
        with session_scope() as session:
            holder = lease_holder(session)
        assert holder is not None and holder.pid == proc.pid
        since = holder.since.astimezone(dt.timezone(dt.timedelta(hours=8)))
        assert second.output.splitlines()[:2] == [
            f"错误：duban serve 已在运行：主机 {socket.gethostname()}，进程 {proc.pid}，"
            f"自 {since:%Y-%m-%d %H:%M:%S}（北京时间）起",
            f"提示：同一数据库只能运行一个 duban serve；先在 {socket.gethostname()} 上停止进程 "
            f"{proc.pid}；若它已崩溃，租约会在最后一次心跳后 90 秒自动失效"]
        assert not (workdir / "finished").exists()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert (workdir / "finished").exists()  # the job was not cut short
    today = dt.date.fromisoformat((workdir / "finished").read_text())
    with session_scope() as session:
        runs = runs_between(session, start=today, end=today)
        assert lease_holder(session) is None  # released on the way out
    assert [(r.job_id, r.state) for r in runs] == [("cycle", "ok")]


def test_a_crashed_holders_lease_expires(workdir):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    with session_scope() as session:
        assert acquire_lease(session, token="crashed", host="old-host", pid=4242,
                             ttl=dt.timedelta(seconds=90), now=past) is None
    with session_scope() as session:
        assert lease_holder(session) is None  # expired
        assert acquire_lease(session, token="new", host="new-host", pid=1,
                             ttl=dt.timedelta(seconds=90)) is None  # taken over
        holder = acquire_lease(session, token="third", host="x", pid=2, ttl=dt.timedelta(seconds=90))
    assert holder is not None and (holder.host, holder.pid) == ("new-host", 1)


def test_serve_once_runs_what_is_due_today_once(workdir, cli, monkeypatch):
    from flows.scheduling import serve

    monkeypatch.setattr(serve, "FLOW_PATHS", {**serve.FLOW_PATHS,
                                              "cycle": "tests.test_serve_week:standin_cycle",
                                              "digest": "tests.test_serve_week:standin_digest"})
    from tests import test_serve_week

    test_serve_week.CALLS.clear()
    first = cli("serve", "--once", "--today", "2024-07-08")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == ["cycle：成功", "digest：成功"]
    again = cli("serve", "--once", "--today", "2024-07-08")
    assert again.output.splitlines() == ["cycle：跳过（今天已运行）", "digest：跳过（今天已运行）"]
    holiday = cli("serve", "--once", "--today", "2024-06-10")  # 端午, a Monday
    assert holiday.output.splitlines() == ["digest：成功"]
    assert test_serve_week.CALLS == [("cycle", "2024-07-08", {}), ("digest", "2024-07-08", {}),
                                     ("digest", "2024-06-10", {})]


def test_serve_today_needs_once(workdir, cli):
    result = cli("serve", "--today", "2024-07-08")
    assert result.exit_code == 2
    assert "--today 只能与 --once 一起使用" in result.output


@pytest.mark.parametrize("args", [("serve", "--help"), ("jobs", "--help"), ("deploy", "--help"),
                                  ("replay", "--help")])
def test_help(cli, args):
    result = cli(*args)
    assert result.exit_code == 0 and "用法：" in result.output and "Usage" not in result.output
