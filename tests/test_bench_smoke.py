"""The benchmark suite runs end to end on tiny sizes and writes its JSON (no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT


def test_synthetic_plan_is_a_valid_plan(tmp_path: Path) -> None:
    from bench.synthetic import write_plan
    from plan import load_plan

    plan = load_plan(write_plan(tmp_path, units=30, milestones=12))
    assert len(plan.obligations()) == 30 * 12
    assert yaml.safe_load((tmp_path / "plan.yaml").read_text(encoding="utf-8"))["tasks"]


def test_bench_tiny_writes_json(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    result = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--output", str(output)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(output.read_text(encoding="utf-8"))
    sections = {row["section"] for row in report["results"]}
    assert sections == {"synthetic sync", "synthetic sweep", "synthetic sweep next day",
                        "synthetic sweep floor", "synthetic sweep next day floor", "synthetic sweep + 督办单",
                        "synthetic digest", "synthetic evaluate", "delivery", "replay",
                        "read-only commands"}
    for label in ("synthetic sweep", "synthetic sweep next day"):
        # The floor does the same work as duban's sweep on a copy of the same ledger.
        duban, floor = (next(r for r in report["results"] if r["section"] == s) for s in (label, f"{label} floor"))
        counts = ("entries_checked", "escalations", "queued")
        assert [duban[c] for c in counts] == [floor[c] for c in counts]
        assert duban["ratio"] == round(duban["seconds"] / floor["seconds"], 2)
    # The sweep that writes the 督办单 does the sweep's work on its own copy of the ledger,
    # and one sheet per supervised unit.
    sweep, sheets = (next(r for r in report["results"] if r["section"] == s)
                     for s in ("synthetic sweep", "synthetic sweep + 督办单"))
    assert [sheets[c] for c in counts] == [sweep[c] for c in counts]
    assert sheets["sheets"] > 0 and sheets["sheets_mb"] > 0
    assert sheets["cpu_seconds"] >= sheets["sheet_cpu_seconds"]
    assert sheets["ratio"] == round(sheets["seconds"] / sweep["seconds"], 2)
    # The digest's CPU: its own process and the child that draws the PDF brief.
    digest = next(r for r in report["results"] if r["section"] == "synthetic digest")
    assert digest["cpu_seconds"] > 0 and digest["child_cpu_seconds"] > 0
    delivery = next(r for r in report["results"] if r["section"] == "delivery")
    assert (delivery["sent"], delivery["failed"]) == (100, 0)
    read_only = [r for r in report["results"] if r["section"] == "read-only commands"]
    assert read_only[0]["case"] == "python -c pass (floor)"
    assert {r["case"] for r in read_only[1:]} >= {"duban status", "duban sync", "duban --help",
                                                  "duban --help (drawn, no page kept)"}
    # the drawing imports the command machinery that a replayed page does without
    drawn, replayed = (next(r for r in read_only if r["case"] == c)
                       for c in ("duban --help (drawn, no page kept)", "duban --help"))
    assert "pydantic" in drawn["imports"] and replayed["imports"] == []
    for row in read_only[1:]:  # each beside the floor, with what it imported
        assert row["ratio"] == round(row["cpu_seconds"] / max(read_only[0]["cpu_seconds"], 0.001), 1)
        assert row["prefect_imported"] is False and "sqlalchemy" not in row["imports"]
    assert {"nproc", "cpu", "memory_gb", "python", "sqlite"} <= set(report["machine"])
    assert "duban bench" in result.stdout


def test_prefect_rounds_start_from_the_ledger_init_left(tmp_path: Path) -> None:
    """Each round of the Prefect section runs on the ledger as it was kept, WAL included,
    and without what the earlier round wrote under var/."""
    import sqlite3
    from contextlib import closing

    from bench.run import keep_ledger, restore_ledger

    var = tmp_path / "var"
    var.mkdir()
    db = sqlite3.connect(var / "duban.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (v TEXT)")
    db.execute("INSERT INTO t VALUES ('init')")
    db.commit()  # left in the WAL while this connection stays open
    pristine = keep_ledger(var)
    db.execute("INSERT INTO t VALUES ('round 1')")
    db.commit()
    db.close()
    (var / "outbox").mkdir()
    (var / "outbox" / "1.eml").write_text("x", encoding="utf-8")
    (var / "cache").mkdir()

    restore_ledger(var, pristine)

    with closing(sqlite3.connect(var / "duban.db")) as again:
        assert [v for (v,) in again.execute("SELECT v FROM t")] == ["init"]
    assert not (var / "outbox").exists()
    assert (var / "cache").is_dir()  # the compiled templates stay


def test_scale_rows_divide_each_step_at_ten_times_by_the_same_step_at_national_size() -> None:
    from bench.run import scale_rows

    rows = [
        {"section": "synthetic sweep", "backend": "sqlite", "size": "national", "seconds": 2.0},
        {"section": "synthetic sweep", "backend": "sqlite", "size": "national-x10", "seconds": 26.0},
        {"section": "synthetic sweep floor", "backend": "sqlite", "size": "national", "seconds": 1.0},
        {"section": "synthetic sweep floor", "backend": "sqlite", "size": "national-x10", "seconds": 11.0},
        {"section": "synthetic digest", "backend": "postgresql", "size": "national", "seconds": 4.0},
        {"section": "synthetic digest", "backend": "postgresql", "size": "national-x10", "seconds": 40.0},
        {"section": "synthetic evaluate", "backend": "sqlite", "size": "national-x10", "seconds": 9.0},
        {"section": "synthetic sync", "backend": "sqlite", "size": "national", "seconds": 3.0},
        {"section": "synthetic sync", "backend": "sqlite", "size": "national-x10", "timed_out": True},
        {"section": "delivery", "backend": "sqlite", "seconds": 5.0},
    ]
    scaled = {(r["case"], r["backend"]): r for r in scale_rows(rows)}
    # Only steps measured at both sizes (and finished) get a row.
    assert set(scaled) == {("sweep", "sqlite"), ("sweep floor", "sqlite"), ("digest", "postgresql")}
    assert scaled["sweep", "sqlite"]["ratio"] == 13.0 and scaled["sweep", "sqlite"]["met"] is False
    assert scaled["digest", "postgresql"]["ratio"] == 10.0 and scaled["digest", "postgresql"]["met"] is True
    assert "met" not in scaled["sweep floor", "sqlite"]  # a floor's growth is shown, not judged
