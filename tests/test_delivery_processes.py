"""Delivery across processes: killed between the server's 250 and our commit, and two
delivery processes at once on the same database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from models.db import get_engine
from notifications.delivery import LEASE, DeliveryReport, deliver_pending
from notifications.transport import transport_from_env
from tests.test_notifications_samples import NOW, many_unit_notices, outbox_rows, queue_notices

if TYPE_CHECKING:
    from tests.smtp_server import SmtpServer

pytest_plugins = ["tests.smtp_server"]

ROOT = Path(__file__).resolve().parents[1]

# Delivers with the transport and database chosen from the environment, like the flow.
# Optionally waits for a "go" file so that several workers start sending together.
WORKER = r"""
import datetime as dt, json, os, sys, time
from pathlib import Path
from models.db import get_engine
from notifications.delivery import deliver_pending
from notifications.transport import transport_from_env

now, batch, go = dt.datetime.fromisoformat(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
engine, transport = get_engine(), transport_from_env()
if go != "-":
    Path(f"{go}.ready.{os.getpid()}").touch()
    while not Path(go).exists():
        time.sleep(0.01)
report = deliver_pending(engine_or_session_factory=engine, transport=transport, now=now,
                         batch=batch)
print(json.dumps(report.as_json()))
"""


def start_worker(*, now: dt.datetime, batch: int, go: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, now.isoformat(), str(batch), str(go) if go else "-"],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def test_killed_between_accept_and_commit(workdir, smtp_server: SmtpServer) -> None:
    from tests.smtp_server import kill_after

    keys = queue_notices(many_unit_notices(5))
    pid: dict[str, int] = {}
    # The server accepts message 2, then the sender dies before it can record that.
    smtp_server.handler.after_accept = kill_after(pid, 2)
    worker = start_worker(now=NOW, batch=10)
    pid["pid"] = worker.pid
    worker.communicate(timeout=120)
    assert worker.returncode == -9

    rows = {r.key: r for r in outbox_rows()}
    assert [rows[k].state for k in keys] == ["sent", "sending", "sending", "sending", "sending"]
    accepted_twice = rows[keys[1]]
    assert smtp_server.handler.message_ids() == [rows[keys[0]].message_id,
                                                 accepted_twice.message_id]

    # While the dead run's lease holds, another run leaves its messages alone.
    smtp_server.handler.after_accept = None
    transport = transport_from_env()
    assert deliver_pending(engine_or_session_factory=get_engine(), transport=transport,
                           now=NOW + dt.timedelta(minutes=1)) == DeliveryReport()
    assert len(smtp_server.received) == 2

    # After the lease: everything not recorded as sent goes, the accepted one again.
    later = NOW + LEASE + dt.timedelta(minutes=1)
    report = deliver_pending(engine_or_session_factory=get_engine(),
                             transport=transport_from_env(), now=later)
    assert report == DeliveryReport(sent=4)
    rows = {r.key: r for r in outbox_rows()}
    assert {r.state for r in rows.values()} == {"sent"}
    counts = collections.Counter(smtp_server.handler.message_ids())
    assert set(counts) == {r.message_id for r in rows.values()}  # nothing lost
    # At most the one message in the window is duplicated, with the same Message-ID.
    assert [mid for mid, n in counts.items() if n > 1] == [accepted_twice.message_id]
    assert counts[accepted_twice.message_id] == 2
    assert rows[keys[1]].attempts == 2 and rows[keys[2]].attempts == 2
    assert rows[keys[0]].attempts == 1


def test_two_delivery_processes_at_once(workdir, smtp_server: SmtpServer, tmp_path) -> None:
    queue_notices(many_unit_notices(60))
    smtp_server.handler.delay = 0.02  # keep both workers busy at the same time
    go = tmp_path / "go"
    # One message per claim: the two workers' claims overlap many times, so a claim that
    # is not atomic shows up as a message received twice (seen on PostgreSQL when the
    # SKIP LOCKED / state re-check was removed).
    workers = [start_worker(now=NOW, batch=1, go=go) for _ in range(2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready.*"))) < 2:
        assert time.monotonic() < deadline, [w.communicate() for w in workers]
        time.sleep(0.02)
    go.touch()
    reports = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    assert sum(r["sent"] for r in reports) == 60
    assert all(r["sent"] > 0 for r in reports), reports  # both really worked
    assert all(r["failed"] == r["retrying"] == 0 for r in reports)
    counts = collections.Counter(smtp_server.handler.message_ids())
    assert set(counts.values()) == {1}  # each message received exactly once
    rows = outbox_rows()
    assert set(counts) == {r.message_id for r in rows}
    assert {(r.state, r.attempts) for r in rows} == {("sent", 1)}
