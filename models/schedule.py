"""Reads and writes of the scheduler's tables: the once-a-day run claims and the
single-instance lease of ``duban serve``.  Small keyword-only functions taking a session."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlmodel import Session

from models.locks import upsert
from models.schedule_read import SERVE_LEASE, LeaseHolder, RunRecord
from models.schedule_tables import JobRun, ServeLease
from models.tables import utcnow


def _insert_ignore(session: Session, table: Any, values: dict[str, object]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row went in.  (RETURNING, not
    rowcount: SQLAlchemy may add its own RETURNING, and then rowcount is -1.)"""
    statement = (upsert(session, table).values(**values).on_conflict_do_nothing()
                 .returning(*table.primary_key.columns))
    return session.execute(statement).first() is not None


# -- once a day -------------------------------------------------------------------------------
RUNS = JobRun.__table__  # type: ignore[attr-defined]
LEASES = ServeLease.__table__  # type: ignore[attr-defined]


def claim_run(session: Session, *, job_id: str, flow: str, run_date: dt.date, host: str, pid: int,
              mode: str = "serve") -> bool:
    """Claim ``job_id`` for ``run_date``.  False when it already ran (or is running) that day."""
    return _insert_ignore(session, RUNS, {
        "job_id": job_id, "flow": flow, "run_date": run_date, "state": "running",
        "started_at": utcnow(), "host": host, "pid": pid, "mode": mode,
    })


def finish_run(session: Session, *, job_id: str, run_date: dt.date,
               error: str | None = None) -> None:
    """Mark the claimed run ok, or failed with the error text."""
    session.execute(update(RUNS).where(RUNS.c.job_id == job_id, RUNS.c.run_date == run_date)
                    .values(state="failed" if error else "ok", error=error, finished_at=utcnow()))


def _records(query: Select[Any]) -> Select[Any]:
    c = RUNS.c
    return query.with_only_columns(c.job_id, c.flow, c.run_date, c.state, c.started_at,
                                   c.finished_at, c.error, c.host, c.pid)


def last_runs(session: Session) -> dict[str, RunRecord]:
    """The latest run of each job, by job id."""
    latest = (select(RUNS.c.job_id, func.max(RUNS.c.run_date).label("day"))
              .group_by(RUNS.c.job_id).subquery())
    query = _records(select(RUNS).join(
        latest, (RUNS.c.job_id == latest.c.job_id) & (RUNS.c.run_date == latest.c.day)))
    return {row.job_id: RunRecord(*row) for row in session.execute(query)}


def runs_between(session: Session, *, start: dt.date, end: dt.date) -> list[RunRecord]:
    """Every run from ``start`` to ``end`` (inclusive), oldest first."""
    query = _records(select(RUNS).where(RUNS.c.run_date >= start, RUNS.c.run_date <= end)
                     .order_by(RUNS.c.run_date, RUNS.c.job_id))
    return [RunRecord(*row) for row in session.execute(query)]


def recent_job_failures(session: Session, since: dt.datetime | dt.date) -> list[RunRecord]:
    """Scheduled jobs that failed since ``since`` (a UTC time, or a date: from that day on),
    newest first — for the leadership digest."""
    query = select(RUNS).where(RUNS.c.state == "failed")
    if isinstance(since, dt.datetime):
        query = query.where(RUNS.c.started_at >= since)
    else:
        query = query.where(RUNS.c.run_date >= since)
    return [RunRecord(*row) for row in session.execute(
        _records(query.order_by(RUNS.c.started_at.desc())))]


# -- single instance -----------------------------------------------------------------------
def acquire_lease(session: Session, *, token: str, host: str, pid: int, ttl: dt.timedelta,
                  now: dt.datetime | None = None, name: str = SERVE_LEASE) -> LeaseHolder | None:
    """Take the lease, or take over an expired one.  Returns None on success, else who holds it.

    Both steps are single statements, so two processes starting at once cannot both win.
    """
    now = now or utcnow()
    table = LEASES
    values = {"name": name, "token": token, "host": host, "pid": pid, "since": now,
              "heartbeat_at": now, "expires_at": now + ttl}
    if _insert_ignore(session, table, values):
        return None
    free = (table.c.expires_at < now) | (table.c.token == token)
    taken = session.execute(update(table).where(table.c.name == name, free).values(**values))
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return None
    row = session.execute(select(table).where(table.c.name == name)).one()
    return LeaseHolder(row.host, row.pid, row.since, row.heartbeat_at, row.expires_at)


def renew_lease(session: Session, *, token: str, ttl: dt.timedelta, now: dt.datetime | None = None,
                name: str = SERVE_LEASE) -> bool:
    """Extend our lease.  False when it is no longer ours (it expired and someone took it)."""
    now = now or utcnow()
    table = LEASES
    result = session.execute(update(table).where(table.c.name == name, table.c.token == token)
                             .values(heartbeat_at=now, expires_at=now + ttl))
    return result.rowcount == 1  # type: ignore[attr-defined]


def release_lease(session: Session, *, token: str, name: str = SERVE_LEASE) -> None:
    table = LEASES
    session.execute(delete(table).where(table.c.name == name, table.c.token == token))


def lease_holder(session: Session, *, now: dt.datetime | None = None,
                 name: str = SERVE_LEASE) -> LeaseHolder | None:
    """Who holds a live lease, or None."""
    now = now or utcnow()
    table = LEASES
    row = session.execute(select(table).where(table.c.name == name,
                                              table.c.expires_at >= now)).first()
    if row is None:
        return None
    return LeaseHolder(row.host, row.pid, row.since, row.heartbeat_at, row.expires_at)

