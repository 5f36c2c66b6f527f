"""The ephemeral Prefect server's lifecycle under real processes (issue #11): two first runs
at once on a fresh directory both succeed, and a ``kill -9`` of ``duban run`` leaves no
Prefect server behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _duban(*python_options: str) -> list[str]:
    script = Path(sys.executable).with_name("duban")
    if script.exists():
        return [sys.executable, *python_options, str(script)] if python_options else [str(script)]
    return [sys.executable, *python_options, "-c", "from flows.cli import main; main()"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DUBAN_SMTP_", "PREFECT_")) and k != "DUBAN_VAR"}
    return {**env, "PREFECT_SERVER_EPHEMERAL_ENABLED": "true", "DUBAN_ACTOR": "测试员",
            "DUBAN_VAR": str(home / "var")}


def _prefect_servers(parent: int | None = None) -> list[int]:
    """Live (not zombie) uvicorn processes serving Prefect's API; children of ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        state, ppid = stat[0], int(stat[1])
        if state != "Z" and b"prefect.server.api" in cmdline and (parent is None or ppid == parent):
            found.append(int(entry.name))
    return found


def _servers_for(home: Path) -> list[int]:
    """Live Prefect API servers whose PREFECT_HOME is ``home``'s, whoever their parent is."""
    marker = f"PREFECT_HOME={home / 'var' / 'prefect'}".encode()
    found = []
    for pid in _prefect_servers():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            found.append(pid)
    return found


def _imported(importtime: str) -> set[str]:
    """The modules a ``python -X importtime`` run imported, from its stderr."""
    return {line.rsplit("|", 1)[-1].strip() for line in importtime.splitlines()
            if line.startswith("import time:")}


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_first_runs_at_once_on_a_fresh_directory(workdir: Path) -> None:
    # Each run starts its own local server before importing Prefect (flows.prefect_local);
    # the first one is timed import by import, to see what its own process loaded.
    runs = [subprocess.Popen([*_duban(*options), "run", "--today", "2024-07-08"], cwd=workdir,
                             env=_env(workdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for options in (("-X", "importtime"), ())]
    results = [(p.communicate(timeout=300), p.returncode) for p in runs]
    for (_, stderr), code in results:
        assert code == 0, stderr
        assert "Timed out" not in stderr and "Traceback" not in stderr
    queued = sorted(int(out.split("新排队 ")[1].split(" 封")[0]) for (out, _), _ in results)
    assert queued[0] == 0 and queued[1] > 20  # one queued everything, the other nothing
    imported = _imported(results[0][0][1])
    assert "prefect.flows" in imported  # the cycle ran as a Prefect flow…
    # …against the server it started, without loading Prefect's server package itself.
    assert not {m for m in imported if m.startswith("prefect.server.api")}
    assert _servers_for(workdir) == []  # each stopped its server before it exited


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_local_server_that_cannot_start_is_named_with_its_error(workdir: Path) -> None:
    env = {**_env(workdir), "PREFECT_API_DATABASE_CONNECTION_URL":
           f"sqlite+aiosqlite:///{workdir / 'missing' / 'prefect.db'}"}
    run = subprocess.run([*_duban(), "run", "--today", "2024-07-08"], cwd=workdir, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 1
    assert run.stderr.startswith("错误：Prefect 本地服务器没有启动：进程已退出（退出码 3）："
                                 "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) "
                                 "unable to open database file"), run.stderr
    assert f"提示：详见 {workdir / 'var' / 'log' / 'prefect-local.log'}" in run.stderr.replace("\n", "")
    assert "Traceback" not in run.stderr + run.stdout
    assert _servers_for(workdir) == []
    # Nothing ran: the plan was never synced and nothing queued.
    with closing(sqlite3.connect(workdir / "var" / "duban.db")) as db:
        assert db.execute("SELECT COUNT(*) FROM ledger_entry").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_killed_run_leaves_no_prefect_server(workdir: Path) -> None:
    run = subprocess.Popen([*_duban(), "run", "--today", "2024-07-08"], cwd=workdir,
                           env=_env(workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers: list[int] = []
    try:
        while not servers and run.poll() is None:  # until duban has started its server
            servers = _prefect_servers(parent=run.pid)
            time.sleep(0.2)
        assert servers, "duban run ended before it started a Prefect server"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        deadline = time.monotonic() + 60  # a bound on waiting, not an assertion on speed
        while not all(_gone(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [pid for pid in servers if not _gone(pid)] == []
    finally:
        for pid in servers:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)  # only the server this test's duban started
        if run.poll() is None:
            run.kill()
