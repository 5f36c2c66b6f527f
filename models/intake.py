"""Reads and writes of intake: statistics tables, progress updates, inbox files.

Small keyword-only functions taking a session.  ``stats_status``, ``citywide_totals``
and ``progress_flags`` are read by the status command and the leadership digest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from models.db import in_code_order
from models.intake_tables import InboxFile, ProgressUpdate, StatsFigure, StatsReport
from models.ledger import audit, get_unit
from models.ledger_read import flag_texts
from models.tables import LedgerEntry, Milestone, Submission, Unit, utcnow
from plan import stats_table as st
from plan.errors import DubanError
from plan.ledger_sheet import Progress
from plan.status import ReportedProgress

SCALE = Decimal(10_000)


def _id(value: int | None) -> int:
    assert value is not None, "flushed rows have ids"
    return value


def _to_e4(value: Decimal) -> int:
    return int(value * SCALE)


def _from_e4(value: int) -> Decimal:
    return (Decimal(value) / SCALE).normalize()


# -- statistics tables ---------------------------------------------------------------------

def summary_entry(session: Session, *, unit_id: str, period: str) -> LedgerEntry:
    """The unit's live summary entry for ``period`` (the report with ``stats_table: true``)."""
    unit = get_unit(session, unit_id)
    entry = session.execute(
        select(LedgerEntry).join(Milestone, col(Milestone.id) == col(LedgerEntry.milestone_id))
        .where(col(LedgerEntry.unit_id) == unit_id, col(Milestone.period) == period,
               col(Milestone.stats_table).is_(True), col(Milestone.kind) == "report",
               col(LedgerEntry.archived_at).is_(None))
    ).scalars().first()
    if entry is None:
        raise DubanError(f"「{unit.name}」（{unit_id}）没有需要随统计表报送的{st.PERIOD_LABELS[period]}工作总结",
                         "统计表只由 plan.yaml 中 stats_table: true 的报告的报送单位填报；检查单位是否选错")
    return entry


def current_figures(session: Session, *, unit_id: str, period: str) -> st.Figures | None:
    rows = session.execute(
        select(col(StatsFigure.key), col(StatsFigure.value_e4))
        .join(StatsReport, col(StatsReport.id) == col(StatsFigure.report_id))
        .where(col(StatsReport.unit_id) == unit_id, col(StatsReport.period) == period,
               col(StatsReport.is_current).is_(True))
    ).all()
    return {key: _from_e4(v) for key, v in rows} if rows else None


@dataclass(frozen=True)
class StatsRecorded:
    report: StatsReport
    duplicate: bool
    replaced: int | None  # the version it replaced
    warnings: list[str]
    summary_submitted: bool  # the Word/PDF summary itself is recorded (the table alone is not)


def record_stats(session: Session, *, unit_id: str, period: str, figures: Mapping[str, Decimal],
                 received_on: dt.date, source: str, actor: str, file_name: str | None = None,
                 file_sha256: str | None = None, notes: Iterable[str] = ()) -> StatsRecorded:
    """Record a unit's table against its summary entry.  Identical figures (or the same
    file) again change nothing; different ones become a new current version."""
    entry = summary_entry(session, unit_id=unit_id, period=period)
    current = session.execute(
        select(StatsReport).where(col(StatsReport.unit_id) == unit_id, col(StatsReport.period) == period,
                                  col(StatsReport.is_current).is_(True))
    ).scalar_one_or_none()
    if current is not None:
        same_file = file_sha256 is not None and current.file_sha256 == file_sha256
        if same_file or current_figures(session, unit_id=unit_id, period=period) == dict(figures):
            return StatsRecorded(current, duplicate=True, replaced=None, warnings=list(current.warnings),
                                 summary_submitted=entry.submitted_on is not None)
    other = "annual" if period == "half-year" else "half-year"
    earlier = current_figures(session, unit_id=unit_id, period=other)
    warnings = list(notes)  # how the file's numbers were read (全角数字, 千位分隔符, 公式缓存值)
    if earlier is not None:
        half, annual = (figures, earlier) if period == "half-year" else (earlier, figures)
        warnings += st.cumulative_warnings(half, annual)
    version = 1
    if current is not None:
        version = current.version + 1
        current.is_current = False
        current.superseded_at = utcnow()
        session.add(current)
        session.flush()
    report = StatsReport(unit_id=unit_id, period=period, entry_id=_id(entry.id), version=version,
                         received_on=received_on, source=source, file_name=file_name,
                         file_sha256=file_sha256, actor=actor, warnings=warnings)
    session.add(report)
    session.flush()
    session.add_all([StatsFigure(report_id=_id(report.id), key=key, value_e4=_to_e4(value))
                     for key, value in figures.items()])
    audit(session, actor=actor, action="stats.import", object_type="entry",
          object_id=f"{entry.milestone_id}/{unit_id}",
          detail={"report": report.id, "period": period, "version": version, "source": source,
                  "file": file_name, "sha256": file_sha256, "warnings": warnings})
    return StatsRecorded(report, duplicate=False, replaced=current.version if current else None,
                         warnings=warnings, summary_submitted=entry.submitted_on is not None)


def _expected_units(session: Session, period: str) -> list[tuple[str, str]]:
    """(unit id, name) of every unit owing a statistics table for ``period``, plan order kept
    by unit id order of the unit table."""
    rows = session.execute(
        select(col(Unit.id), col(Unit.name)).join(LedgerEntry, col(LedgerEntry.unit_id) == col(Unit.id))
        .join(Milestone, col(Milestone.id) == col(LedgerEntry.milestone_id))
        .where(col(Milestone.period) == period, col(Milestone.stats_table).is_(True),
               col(Milestone.kind) == "report", col(LedgerEntry.archived_at).is_(None))
        .order_by(col(LedgerEntry.id))
    ).all()
    return list(dict.fromkeys((u, n) for u, n in rows))


def _current_by_unit(session: Session, period: str) -> dict[str, st.Figures]:
    out: dict[str, st.Figures] = {}
    for unit_id, key, value in session.execute(
        select(col(StatsReport.unit_id), col(StatsFigure.key), col(StatsFigure.value_e4))
        .join(StatsFigure, col(StatsFigure.report_id) == col(StatsReport.id))
        .where(col(StatsReport.period) == period, col(StatsReport.is_current).is_(True))
    ):
        out.setdefault(unit_id, {})[key] = _from_e4(value)
    return out


def stats_status(session: Session, period: str) -> dict[str, st.Figures | None]:
    """unit id → its current figures for ``period``, or None when it has not reported.
    Every unit owing the table is listed (plan order), reported or not."""
    current = _current_by_unit(session, period)
    return {unit_id: current.get(unit_id) for unit_id, _ in _expected_units(session, period)}


@dataclass(frozen=True)
class CitywideTotals:
    period: str
    figures: st.Figures  # sums over reporting units, every row present (0 when nobody reported)
    reported: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"period": self.period, "figures": st.as_json_figures(self.figures),
                "reported": self.reported, "missing": self.missing}


def citywide_totals(session: Session, period: str) -> CitywideTotals:
    """全市合计 of the current figures of ``period``, summed in SQL."""
    sums = dict(session.execute(
        select(col(StatsFigure.key), func.sum(col(StatsFigure.value_e4)))
        .join(StatsReport, col(StatsReport.id) == col(StatsFigure.report_id))
        .where(col(StatsReport.period) == period, col(StatsReport.is_current).is_(True))
        .group_by(col(StatsFigure.key))
    ).tuples().all())
    status = stats_status(session, period)
    return CitywideTotals(
        period=period, figures={row.key: _from_e4(int(sums.get(row.key) or 0)) for row in st.ROWS},
        reported=[u for u, f in status.items() if f is not None],
        missing=[u for u, f in status.items() if f is None],
    )


def unit_names(session: Session, unit_ids: Iterable[str]) -> dict[str, str]:
    ids = list(unit_ids)
    return dict(session.execute(select(col(Unit.id), col(Unit.name)).where(col(Unit.id).in_(ids))).tuples().all())


def stats_history(session: Session, *, period: str) -> list[StatsReport]:
    return list(session.execute(select(StatsReport).where(col(StatsReport.period) == period)
                                .order_by(in_code_order(session, col(StatsReport.unit_id)),
                                          col(StatsReport.version))).scalars())


# -- ledger workbook progress --------------------------------------------------------------

def current_progress(session: Session, *, unit_id: str | None = None) -> dict[int, Progress]:
    """entry id → its current progress, for one unit or (``unit_id=None``) all."""
    query = select(ProgressUpdate).where(col(ProgressUpdate.is_current).is_(True))
    if unit_id is not None:
        query = query.where(col(ProgressUpdate.unit_id) == unit_id)
    return {u.entry_id: _progress(u) for u in session.execute(query).scalars()}


def _progress(u: ProgressUpdate) -> Progress:
    return Progress(u.department, u.person, u.state, u.percent, u.note)


def reported_progress(session: Session, *, unit_id: str | None = None) -> dict[int, ReportedProgress]:
    """entry id → the latest progress reported for it and its date, for the entries of one
    unit or (``unit_id=None``) all; entries whose report is empty are left out."""
    u = ProgressUpdate
    query = (select(col(u.entry_id), col(u.department), col(u.person), col(u.state), col(u.percent),
                    col(u.note), col(u.reported_on))
             .join(LedgerEntry, col(LedgerEntry.id) == col(u.entry_id))
             .where(col(u.is_current).is_(True), col(LedgerEntry.archived_at).is_(None)))
    if unit_id is not None:
        query = query.where(col(LedgerEntry.unit_id) == unit_id)
    found = {entry_id: ReportedProgress(*rest) for entry_id, *rest in session.execute(query).tuples()}
    return {e: p for e, p in found.items() if not p.is_empty()}


def owned_entries(session: Session, *, unit_id: str) -> dict[int, str]:
    """entry id → milestone id of the unit's live entries."""
    return dict(session.execute(
        select(col(LedgerEntry.id), col(LedgerEntry.milestone_id))
        .where(col(LedgerEntry.unit_id) == unit_id, col(LedgerEntry.archived_at).is_(None))
    ).tuples().all())


@dataclass(frozen=True)
class ProgressRecorded:
    changed: list[int]
    unchanged: int


def record_progress(session: Session, *, unit_id: str, rows: Mapping[int, Progress], reported_on: dt.date,
                    source: str, actor: str, file_name: str | None = None,
                    file_sha256: str | None = None) -> ProgressRecorded:
    """Add an update for each entry whose progress differs from its current one; rows equal
    to what is recorded (an unedited export) change nothing."""
    current = current_progress(session, unit_id=unit_id)
    changed = sorted(e for e, p in rows.items() if current.get(e, Progress()) != p)
    if changed:
        session.execute(update(ProgressUpdate)
                        .where(col(ProgressUpdate.entry_id).in_(changed), col(ProgressUpdate.is_current).is_(True))
                        .values(is_current=False))
        session.add_all([ProgressUpdate(entry_id=e, unit_id=unit_id, department=rows[e].department,
                                        person=rows[e].person, state=rows[e].state, percent=rows[e].percent,
                                        note=rows[e].note, reported_on=reported_on, source=source,
                                        file_name=file_name, file_sha256=file_sha256, actor=actor)
                         for e in changed])
        audit(session, actor=actor, action="progress.import", object_type="unit", object_id=unit_id,
              detail={"entries": changed, "source": source, "file": file_name, "sha256": file_sha256})
    return ProgressRecorded(changed, unchanged=len(rows) - len(changed))


def progress_flags(session: Session) -> dict[int, str]:
    """entry id → a Chinese flag for ``duban status``: 已报完成，缺少佐证 (a unit marked it 已完成
    in its ledger workbook but no submission is recorded), 已收到统计表，总结未报送."""
    e, rep = LedgerEntry, aliased(LedgerEntry)
    submitted = func.coalesce(col(e.submitted_on), col(rep.submitted_on))
    open_entry = and_(submitted.is_(None), col(e.status) != "waived", func.coalesce(col(rep.status), "") != "waived")
    live = col(e.archived_at).is_(None)
    done = session.execute(
        select(col(e.id)).join(ProgressUpdate, col(ProgressUpdate.entry_id) == col(e.id))
        .join(Milestone, col(Milestone.id) == col(e.milestone_id))
        .outerjoin(rep, and_(col(rep.milestone_id) == col(Milestone.report_id), col(rep.unit_id) == col(e.unit_id)))
        .where(col(ProgressUpdate.is_current).is_(True), col(ProgressUpdate.state) == "done", live, open_entry)
    ).scalars().all()
    stats_only = session.execute(
        select(col(e.id)).join(StatsReport, col(StatsReport.entry_id) == col(e.id))
        .where(col(StatsReport.is_current).is_(True), col(e.submitted_on).is_(None), col(e.status) != "waived", live)
    ).scalars().all()
    return flag_texts(list(done), list(stats_only))


# -- inbox ---------------------------------------------------------------------------------

def submitted_hashes(session: Session, *, entry_ids: Iterable[int]) -> dict[int, set[str]]:
    """entry id → sha256 of every file already recorded for it (by any source)."""
    out: dict[int, set[str]] = {}
    for entry_id, files in session.execute(
        select(col(Submission.entry_id), col(Submission.files)).where(col(Submission.entry_id).in_(list(entry_ids)))
    ):
        out.setdefault(entry_id, set()).update(f["sha256"] for f in files or [])
    return out


def record_inbox_file(session: Session, *, sha256: str, name: str, path: str, size: int, unit_id: str,
                      milestone_id: str | None, outcome: str, processed_on: dt.date, actor: str,
                      submission_id: int | None = None, stats_report_id: int | None = None,
                      detail: dict[str, Any] | None = None) -> InboxFile:
    row = InboxFile(sha256=sha256, name=name, path=path, size=size, unit_id=unit_id, milestone_id=milestone_id,
                    outcome=outcome, processed_on=processed_on, actor=actor, submission_id=submission_id,
                    stats_report_id=stats_report_id, detail=detail or {})
    session.add(row)
    return row


@dataclass(frozen=True)
class HashOwner:
    unit_id: str
    milestone_id: str | None
    name: str


def hash_owners(session: Session, *, sha256s: Iterable[str]) -> dict[str, list[HashOwner]]:
    """sha256 → where that exact file is already recorded (submissions, tables, inbox files).

    Lets intake refuse one file for two units.  Submission files live in a JSON list, so
    they are scanned once per call (one query), not once per file."""
    wanted = set(sha256s)
    out: dict[str, list[HashOwner]] = {}
    if not wanted:
        return out
    for unit_id, milestone_id, files in session.execute(
        select(col(LedgerEntry.unit_id), col(LedgerEntry.milestone_id), col(Submission.files))
        .join(LedgerEntry, col(LedgerEntry.id) == col(Submission.entry_id))
    ):
        for f in files or []:
            if f.get("sha256") in wanted:
                out.setdefault(f["sha256"], []).append(HashOwner(unit_id, milestone_id, f.get("name", "")))
    for sha, unit_id, name in session.execute(
        select(col(StatsReport.file_sha256), col(StatsReport.unit_id), col(StatsReport.file_name))
        .where(col(StatsReport.file_sha256).in_(wanted))
    ):
        out.setdefault(sha, []).append(HashOwner(unit_id, None, name or ""))
    for sha, unit_id, milestone_id, name in session.execute(
        select(col(InboxFile.sha256), col(InboxFile.unit_id), col(InboxFile.milestone_id), col(InboxFile.name))
        .where(col(InboxFile.sha256).in_(wanted))
    ):
        out.setdefault(sha, []).append(HashOwner(unit_id, milestone_id, name))
    return out


WORD_SUFFIXES = (".doc", ".docx", ".wps", ".odt")
PDF_SUFFIXES = (".pdf", ".ofd")
MISSING_WORD = "Word 版尚未收到"
MISSING_PDF = "PDF 盖章版尚未收到"
MISSING_STATS = "未附行政保护案件统计表"
MISSING_SUMMARY = "工作总结（Word 版及 PDF 盖章版）尚未收到"


def still_missing(session: Session, *, unit_id: str, milestone_id: str, formats: Iterable[str],
                  stats_period: str | None) -> tuple[str, ...]:
    """What the obligation still lacks after everything recorded so far (for the 回执).

    ``formats`` are the plan's formats for this unit (word, pdf-stamped); ``stats_period``
    is set when the summary goes with a statistics table."""
    names = [f.get("name", "").lower() for (files,) in session.execute(
        select(col(Submission.files)).join(LedgerEntry, col(LedgerEntry.id) == col(Submission.entry_id))
        .where(col(LedgerEntry.unit_id) == unit_id, col(LedgerEntry.milestone_id) == milestone_id,
               col(LedgerEntry.archived_at).is_(None))) for f in files or []]
    out: list[str] = []
    formats = set(formats)
    if not names and formats:
        out.append(MISSING_SUMMARY if stats_period else "报送材料尚未收到")
    else:
        if "word" in formats and not any(n.endswith(WORD_SUFFIXES) for n in names):
            out.append(MISSING_WORD)
        if "pdf-stamped" in formats and not any(n.endswith(PDF_SUFFIXES) for n in names):
            out.append(MISSING_PDF)
    if stats_period and current_figures(session, unit_id=unit_id, period=stats_period) is None:
        out.append(MISSING_STATS)
    return tuple(out)
