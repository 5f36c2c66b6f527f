"""The ephemeral Prefect server's lifecycle under real processes (issue #11): two first runs
at once on a fresh directory both succeed, and a ``kill -9`` of ``duban run`` leaves no
Prefect server behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _duban() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]


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


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_first_runs_at_once_on_a_fresh_directory(workdir: Path) -> None:
    runs = [subprocess.Popen([*_duban(), "run", "--today", "2024-07-08"], cwd=workdir,
                             env=_env(workdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    results = [(p.communicate(timeout=300), p.returncode) for p in runs]
    for (_, stderr), code in results:
        assert code == 0, stderr
        assert "Timed out" not in stderr and "Traceback" not in stderr
    queued = sorted(int(out.split("新排队 ")[1].split(" 封")[0]) for (out, _), _ in results)
    assert queued[0] == 0 and queued[1] > 20  # one queued everything, the other nothing


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
