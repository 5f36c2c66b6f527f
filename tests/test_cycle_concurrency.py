"""Two cycles at once on the same database queue and send every message exactly once.

Each cycle runs in its own process (as two ``duban run`` would), released together
from a barrier, against a real SMTP server on loopback.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from models.db import session_scope
from models.tables import Escalation, OutboxMessage

pytest_plugins = ["tests.smtp_server"]


def _cycle(env: dict[str, str], cwd: str, day: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    os.environ.update(env)
    os.chdir(cwd)
    from flows.steps import run_cycle

    barrier.wait(timeout=60)
    summary = run_cycle(plan_path="plan.yaml", today=dt.date.fromisoformat(day))
    results.put((summary["sweep"]["messages_queued"], summary["deliver"]["sent"]))


def _run_twice_at_once(workdir: Path, day: str) -> list[tuple[int, int]]:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    env = {k: v for k, v in os.environ.items() if k.startswith(("DUBAN_", "PREFECT_"))}
    workers = [context.Process(target=_cycle, args=(env, str(workdir), day, barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
        assert worker.exitcode == 0
    return [results.get(timeout=5) for _ in workers]


def test_two_cycles_at_once_send_each_message_once(workdir, smtp_server):
    outcomes = _run_twice_at_once(workdir, "2024-07-08")
    with session_scope() as session:
        rows = list(session.execute(select(OutboxMessage)).scalars())
        fired = session.execute(select(Escalation.entry_id, Escalation.rung_id)).all()
    assert rows, "the half-year summary is overdue on 07-08: something must be queued"
    assert sum(queued for queued, _ in outcomes) == len(rows)  # each key queued by one run only
    assert sum(sent for _, sent in outcomes) == len(rows)
    assert all(row.state == "sent" and row.attempts == 1 for row in rows)
    assert len(fired) == len(set(fired))
    received = Counter(smtp_server.handler.message_ids())
    assert set(received) == {row.message_id for row in rows}
    assert max(received.values()) == 1

    # A third run the same day finds nothing new to say.
    again = _run_twice_at_once(workdir, "2024-07-08")
    assert again == [(0, 0), (0, 0)]
    assert len(smtp_server.received) == len(rows)
