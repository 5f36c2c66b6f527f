"""``duban sync`` is a single step: it runs without Prefect, through the installed command.

Prefect is left unreachable on purpose (no ephemeral server, no API URL): a sync that tried
to start a flow would fail or create Prefect's home.  It runs in a subprocess so that
modules imported by other tests in this process do not hide an import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import table_snapshot

# Run the CLI in a fresh interpreter and report which heavy libraries it imported.
PROBE = """
import sys
sys.argv = ["duban", *sys.argv[1:]]
from flows.cli import main
try:
    main()
except SystemExit as exit_:
    code = exit_.code
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"prefect", "sqlalchemy", "sqlmodel", "alembic",
               "openpyxl", "docx", "jinja2", "weasyprint"})
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def _ledger(url: str) -> dict[str, list[tuple]]:
    # run_lock holds who last took the sync lock: bookkeeping, not ledger data.
    return {name: rows for name, rows in table_snapshot(url).items() if name != "run_lock"}


def _run(workdir: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    heavy = [line for line in done.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy, done.stderr
    return done, [m for m in heavy[-1].removeprefix("HEAVY=").split(",") if m]


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
           "PREFECT_HOME": str(tmp_path / "prefect-home"), "DUBAN_DATABASE_URL": db_url}
    env.pop("PREFECT_API_URL", None)
    return env


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duban_sync_runs_twice_without_prefect(workdir: Path, db_url: str, tmp_path: Path) -> None:
    env = _env(db_url, tmp_path)
    first, heavy = _run(workdir, env, "sync")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("方案已同步到台账（")
    assert "  新增台账条目 " in first.stdout
    assert "Traceback" not in first.stderr
    assert "prefect" not in heavy
    rows = _ledger(db_url)

    second, heavy = _run(workdir, env, "sync")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("台账已与方案一致，没有改动（")
    assert _ledger(db_url) == rows
    # An up-to-date ledger is checked with one query, not alembic's script directory.
    assert "prefect" not in heavy and "alembic" not in heavy
    assert not (tmp_path / "prefect-home").exists()  # Prefect never started


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_help_and_check_import_neither_prefect_nor_the_database(workdir: Path, db_url: str,
                                                                tmp_path: Path) -> None:
    env = _env(db_url, tmp_path)
    for args in (["--help"], ["check"], ["status", "--help"]):
        done, heavy = _run(workdir, env, *args)
        assert done.returncode == 0, done.stderr
        assert heavy == [], (args, heavy)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_single_step_commands_do_not_import_prefect(workdir: Path, db_url: str, tmp_path: Path) -> None:
    env = _env(db_url, tmp_path)
    assert _run(workdir, env, "sync")[0].returncode == 0
    for args in (["status"], ["record", "--unit", "pudong", "--milestone", "work-plan", "--today", "2024-06-04"],
                 ["waive", "--unit", "xuhui", "--milestone", "work-plan", "--reason", "测试"],
                 ["inbox", "--today", "2024-06-04"], ["outbox"]):
        done, heavy = _run(workdir, env, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "prefect" not in heavy, (args, heavy)
    assert not (tmp_path / "prefect-home").exists()
