"""Tables of intake: statistics tables, ledger-workbook progress, inbox files."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import utcnow


class StatsReport(SQLModel, table=True):
    """One import of a unit's 行政保护案件统计表 for a period.  A re-import adds a version
    and makes it current; earlier versions stay as history."""

    __tablename__ = "stats_report"
    __table_args__ = (
        UniqueConstraint("unit_id", "period", "version", name="uq_stats_unit_period_version"),
        Index("ix_stats_period_current", "period", "is_current"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(foreign_key="unit.id", max_length=64)
    period: str = Field(max_length=16)  # half-year | annual
    entry_id: int = Field(foreign_key="ledger_entry.id", index=True)  # the unit's summary entry
    version: int
    is_current: bool = True
    received_on: dt.date
    source: str = Field(max_length=32)  # cli | inbox
    file_name: str | None = None
    file_sha256: str | None = Field(default=None, max_length=64)
    actor: str = Field(max_length=128)
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recorded_at: dt.datetime = Field(default_factory=utcnow)
    superseded_at: dt.datetime | None = None


class StatsFigure(SQLModel, table=True):
    """One figure of a report, × 10⁴ so 万元 with 4 decimals is an exact integer (元)."""

    __tablename__ = "stats_figure"

    report_id: int = Field(foreign_key="stats_report.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=64)  # e.g. trademark-infringement.cases
    value_e4: int = Field(sa_column=Column(BigInteger, nullable=False))


class ProgressUpdate(SQLModel, table=True):
    """A unit's own progress on an entry, from its ledger workbook.  Never deleted; the
    newest per entry is current.  It never closes an entry: only a submission does."""

    __tablename__ = "progress_update"
    __table_args__ = (Index("ix_progress_entry_current", "entry_id", "is_current"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="ledger_entry.id")
    unit_id: str = Field(foreign_key="unit.id", max_length=64)  # the author unit
    department: str | None = None  # 责任部门
    person: str | None = None  # 责任人
    state: str | None = Field(default=None, max_length=16)  # not-started | in-progress | done
    percent: int | None = None  # 完成比例 0–100
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # 进展说明
    is_current: bool = True
    reported_on: dt.date  # the run date (--today), deterministic on replays
    source: str = Field(max_length=32)  # cli | inbox
    file_name: str | None = None
    file_sha256: str | None = Field(default=None, max_length=64)
    actor: str = Field(max_length=128)
    recorded_at: dt.datetime = Field(default_factory=utcnow)


class InboxFile(SQLModel, table=True):
    """A file the inbox took in (recorded as a submission, or imported)."""

    __tablename__ = "inbox_file"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    name: str
    path: str  # relative to the inbox, as found
    size: int
    unit_id: str = Field(foreign_key="unit.id", max_length=64)
    milestone_id: str | None = Field(default=None, max_length=128)
    outcome: str = Field(max_length=16)  # submission | stats | ledger
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    stats_report_id: int | None = Field(default=None, foreign_key="stats_report.id")
    processed_on: dt.date
    actor: str = Field(max_length=128)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recorded_at: dt.datetime = Field(default_factory=utcnow)
