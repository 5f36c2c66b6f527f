"""flows.prefect_local: when a command starts its own local Prefect API, and what it says
when that server fails.  Each case is a fresh process (Prefect must not be imported yet);
none waits for a server to answer: tests/test_delivery_prefect.py runs real ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

START = """
import json, os, sys
from flows.prefect_local import start_local_api
import flows.prefect_local as local
url = start_local_api()
child = local._started.process.pid if local._started else None
print(json.dumps({"url": url, "env": os.environ.get("PREFECT_API_URL"), "child": child,
                  "prefect_imported": "prefect" in sys.modules}))
"""


def _start(tmp_path: Path, **extra: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DUBAN_"))}
    env.update(PYTHONPATH=str(ROOT), DUBAN_VAR=str(tmp_path / "var"), **extra)
    done = subprocess.run([sys.executable, "-c", START], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_no_server_when_the_user_named_one_or_switched_the_local_server_off(tmp_path: Path) -> None:
    named = _start(tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api")
    assert named == {"url": None, "env": "http://127.0.0.1:9/api", "child": None, "prefect_imported": False}
    off = _start(tmp_path, PREFECT_SERVER_EPHEMERAL_ENABLED="false")
    assert off == {"url": None, "env": None, "child": None, "prefect_imported": False}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_started_server_is_the_commands_api_and_stops_when_the_command_ends(tmp_path: Path) -> None:
    started = _start(tmp_path)
    url = started["url"]
    assert isinstance(url, str) and url.startswith("http://127.0.0.1:") and url.endswith("/api")
    assert started["env"] == url  # what Prefect will read when it is imported
    assert started["prefect_imported"] is False  # started without importing Prefect
    child = started["child"]
    assert isinstance(child, int)
    # The process exited right after starting it: its exit handler stopped the server.
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_the_servers_failure_is_its_exception_line(tmp_path: Path) -> None:
    from flows.prefect_local import _failure

    log = tmp_path / "prefect-local.log"
    earlier = "ValueError: an earlier start's failure\n"
    log.write_text(earlier + "Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                   "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) unable to open database file\n"
                   "(Background on this error at: https://sqlalche.me/e/21/e3q8)\n"
                   "21:57:41.980 | ERROR   | uvicorn.error - Application startup failed. Exiting.\n",
                   encoding="utf-8")
    assert _failure(log, len(earlier)) == ("sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) "
                                           "unable to open database file")
    log.write_text(earlier + "killed\n", encoding="utf-8")
    assert _failure(log, len(earlier)) == "killed"  # no exception: its last line
    assert _failure(log, log.stat().st_size) == "没有输出"
    assert _failure(tmp_path / "missing.log", 0) == "没有输出"
