"""Taking in one statistics table or ledger workbook: parse (plan/), then record (models/).

Shared by ``duban stats import``, ``duban ledger import`` and the inbox.  The workbook is
validated completely before the one transaction that records it, so a refused file
records nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from models import intake
from models.db import session_scope
from models.files import StoredFile, store_file
from plan import ledger_sheet, stats_sheet
from plan.intake_files import load_cached, load_workbook
from plan.model import Plan, unit_aliases, unit_names


def plan_year(plan: Plan) -> int:
    return plan.meta.period.start.year


@dataclass(frozen=True)
class StatsImported:
    unit_id: str
    unit_name: str
    period: str
    version: int
    duplicate: bool
    replaced: int | None
    summary_submitted: bool
    warnings: list[str] = field(default_factory=list)
    report_id: int | None = None
    file: StoredFile | None = None


@dataclass(frozen=True)
class LedgerImported:
    unit_id: str
    unit_name: str
    changed: list[int]
    unchanged: int
    file: StoredFile | None = None


def import_stats_file(path: Path, *, plan: Plan, name: str, today: dt.date, source: str, actor: str,
                      unit: str | None = None, unit_from: str = "--unit", period: str | None = None,
                      workbook: object | None = None, stored_path: Path | None = None,
                      period_from: str = "--period", default_unit: str | None = None,
                      default_period: str | None = None) -> StatsImported:
    """``stored_path`` is the file as sent, when ``path`` is its LibreOffice conversion."""
    units = unit_names(plan)
    wb = workbook if workbook is not None else load_workbook(path, name=name)
    sheet = stats_sheet.read_stats(wb, name=name, year=plan_year(plan), units=units, unit=unit,
                                   unit_from=unit_from, period=period, period_from=period_from,
                                   cached=load_cached(path), default_unit=default_unit,
                                   default_period=default_period,
                                   aliases=unit_aliases(plan))
    stored = store_file(stored_path or path)
    with session_scope() as session:
        done = intake.record_stats(session, unit_id=sheet.unit_id, period=sheet.period, figures=sheet.figures,
                                   received_on=today, source=source, actor=actor, notes=sheet.warnings,
                                   file_name=(stored_path or path).name,
                                   file_sha256=stored.sha256)
    return StatsImported(sheet.unit_id, units[sheet.unit_id], sheet.period, done.report.version, done.duplicate,
                         done.replaced, done.summary_submitted, done.warnings, done.report.id, stored)


def import_ledger_file(path: Path, *, plan: Plan, name: str, today: dt.date, source: str, actor: str,
                       unit: str | None = None, unit_from: str = "--unit",
                       workbook: object | None = None) -> LedgerImported:
    units = unit_names(plan)
    wb = workbook if workbook is not None else load_workbook(path, name=name)
    unit_id = ledger_sheet.ledger_unit(wb, name=name, units=units, unit=unit, unit_from=unit_from)
    with session_scope() as session:  # a refusal below rolls back: nothing recorded
        owned = intake.owned_entries(session, unit_id=unit_id)
        rows = ledger_sheet.read_ledger(wb, name=name, owned=owned)
        stored = store_file(path)
        done = intake.record_progress(session, unit_id=unit_id, rows=rows, reported_on=today, source=source,
                                      actor=actor, file_name=path.name, file_sha256=stored.sha256)
    return LedgerImported(unit_id, units[unit_id], done.changed, done.unchanged, stored)
