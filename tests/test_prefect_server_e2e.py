"""End to end, scaled out: a real ``prefect server start`` on PostgreSQL, a process work
pool, real workers, ``duban deploy``, the cycle deployment triggered through the server,
and the outbox checked in the ledger on PostgreSQL.

Databases (created when missing, on the PostgreSQL of ``DUBAN_TEST_DATABASE_URL`` or
127.0.0.1:5432): ``$DUBAN_E2E_PREFECT_DB`` (default duban_e2e_prefect) for Prefect itself
and ``$DUBAN_E2E_LEDGER_DB`` (default duban_e2e_ledger) for the ledger, which is emptied
first.  Skipped only when the Prefect server cannot start at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PLAN

pytestmark = pytest.mark.prefect_server

POOL = "duban-e2e"
SERVER_START_SECONDS = 120
RUN_TIMEOUT_SECONDS = 150

TRIGGER = """
import json, sys, time
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
days, timeout = sys.argv[1].split(","), float(sys.argv[2])
runs = [run_deployment("cycle/cycle", parameters={"today": day}, timeout=0) for day in days]
deadline = time.monotonic() + timeout
with get_client(sync_client=True) as client:
    while True:
        states = [client.read_flow_run(run.id).state for run in runs]
        if all(s.is_final() for s in states) or time.monotonic() > deadline:
            break
        time.sleep(1)
print(json.dumps([{"id": str(r.id), "state": s.type.value, "message": s.message}
                  for r, s in zip(runs, states)]))
"""


def _server_url() -> str:
    base = os.environ.get("DUBAN_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.set(database="postgres").render_as_string(hide_password=False)


def _database(name: str, *, trgm: bool = False, empty: bool = False) -> str:
    """Create database ``name`` if missing; return its libpq URL."""
    admin = create_engine(_server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no PostgreSQL: the Prefect server cannot start at all
        pytest.skip(f"PostgreSQL unreachable for the Prefect server: {exc}")
    finally:
        admin.dispose()
    url = make_url(_server_url()).set(database=name)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if trgm:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        if empty:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Processes:
    """Every process this test starts, stopped in ``finally`` (SIGTERM, then SIGKILL)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.procs = folder, []  # type: ignore[var-annotated]

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def scaled_out(tmp_path: Path) -> Iterator[dict]:
    prefect_db = _database(os.environ.get("DUBAN_E2E_PREFECT_DB", "duban_e2e_prefect"), trgm=True)
    ledger = _database(os.environ.get("DUBAN_E2E_LEDGER_DB", "duban_e2e_ledger"), empty=True)
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DUBAN_", "PREFECT_")) and k != "PYTHONPATH"}
    env = {**base, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api,
           "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.replace(
               "postgresql://", "postgresql+asyncpg://", 1),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
           "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "2"}
    workdir = tmp_path / "duban"
    workdir.mkdir()
    shutil.copy(PLAN, workdir / "plan.yaml")
    processes = Processes(tmp_path)
    bin_dir = Path(sys.executable).parent
    try:
        server = processes.start("server", [sys.executable, "-m", "prefect", "server", "start",
                                            "--host", "127.0.0.1", "--port", str(port)],
                                 env, tmp_path)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _healthy(api):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"prefect server start failed:\n{processes.log('server')}")
            time.sleep(0.5)
        worker_env = {**env, "DUBAN_DATABASE_URL": ledger}
        yield {"env": env, "worker_env": worker_env, "workdir": workdir, "ledger": ledger,
               "processes": processes, "bin": bin_dir}
    finally:
        processes.stop()


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            check=False)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _worker(setup: dict, name: str) -> None:
    setup["processes"].start(name, [sys.executable, "-m", "prefect", "worker", "start",
                                    "--pool", POOL, "--name", name],
                             setup["worker_env"], setup["workdir"])


def _trigger(setup: dict, *days: str) -> list[dict]:
    out = _run([sys.executable, "-c", TRIGGER, ",".join(days), str(RUN_TIMEOUT_SECONDS)],
               setup["env"], setup["workdir"], timeout=RUN_TIMEOUT_SECONDS + 60)
    runs = json.loads(out.strip().splitlines()[-1])
    logs = "\n".join(setup["processes"].log(n) for n in ("worker-1", "worker-2"))
    assert [r["state"] for r in runs] == ["COMPLETED"] * len(days), f"{runs}\n{logs}"
    return runs


def _expected_keys(days: list[dt.date]) -> dict[dt.date, set[str]]:
    """What one cycle per day queues on a fresh ledger: the same sweep on a scratch SQLite."""
    import tempfile

    from flows.replay import Replayer
    from models.db import get_engine
    from plan import load_plan

    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{tmp}/expected.db")
        replayer = Replayer(load_plan(PLAN), engine)
        replayer.prepare()
        keys = {}
        for day in days:
            replayer.day(day)
            with engine.connect() as conn:
                keys[day] = {k for (k,) in conn.execute(
                    text("SELECT key FROM outbox WHERE run_date = :d"), {"d": day})}
        engine.dispose()
    return keys


def test_cycle_deployment_on_prefect_server_with_workers(scaled_out: dict) -> None:
    setup = scaled_out
    env, workdir = setup["env"], setup["workdir"]
    _run([sys.executable, "-m", "prefect", "work-pool", "create", POOL, "--type", "process",
          "--overwrite"], env, workdir)
    deployed = _run([str(setup["bin"] / "duban"), "deploy", "--pool", POOL, "--today", "2024-07-08"],
                    env, workdir)
    assert f"已在工作池 {POOL} 注册 4 个部署" in deployed
    _worker(setup, "worker-1")
    _trigger(setup, "2024-07-08")

    from plan import load_plan

    plan = load_plan(PLAN)
    expected = _expected_keys([dt.date(2024, 7, 8), dt.date(2024, 7, 15)])
    engine = create_engine(setup["ledger"].replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key, kind, unit_id, state, attempts FROM outbox "
                                     "WHERE run_date = '2024-07-08'")).all()
        notices = sorted(r.unit_id for r in rows if r.kind == "unit-notice")
        # every unit owing the half-year summary gets one notice; the coordinator one list
        assert notices == sorted(plan.expand(["reporting-units"]))
        assert [r.kind for r in rows].count("coordinator-list") == 1
        assert {r.key for r in rows} == expected[dt.date(2024, 7, 8)]
        assert {(r.state, r.attempts) for r in rows} == {("sent", 1)}
        # the worker ran in the deployment's working directory: var/outbox beside plan.yaml
        assert len(list((workdir / "var" / "outbox").rglob("*.eml"))) == len(rows)

        # two workers, the same cycle triggered twice at once
        _worker(setup, "worker-2")
        _trigger(setup, "2024-07-15", "2024-07-15")
        with engine.connect() as conn:
            keys = [k for (k,) in conn.execute(text(
                "SELECT key FROM outbox WHERE run_date = '2024-07-15'"))]
            states = set(conn.execute(text(
                "SELECT state, attempts FROM outbox WHERE run_date = '2024-07-15'")).all())
            escalations = conn.execute(text(
                "SELECT entry_id, rung_id, count(*) FROM escalation GROUP BY entry_id, rung_id "
                "HAVING count(*) > 1")).all()
        assert keys and len(keys) == len(set(keys))
        assert set(keys) == expected[dt.date(2024, 7, 15)]
        assert states == {("sent", 1)}  # each message sent once, by one of the runs
        assert escalations == []
    finally:
        engine.dispose()
