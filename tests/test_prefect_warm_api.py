"""The warm Prefect API (issue #13): ``duban serve``/``duban api`` record it in
var/prefect/api.json and ``duban run`` uses it instead of starting Prefect's local server;
a stale record is removed; the user's own PREFECT_API_URL always wins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from flows import prefect_api as warm
from tests.chinese_text import flat
from tests.conftest import ROOT, prefect_env


def _duban() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]


def _record(workdir: Path, url: str, pid: int) -> Path:
    path = workdir / "var" / "prefect" / "api.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "url": url, "owner": pid}), encoding="utf-8")
    return path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _flow_runs(url: str) -> int:
    request = urllib.request.Request(f"{url}/flow_runs/count", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return int(json.load(reply))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_record_of_a_dead_server_is_removed_and_ignored(workdir: Path, monkeypatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    path = _record(workdir, "http://127.0.0.1:9/api", _dead_pid())
    assert warm.adopt_warm_api() is None
    assert not path.exists()
    assert "PREFECT_API_URL" not in os.environ


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_record_nobody_answers_is_removed(workdir: Path, monkeypatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    port = warm._free_port()  # nothing listens there: connection refused at once
    path = _record(workdir, f"http://127.0.0.1:{port}/api", os.getpid())
    assert warm.adopt_warm_api() is None
    assert not path.exists()
    assert "PREFECT_API_URL" not in os.environ


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_users_prefect_api_url_wins(workdir: Path, monkeypatch, prefect_api: str) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    path = _record(workdir, prefect_api, os.getpid())
    assert warm.adopt_warm_api() is None
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    assert path.exists()  # not ours to judge: it answers


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duban_run_uses_the_warm_api_recorded_in_var(workdir: Path, prefect_api: str) -> None:
    _record(workdir, prefect_api, os.getpid())
    env = prefect_env(prefect_api)
    del env["PREFECT_API_URL"]  # only the record says where the API is; no local server allowed
    env = {k: v for k, v in env.items() if not k.startswith("DUBAN_SMTP_")}
    before = _flow_runs(prefect_api)
    done = subprocess.run([*_duban(), "run", "--today", "2024-07-08"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert flat("新触发：催办 63 条，督办 19 条，约谈建议 19 条。") in flat(done.stdout)  # names, not rung ids
    assert _flow_runs(prefect_api) > before


# ``duban serve`` in its own process (Prefect reads PREFECT_API_URL when it is imported, so not
# in this one), with the session's server standing in for the child serve would start.
SERVE = """
import datetime as dt, subprocess, sys
from pathlib import Path
from flows import prefect_api
from flows.scheduling import serve
from models.db import get_engine

def start_server(env, log_path):
    started.append(subprocess.Popen(["sleep", "300"]))
    return started[-1], sys.argv[2]

started = []
prefect_api.start_server = start_server
runtime = serve.Runtime(plan_path=Path(sys.argv[1]), engine=get_engine(),
                        clock=lambda: dt.datetime.now(dt.UTC),
                        flow_paths=dict.fromkeys(serve.FLOW_PATHS, "builtins:print"))
serve.serve_forever(runtime)
print("stopped" if started[0].poll() is not None else "still running")
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_records_its_api_for_other_commands_and_removes_the_record(
        workdir: Path, prefect_api: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_EPHEMERAL_ENABLED="true", PREFECT_HOME=str(workdir / "prefect-home"),
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(workdir / "plan.yaml"), prefect_api],
                            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    record = workdir / "var" / "prefect" / "api.json"
    try:
        deadline = time.monotonic() + 120  # a bound on waiting, not a speed assertion
        while not record.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        state = json.loads(record.read_text(encoding="utf-8"))
        assert state["url"] == prefect_api and state["owner"] == proc.pid
        assert b"sleep" in Path(f"/proc/{state['pid']}/cmdline").read_bytes()
        # Another command in this folder adopts it.
        assert subprocess.run([sys.executable, "-c", "from flows.prefect_api import adopt_warm_api; "
                               "print(adopt_warm_api())"], cwd=workdir, env=env, capture_output=True,
                              text=True, check=True).stdout.strip() == prefect_api
        proc.send_signal(signal.SIGTERM)  # serve stops after its heartbeat wait is woken
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert stdout.strip() == "stopped"  # serve stopped the server it started
    assert not record.exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duban_api_refuses_when_one_answers_or_the_user_set_a_url(workdir: Path, prefect_api: str) -> None:
    _record(workdir, prefect_api, os.getpid())
    env = prefect_env(prefect_api)
    user = subprocess.run([*_duban(), "api"], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert user.returncode == 1
    assert user.stderr.startswith(f"错误：已设置 PREFECT_API_URL={prefect_api}，")
    del env["PREFECT_API_URL"]
    running = subprocess.run([*_duban(), "api"], cwd=workdir, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
    assert running.returncode == 1
    assert running.stderr == (f"错误：本目录已有常驻的 Prefect API：{prefect_api}（进程 {os.getpid()}）\n"
                              "提示：不必再启动；duban run / digest / evaluate 会自动使用它\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duban_api_starts_a_server_and_sigterm_stops_it(workdir: Path, tmp_path: Path) -> None:
    """The one test that starts a second server: ``duban api`` itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DUBAN_SMTP_"))}
    env["PREFECT_HOME"] = str(tmp_path / "api-home")
    proc = subprocess.Popen([*_duban(), "api"], cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    record = workdir / "var" / "prefect" / "api.json"
    try:
        deadline = time.monotonic() + 240  # a bound on waiting (migrations), not a speed assertion
        while not record.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        state = json.loads(record.read_text(encoding="utf-8"))
        assert warm.health(state["url"]) == "ok"
        assert state["owner"] == proc.pid
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert stdout.startswith(f"Prefect API 已就绪：{state['url']}（记录在 ")
    assert stdout.endswith("Prefect API 已停止。\n")
    assert not record.exists()
    assert not Path(f"/proc/{state['pid']}").exists() or \
        Path(f"/proc/{state['pid']}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
