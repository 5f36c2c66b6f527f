"""Every file the digest writes stays the same, byte for byte, as main's code wrote it.

``digest_golden.json`` holds the SHA-256 of each file under var/reports/<date>/ (dashboard
pages, digest.md, each member of ledger.xlsx, whose zip headers carry the time it was written;
not brief.pdf, whose metadata carries it too),
of the queued email's subject and bodies and of the digest's summary, for two ledgers: the
season of tests/report_fixtures.py (city scale: every unit a page, a history, statistics,
follow-ups) and a synthetic plan above ALL_UNIT_PAGES_UP_TO units (the national layout:
capped task pages, pages only for units with something to act on).

It was written from main at 7f5dac9, before the digest's speed work (#13), with

    DUBAN_WRITE_DIGEST_GOLDEN=1 DUBAN_TEST_DATABASE_URL=… pytest tests/test_digest_golden.py

and pins the output of any later change to the digest's reading, aggregation or writers.
Both backends are held to the same hashes: the same ledger gives the same files on SQLite and
PostgreSQL (PostgreSQL once listed a day's reports after its tasks' milestones, putting NULL
task numbers last where SQLite puts them first).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS

pytest_plugins = ["tests.report_fixtures"]

GOLDEN = Path(__file__).with_name("digest_golden.json")
WRITE = os.environ.get("DUBAN_WRITE_DIGEST_GOLDEN") == "1"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(reports: Path, day: dt.date, summary: dict[str, Any] | None) -> dict[str, Any]:
    from models.db import get_engine

    folder = reports / day.isoformat()
    files = {p.relative_to(folder).as_posix(): _sha(p.read_bytes())
             for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix not in (".pdf", ".xlsx")}
    for book in sorted(folder.glob("*.xlsx")):
        # A zip member's header carries the minute it was written: the members are compared.
        with zipfile.ZipFile(book) as z:
            for member in z.namelist():
                files[f"{book.name}/{member}"] = _sha(z.read(member))
    with get_engine().connect() as conn:
        email = conn.execute(text("SELECT subject, body_html, body_text FROM outbox "
                                  "WHERE kind = 'digest' AND run_date = :day"), {"day": day}).first()
    out: dict[str, Any] = {"files": files,
                           "email": [_sha((part or "").encode()) for part in email] if email else None}
    if summary is not None:
        # The files' paths differ per test folder: only their names are kept.
        summary = {**summary, "files": {k: Path(v).name for k, v in summary["files"].items()}}
        out["summary"] = _sha(json.dumps(summary, ensure_ascii=False, sort_keys=True).encode())
    return out


def _check(name: str, actual: dict[str, Any]) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if WRITE:
        expected[name] = actual
        GOLDEN.write_text(json.dumps(expected, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                          encoding="utf-8")
        return
    want = expected[name]
    for day, got in actual.items():
        # File by file first, so a failure names the page that changed.
        assert sorted(got["files"]) == sorted(want[day]["files"]), day
        for path, digest in got["files"].items():
            assert digest == want[day]["files"][path], f"{day}/{path} differs from main's"
        assert got == want[day], day


def test_season_digests_match_main(season, workdir: Path, db_url: str) -> None:
    from flows.report_jobs import run_digest

    # Three digests ran inside the season (with email); a fourth here keeps its summary too.
    result = run_digest(plan_path="plan.yaml", today=dt.date(2024, 7, 19), email=True)
    reports = workdir / "var" / "reports"
    actual = {day.isoformat(): _fingerprint(reports, day, None)
              for day in (dt.date(2024, 6, 17), dt.date(2024, 7, 1), dt.date(2024, 7, 15))}
    actual["2024-07-19"] = _fingerprint(reports, dt.date(2024, 7, 19), result.summary)
    _check("season", actual)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_national_layout_digest_matches_main(workdir: Path, db_url: str) -> None:
    from bench.synthetic import write_plan
    from flows.report_jobs import run_digest
    from flows.steps import sync_step
    from flows.sweep import run_sweep
    from models.db import session_scope
    from notifications.dashboard import ALL_UNIT_PAGES_UP_TO
    from plan import load_plan

    plan_path = write_plan(workdir / "national", units=ALL_UNIT_PAGES_UP_TO + 30, milestones=6)
    plan = load_plan(plan_path)
    sync_step(plan, actor="测试员")
    day = dt.date(2024, 7, 8)
    with session_scope() as session:
        run_sweep(session, plan=plan, today=day)
    result = run_digest(plan_path=plan_path, today=day, email=True)
    reports = workdir / "var" / "reports"
    _check("national", {day.isoformat(): _fingerprint(reports, day, result.summary)})
