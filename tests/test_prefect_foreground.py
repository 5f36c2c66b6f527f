"""Flows a command runs in the foreground (``duban run``/``digest``/``evaluate``) send no
flow-run heartbeats unless the user asked for them: Prefect's heartbeat thread held every
run up to a second after its work was done."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import prefect_env

ROOT = Path(__file__).resolve().parents[1]
# Inside the flow: the heartbeat frequency Prefect sees, and whether its heartbeat thread runs
# (the engine starts it with the loop function as its argument).
SCRIPT = """
import json, sys, threading
from flows.prefect_env import configure_prefect, run_in_foreground
configure_prefect()
from prefect import flow
from prefect.settings import get_current_settings

@flow(name="foreground-probe", persist_result=False)
def probe() -> dict:
    beating = [t for t in threading.enumerate()
               if any(getattr(a, "__name__", "") == "heartbeat_loop" for a in getattr(t, "_args", ()))]
    return {"frequency": get_current_settings().flows.heartbeat_frequency, "heartbeat_thread": bool(beating)}

print(json.dumps(run_in_foreground(probe) if sys.argv[1] == "foreground" else probe()))
"""


def _probe(tmp_path: Path, api_url: str, mode: str, **env: str) -> dict[str, object]:
    run = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=tmp_path, capture_output=True, text=True,
                         env={**prefect_env(api_url, DUBAN_VAR=str(tmp_path / "var"), PYTHONPATH=str(ROOT)), **env},
                         timeout=300)
    assert run.returncode == 0, run.stderr
    result: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(("mode", "env", "expected"), [
    ("foreground", {}, {"frequency": None, "heartbeat_thread": False}),
    # Prefect's default for flows run any other way (deployments through workers).
    ("plain", {}, {"frequency": 180, "heartbeat_thread": True}),
    # A frequency the user set wins, in either spelling Prefect reads.
    ("foreground", {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "45"}, {"frequency": 45, "heartbeat_thread": True}),
    ("foreground", {"PREFECT_RUNNER_HEARTBEAT_FREQUENCY": "60"}, {"frequency": 60, "heartbeat_thread": True}),
])
def test_foreground_flows_send_heartbeats_only_when_the_user_asks(
        tmp_path: Path, prefect_api: str, mode: str, env: dict[str, str], expected: dict[str, object]) -> None:
    (tmp_path / "var").mkdir()
    assert _probe(tmp_path, prefect_api, mode, **env) == expected
