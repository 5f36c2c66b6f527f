"""What ``duban jobs`` reads about the scheduler's tables, as plain rows: the record types
(shared with :mod:`models.schedule`) and the same queries in sqlite3 for :mod:`models.lite`."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from models.lite import db_datetime, to_datetime

SERVE_LEASE = "serve"


@dataclass(frozen=True)
class RunRecord:
    job_id: str
    flow: str
    run_date: dt.date
    state: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    host: str
    pid: int


@dataclass(frozen=True)
class LeaseHolder:
    host: str
    pid: int
    since: dt.datetime
    heartbeat_at: dt.datetime
    expires_at: dt.datetime


def last_runs_sqlite(conn: sqlite3.Connection) -> dict[str, RunRecord]:
    """:func:`models.schedule.last_runs` in sqlite3."""
    rows = conn.execute(
        "SELECT r.job_id, r.flow, r.run_date, r.state, r.started_at, r.finished_at, r.error,"
        " r.host, r.pid FROM schedule_run r JOIN (SELECT job_id, max(run_date) AS day"
        " FROM schedule_run GROUP BY job_id) latest"
        " ON r.job_id = latest.job_id AND r.run_date = latest.day")
    return {job_id: RunRecord(job_id, flow, dt.date.fromisoformat(day), state,
                              to_datetime(started), to_datetime(finished), error, host, pid)  # type: ignore[arg-type]
            for job_id, flow, day, state, started, finished, error, host, pid in rows}


def lease_holder_sqlite(conn: sqlite3.Connection, *, now: dt.datetime,
                        name: str = SERVE_LEASE) -> LeaseHolder | None:
    """:func:`models.schedule.lease_holder` in sqlite3."""
    row = conn.execute("SELECT host, pid, since, heartbeat_at, expires_at FROM serve_lease"
                       " WHERE name = ? AND expires_at >= ?", (name, db_datetime(now))).fetchone()
    if row is None:
        return None
    host, pid, since, heartbeat, expires = row
    return LeaseHolder(host, pid, to_datetime(since), to_datetime(heartbeat), to_datetime(expires))  # type: ignore[arg-type]
