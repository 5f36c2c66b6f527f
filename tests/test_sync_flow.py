"""The one test that runs the real ``sync-plan`` Prefect flow, through the installed command.

Prefect's local ephemeral server is opted in for this test only (conftest turns it off),
with its own PREFECT_HOME; it runs in a subprocess so Prefect settings read at import
time in this process do not matter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import table_snapshot


def _ledger(url: str) -> dict[str, list[tuple]]:
    # run_lock holds who last took the sync lock: bookkeeping, not ledger data.
    return {name: rows for name, rows in table_snapshot(url).items() if name != "run_lock"}


def _duban() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duban_sync_runs_the_prefect_flow_twice(workdir: Path, db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
           "PREFECT_HOME": str(tmp_path / "prefect-home"), "DUBAN_DATABASE_URL": db_url}
    env.pop("PREFECT_API_URL", None)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_duban(), "sync"], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=300, check=False)

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("方案已同步到台账（")
    assert "  新增台账条目 " in first.stdout
    assert "Traceback" not in first.stderr
    rows = _ledger(db_url)

    second = run()
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("台账已与方案一致，没有改动（")
    assert _ledger(db_url) == rows
    assert (tmp_path / "prefect-home").is_dir()  # Prefect kept its state where we told it
