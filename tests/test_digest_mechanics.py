"""How the digest runs, apart from what it writes (tests/test_digest_golden.py pins that):
the cyclic garbage collector waits during the digest and is back afterwards, refusal or not;
the dashboard pages written by a second thread."""

from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pytest

from plan.errors import DubanError


def test_the_collector_waits_during_the_digest_and_is_back_after(synced, workdir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import report_jobs

    seen: list[tuple[bool, int]] = []
    real_build = report_jobs.build

    def build(*args, **kwargs):  # the real aggregation, observed
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        return real_build(*args, **kwargs)

    monkeypatch.setattr(report_jobs, "build", build)
    assert gc.isenabled()
    report_jobs.run_digest(plan_path="plan.yaml", today=dt.date(2024, 7, 15), email=False)
    assert len(seen) == 1 and seen[0][0] is False and seen[0][1] > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_collector_is_back_after_a_refused_digest(workdir: Path) -> None:
    from flows.report_jobs import run_digest

    with pytest.raises(DubanError):
        run_digest(plan_path="plan.yaml", today=dt.date(2024, 7, 15), email=False)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_page_that_cannot_be_written_fails_the_digest_after_the_pages_before_it(
        synced, workdir: Path) -> None:
    """Pages are written by a second thread: a failed write still reaches the caller, and
    the pages handed over before it are on disk."""
    from flows.report_jobs import run_digest

    folder = workdir / "var" / "reports" / "2024-07-15"
    (folder / "units" / "yangpu.html").mkdir(parents=True)  # a folder where a unit's page goes
    with pytest.raises(IsADirectoryError):
        run_digest(plan_path="plan.yaml", today=dt.date(2024, 7, 15), email=False)
    assert (folder / "index.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert len(list((folder / "tasks").glob("task-*.html"))) > 16  # more than MAX_PENDING before it
    assert gc.isenabled() and gc.get_freeze_count() == 0
