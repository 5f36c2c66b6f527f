"""Tables of the scheduler (``duban serve``): job runs, the single-instance lease, and
APScheduler's own job store.

``apscheduler_jobs`` is declared here with exactly the columns APScheduler's
``SQLAlchemyJobStore`` creates, so the migration creates it, autogenerate never proposes
dropping it, and the job store (which only creates it when missing) finds it ready.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import utcnow

JOBSTORE_TABLE = "apscheduler_jobs"

apscheduler_jobs = Table(
    JOBSTORE_TABLE,
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class JobRun(SQLModel, table=True):
    """One scheduled job on one day (Asia/Shanghai).  The unique key is what makes a job
    run at most once a day, whatever the scheduler, the restarts or the catch-up do."""

    __tablename__ = "schedule_run"
    __table_args__ = (UniqueConstraint("job_id", "run_date", name="uq_schedule_run_job_date"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=64)
    flow: str = Field(max_length=32)
    run_date: dt.date = Field(index=True)
    state: str = Field(default="running", max_length=16)  # running | ok | failed
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: dt.datetime | None = None
    error: str | None = None
    host: str = Field(max_length=255)
    pid: int
    mode: str = Field(default="serve", max_length=16)  # serve | once


class ServeLease(SQLModel, table=True):
    """Who runs ``duban serve`` on this database.  Renewed by a heartbeat; a holder that
    crashed stops renewing and its lease expires."""

    __tablename__ = "serve_lease"

    name: str = Field(primary_key=True, max_length=64)
    token: str = Field(max_length=64)
    host: str = Field(max_length=255)
    pid: int
    since: dt.datetime = Field(default_factory=utcnow)
    heartbeat_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime
