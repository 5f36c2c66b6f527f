"""Tables of the digest, evaluation and requests (issue #5); imported by the migrations.

Rectification (整改), interview (约谈) and request (请示) rows point at ledger entries
of ``Milestone.origin`` evaluation / request: the ledger tracks their deadlines (so the
sweep chases them), these tables keep what the ledger has no column for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import utcnow


class DigestSnapshot(SQLModel, table=True):
    """The digest's figures as of one date; the history the dashboard charts are drawn from."""

    __tablename__ = "digest_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    as_of: dt.date = Field(unique=True)
    overall: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tasks: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    units: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    supervised: int = 0
    interview_proposals: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class EvaluationRun(SQLModel, table=True):
    """One evaluation of a period.  A re-run supersedes the draft; approval freezes it."""

    __tablename__ = "evaluation_run"

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16, index=True)
    as_of: dt.date
    status: str = Field(default="draft", max_length=16)  # draft | approved | superseded
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow)
    approved_by: str | None = Field(default=None, max_length=128)
    approved_at: dt.datetime | None = None


class EvaluationScore(SQLModel, table=True):
    """A unit's score in a run, its rank, the proposed list and the reasons behind it."""

    __tablename__ = "evaluation_score"
    __table_args__ = (UniqueConstraint("run_id", "unit_id", name="uq_score_run_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="evaluation_run.id", index=True)
    unit_id: str = Field(foreign_key="unit.id", max_length=64)
    score: float
    rank: int
    proposed: str = Field(default="none", max_length=16)  # by the rules: commend | criticise | none
    final: str = Field(default="none", max_length=16)  # after coordinators' overrides
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class EvaluationOverride(SQLModel, table=True):
    """A coordinator's decision to put a unit on or take it off a list, with who and why."""

    __tablename__ = "evaluation_override"

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16, index=True)
    unit_id: str = Field(foreign_key="unit.id", max_length=64)
    action: str = Field(max_length=16)  # include | exclude
    target: str | None = Field(default=None, max_length=16)  # commend | criticise (include only)
    reason: str
    actor: str = Field(max_length=128)
    at: dt.datetime = Field(default_factory=utcnow)


class Rectification(SQLModel, table=True):
    """整改 of a criticised unit: its ledger entry, and the 复查 result that feeds the next
    evaluation."""

    __table_args__ = (UniqueConstraint("period", "unit_id", name="uq_rectification_period_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16)
    unit_id: str = Field(foreign_key="unit.id", max_length=64)
    run_id: int = Field(foreign_key="evaluation_run.id")
    milestone_id: str = Field(foreign_key="milestone.id", max_length=128)
    due: dt.date
    active: bool = True  # false when an override took the unit off the criticism list
    review_result: str | None = Field(default=None, max_length=8)  # pass | fail
    reviewed_on: dt.date | None = None
    reviewer: str | None = Field(default=None, max_length=128)
    review_note: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class Interview(SQLModel, table=True):
    """约谈 of a criticised unit's leader; held by the coordinator division, tracked as its
    ledger entry."""

    __table_args__ = (UniqueConstraint("period", "unit_id", name="uq_interview_period_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16)
    unit_id: str = Field(foreign_key="unit.id", max_length=64)
    run_id: int = Field(foreign_key="evaluation_run.id")
    milestone_id: str = Field(foreign_key="milestone.id", max_length=128)
    due: dt.date
    active: bool = True
    held_on: dt.date | None = None
    note: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class RequestItem(SQLModel, table=True):
    """请示: a unit's request for instructions, the bureau's reply (批复) and its follow-up."""

    __tablename__ = "request_item"

    id: int | None = Field(default=None, primary_key=True, sa_column_kwargs={"autoincrement": False})
    unit_id: str = Field(foreign_key="unit.id", max_length=64)  # the unit asking
    division_id: str = Field(foreign_key="unit.id", max_length=64)  # the division replying
    title: str
    received: dt.date
    reply_due: dt.date
    replied_on: dt.date | None = None
    follow_up_due: dt.date | None = None
    done_on: dt.date | None = None
    status: str = Field(default="open", max_length=16)  # open | replied | done
    actor: str = Field(max_length=128)
    created_at: dt.datetime = Field(default_factory=utcnow)
