"""The ledger's tables.  Plan dates are ``date``; timestamps are UTC ``datetime``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Unit(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str = Field(max_length=32)
    role: str = Field(default="reporting", max_length=16)  # reporting | task-only (plan.schema.UnitRole)
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    archived_at: dt.datetime | None = None


class Task(SQLModel, table=True):
    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    section: int
    section_title: str
    title: str
    summary: str
    lead: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    owners_confirmed: bool = True
    archived_at: dt.datetime | None = None


class Milestone(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=128)
    task_number: int | None = Field(default=None, foreign_key="task.number")
    title: str
    kind: str = Field(max_length=32)
    due: dt.date
    report_id: str | None = Field(default=None, max_length=128)  # closed by this report
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    stats_table: bool = False
    formats: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    period: str | None = Field(default=None, max_length=16)
    # seed | confirmed | assumed: only seed/confirmed dates are escalated past 催办 and scored.
    source: str = Field(default="seed", max_length=16)
    # plan: from plan.yaml (sync manages it); evaluation / request: created by duban itself
    # (整改 entries, 请示 replies), which sync must never archive.
    origin: str = Field(default="plan", max_length=16)
    archived_at: dt.datetime | None = None


class SyncState(SQLModel, table=True):
    """What the last sync applied: the plan's fingerprint (models.sync_read.plan_fingerprint).

    While it matches, the ledger already holds everything the plan says, so sync has nothing
    to diff; any other plan file or duban version gives another fingerprint and a full sync.
    """

    __tablename__ = "sync_state"

    name: str = Field(primary_key=True, max_length=32)  # "plan"
    fingerprint: str = Field(max_length=64)
    synced_at: dt.datetime = Field(default_factory=utcnow)


class RunLock(SQLModel, table=True):
    """A row written first in a transaction that must not run twice at once (the sweep).

    The write takes SQLite's write lock before anything is read, and a row lock on
    PostgreSQL, so a second concurrent sweep waits and then sees the first one's rows.
    """

    __tablename__ = "run_lock"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=255)
    at: dt.datetime = Field(default_factory=utcnow)


class SweepMark(SQLModel, table=True):
    """The last sweep, and what it assumed.

    A sweep on a later date, with the same ladder, calendar, milestones' dates status and
    units' roles (``fingerprint``), reads only the entries its :class:`SweepBasis` rows do
    not vouch for (models.sweep_basis); otherwise it checks every open entry's rows.
    """

    __tablename__ = "sweep_mark"

    name: str = Field(primary_key=True, max_length=64)
    swept_on: dt.date
    fingerprint: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow)


class SweepBasis(SQLModel, table=True):
    """What the last sweep to examine an entry saw of it (its due date, whether it may climb
    above 催办), and the first later day a rung is reached for it (models.sweep_basis).

    While the entry keeps that due date and enforceability, it can fire nothing before
    ``next_on``: every rung reached by then was fired or skipped when it was examined.
    """

    __tablename__ = "sweep_basis"

    # No foreign key, as for escalation rows: ledger entries are never deleted (0017).
    entry_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    due: dt.date
    enforceable: bool
    next_on: dt.date  # date.max: no rung left to reach


class LedgerEntry(SQLModel, table=True):
    """台账: one (milestone × unit) obligation."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("milestone_id", "unit_id", name="uq_entry_milestone_unit"),
        Index("ix_entry_status_due", "status", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: str = Field(foreign_key="milestone.id", max_length=128)
    unit_id: str = Field(foreign_key="unit.id", max_length=64, index=True)
    due: dt.date
    status: str = Field(default="open", max_length=16)  # open | submitted | waived
    submitted_on: dt.date | None = None  # first submission's date
    waived_reason: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    archived_at: dt.datetime | None = None


class Submission(SQLModel, table=True):
    """报送: what a unit delivered for an entry. Never deleted."""

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entry.id", index=True)
    unit_id: str = Field(max_length=64)
    milestone_id: str = Field(max_length=128)
    submitted_on: dt.date
    late: bool = False
    recorded_at: dt.datetime = Field(default_factory=utcnow)
    source: str = Field(max_length=32)  # cli | inbox | stats | ledger
    actor: str = Field(max_length=128)
    note: str | None = None
    files: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class AuditLog(SQLModel, table=True):
    """Every change to the ledger, who made it and why."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(max_length=160)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Escalation(SQLModel, table=True):
    """A rung of the ladder that fired for an entry (提醒/催办/督导检查/约谈). Fires once."""

    __table_args__ = (UniqueConstraint("entry_id", "rung_id", name="uq_escalation_entry_rung"),)

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: uq_escalation_entry_rung begins with it (migration 0016).  No
    # foreign key either (0017): the sweep checks each batch of rows against ledger_entry at
    # once, and a trigger keeps ledger entries from being deleted.
    entry_id: int
    rung_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # remind | chase | supervise | interview
    fired_on: dt.date = Field(index=True)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message_key: str | None = Field(default=None, max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """An email waiting to go, or gone.

    A sweep notice (``content = "notice"``) stores its items as JSON with the template version
    and is rendered when sent or shown (``notifications.compose.materialise``); other
    messages (digest, evaluation, receipts, rows from before migration 0013) store bodies.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)  # recipient + run date + rung set
    message_id: str = Field(max_length=255, unique=True)  # RFC 5322 Message-ID, with <>
    kind: str = Field(max_length=32)  # unit-notice | coordinator-list | interview-proposal | digest
    run_date: dt.date = Field(index=True)
    unit_id: str | None = Field(default=None, max_length=64)
    sender: str = Field(max_length=255)
    to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cc: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str  # kept for listings; a notice row's subject is rendered from its items
    body_text: str | None = None  # content "bodies" only
    body_html: str | None = None
    content: str = Field(default="bodies", max_length=16, sa_column_kwargs={"server_default": "bodies"})
    notice: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # plan.notice JSON
    template_version: str | None = Field(default=None, max_length=32)  # notifications.render
    # [{path (under var/), name, sha256, content_type}]: see notifications/attachments.py
    attachments: list[dict[str, str]] = Field(default_factory=list,
                                              sa_column=Column(JSON, nullable=False, server_default="[]"))
    state: str = Field(default="queued", max_length=16, index=True)  # queued|sending|sent|failed
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None
    lease_until: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None
    # {address: {"state": sent|retrying|failed, "reply": server reply}}; an address not
    # listed has not been settled yet (NULL: none has).  Migration 0012.
    recipient_states: dict[str, dict[str, str]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True))
