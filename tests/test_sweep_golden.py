"""The sweep writes what it wrote before its bulk rewrite, run date by run date.

``sweep_golden.json`` was written by ``tests/sweep_scenario.py`` against main at 90844ee (and
again when the template version moved, and when the stored notice format became 2 (lists of
units store the items they name, with counts), nothing else differing); the
same scenario (a season on the shipped plan with submissions, a waiver, failed messages and
a week off) must give the same escalation rows, outbox rows and rendered messages here, on
every backend.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.sweep_scenario import replay

GOLDEN = Path(__file__).with_name("sweep_golden.json")


def test_sweep_output_matches_main_day_by_day(db_url):
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = replay()
    assert sum(v[0] for v in expected.values()) > 400  # the scenario does fire things
    differing = [day for day in expected if got.get(day) != expected[day]]
    first = differing[0] if differing else None
    assert not differing, f"first differing run date {first}: {got.get(first or '')} vs {expected.get(first or '')}"
    assert got.keys() == expected.keys()
