"""Shared fixtures: a real SQLite file per test, the real PostgreSQL when asked, the plan,
and the CLI run in-process.

Set ``DUBAN_TEST_DATABASE_URL`` (``.ci/run`` does) to run the database tests on
PostgreSQL as well as SQLite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "plan.yaml"

# Nothing here may start Prefect by accident; tests that need it opt in.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

PG_URL = os.environ.get("DUBAN_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def _reset_postgres(url: str) -> None:
    from models.db import dispose_engines, get_engine

    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    dispose_engines()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty ledger database: a SQLite file, or the PostgreSQL test database."""
    from models.db import dispose_engines

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'var' / 'duban.db'}"
    else:
        assert PG_URL
        url = PG_URL
        _reset_postgres(url)
    monkeypatch.setenv("DUBAN_DATABASE_URL", url)
    yield url
    dispose_engines()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Path:
    """A working directory with plan.yaml and var/, the database at ``db_url``."""
    shutil.copy(PLAN, tmp_path / "plan.yaml")
    (tmp_path / "var").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DUBAN_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("DUBAN_ACTOR", "测试员")
    return tmp_path


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real ``prefect server start`` for the whole session (free loopback port, its own
    PREFECT_HOME): every test that runs a flow points PREFECT_API_URL at it instead of
    starting Prefect's local server (~5–10 s each).  Only tests/test_delivery_prefect.py
    still starts local servers: the local mode itself is what it tests."""
    from flows.prefect_api import start_server, stop_server
    from flows.prefect_env import QUIET_DEFAULTS

    home = tmp_path_factory.mktemp("prefect-api")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
           **QUIET_DEFAULTS, "PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false"}
    process, url = start_server(env, home / "server.log")
    try:
        yield url
    finally:
        stop_server(process)


def prefect_env(api_url: str, **extra: str) -> dict[str, str]:
    """A subprocess environment whose flows report to ``api_url`` (and never start a local
    Prefect server: a mistake fails at once instead of costing a server start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {**env, "PREFECT_API_URL": api_url, "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
            "DO_NOT_TRACK": "1", **extra}


@pytest.fixture(scope="session")
def plan():
    from plan import load_plan

    return load_plan(PLAN)


@pytest.fixture
def synced(workdir: Path, plan):
    """The shipped plan synced into the fresh database (without Prefect)."""
    from models.db import session_scope
    from models.sync import sync_ledger

    with session_scope() as session:
        sync_ledger(session, plan)
    return plan


@pytest.fixture
def cli():
    """Run ``duban …`` in-process; returns the click Result."""
    from flows.cli import app

    runner = CliRunner()

    def run(*args: str, ok: bool | None = None):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        if ok is True:
            assert result.exit_code == 0, result.output
        return result

    return run


def table_snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every ledger table, to prove a refused action changed nothing."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        names = [n for n in inspect(engine).get_table_names() if n != "alembic_version"]
        with engine.connect() as conn:
            return {n: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{n}"'))), key=repr)
                    for n in names}
    finally:
        engine.dispose()
