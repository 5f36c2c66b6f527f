"""The pure-SQL floor (bench/floor.py) on PostgreSQL: its COPY stores what its INSERT stores,
it does duban's sweep's work, and the bench runs it beside the PostgreSQL sweep."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import PG_URL, ROOT

pg_only = pytest.mark.skipif(not PG_URL, reason="needs DUBAN_TEST_DATABASE_URL")


@pytest.mark.parametrize("db_url", ["postgresql"] if PG_URL else [], indirect=True)
def test_floor_copy_stores_what_its_insert_stores(synced, db_url: str) -> None:
    from bench.floor import ESCALATION, copy_escalations
    from models.db import get_engine

    engine = get_engine()
    with engine.connect() as conn:
        entries = [row[0] for row in conn.execute(text("SELECT id FROM ledger_entry ORDER BY id LIMIT 4"))]
    day = dt.date(2024, 2, 29)
    now = dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.UTC)
    # COPY's text format escapes backslash, tab, newline and CR; quotes and non-BMP pass as they are.
    rows = [(entries[0], "r1", "remind", day, now, json.dumps(["a@x.cn"]), "unit-notice|u1|2024-02-29"),
            (entries[1], "tab\there", "back\\slash", day, now, json.dumps(["新\n行", "c\rr"], ensure_ascii=False),
             "\\N"),
            (entries[2], "\\.", "quote'\"", day, now, json.dumps([]), "𠀀 emoji 😀|"),
            (entries[3], "", "", day, now, "null", "")]
    stored = []
    for write in (lambda cursor: copy_escalations(cursor, rows),
                  lambda cursor: cursor.executemany(ESCALATION.format(p="%s"), rows)):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            write(cursor)
            cursor.execute("SELECT entry_id, rung_id, kind, fired_on::text, created_at::text, recipients::text, "
                           "message_key FROM escalation ORDER BY id")
            stored.append(cursor.fetchall())
        finally:
            raw.rollback()
            raw.close()
    assert stored[0] == stored[1]
    assert len(stored[0]) == 4 and stored[0][1][1] == "tab\there" and stored[0][2][6] == "𠀀 emoji 😀|"


@pytest.mark.parametrize("today", [dt.date(2024, 7, 8)])
def test_floor_does_the_sweeps_work(synced, db_url: str, today: dt.date) -> None:
    """Both backends: the floor fires as many rungs and queues as many messages as duban's
    sweep on the same ledger (the sweep is rolled back first)."""
    from bench.floor import floor_sweep
    from flows.sweep import run_sweep
    from models.db import get_engine, session_scope

    with session_scope() as session:
        result = run_sweep(session, plan=synced, today=today)
        session.rollback()
    engine = get_engine()
    raw = engine.raw_connection()
    try:
        floor = floor_sweep(raw, plan=synced, today=today, placeholder="?" if db_url.startswith("sqlite") else "%s")
    finally:
        raw.close()
    assert result.escalations > 0
    assert floor == {"entries_checked": result.entries_checked, "escalations": result.escalations,
                     "queued": len(result.queued)}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM escalation")).scalar() == result.escalations


@pg_only
def test_bench_runs_a_postgresql_floor(tmp_path: Path) -> None:
    """``--pg``: each PostgreSQL sweep has its floor, measured on a copy of the same database."""
    from models.db import dispose_engines

    assert PG_URL
    dispose_engines()  # CREATE DATABASE … TEMPLATE needs the source without connections
    output = tmp_path / "latest.json"
    result = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--pg", PG_URL, "--ops", "sweep",
                             "--skip", "read-only", "--skip", "delivery", "--skip", "replay", "--output", str(output)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(output.read_text(encoding="utf-8"))["results"]
    for label in ("synthetic sweep", "synthetic sweep next day"):
        duban, floor = (next(r for r in rows if r["section"] == s and r["backend"] == "postgresql")
                        for s in (label, f"{label} floor"))
        counts = ("entries_checked", "escalations", "queued")
        assert [duban[c] for c in counts] == [floor[c] for c in counts]
        assert duban["ratio"] == round(duban["seconds"] / floor["seconds"], 2)
        assert floor["server_cpu_seconds"] is not None and "COPY" in floor["note"]
    from sqlalchemy import create_engine, make_url

    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg", database="postgres"))
    with admin.connect() as conn:  # the copy is dropped at the end
        name = f"{make_url(PG_URL).database}_floor"
        assert conn.execute(text("SELECT COUNT(*) FROM pg_database WHERE datname = :n"), {"n": name}).scalar() == 0
    admin.dispose()
