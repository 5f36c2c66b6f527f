"""The validated plan and its expansion into concrete ledger obligations.

A :class:`Plan` is what the rest of duban sees: units, groups expanded to units,
tasks, and *concrete* milestones (recurrences unrolled, report-tied milestones given
their report's due date).  ``obligations()`` is the milestone × unit list that becomes
the ledger.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from plan import schema


@dataclass(frozen=True)
class ConcreteMilestone:
    """One dated deliverable; a recurrence yields one per occurrence."""

    id: str
    title: str
    kind: str  # report | progress | event | campaign | deadline
    due: dt.date
    units: tuple[str, ...]
    task: int | None = None
    report: str | None = None  # closed by the same unit's submission of this report
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    stats_table: bool = False
    formats: tuple[str, ...] = ()
    period: str | None = None
    note: str | None = None
    source: str = "seed"  # seed | confirmed | assumed (see schema.DateSource)

    @property
    def enforceable(self) -> bool:
        """The date may be escalated past 催办, scored and cited: the notice or a coordinator set it."""
        return self.source != "assumed"


@dataclass(frozen=True)
class Obligation:
    """One ledger entry to be: ``unit`` owes ``milestone`` by ``due``."""

    milestone: str
    unit: str
    due: dt.date


@dataclass
class Plan:
    path: Path
    meta: schema.PlanMeta
    calendar: schema.Calendar
    escalation: schema.Escalation
    schedules: schema.Schedules
    units: dict[str, schema.Unit]
    groups: dict[str, schema.Group]
    sections: dict[int, schema.Section]
    reports: dict[str, schema.Report]
    tasks: dict[int, schema.Task]
    evaluation: schema.Evaluation = field(default_factory=lambda: schema.Evaluation())
    requests: schema.Requests = field(default_factory=lambda: schema.Requests())
    warnings: list = field(default_factory=list)
    # SHA-256 of the plan.yaml bytes this plan was parsed from ("" when built in code): sync
    # records it so an unchanged plan is not diffed again (models.sync_read).
    source_sha256: str = ""

    # -- units and groups ------------------------------------------------------------------
    def expand(self, refs: Iterable[str]) -> tuple[str, ...]:
        """Unit ids named by ``refs`` (units or groups, nested), in plan order, no repeats."""
        wanted: set[str] = set()
        stack = list(refs)
        seen_groups: set[str] = set()
        while stack:
            ref = stack.pop()
            if ref in self.groups:
                if ref not in seen_groups:
                    seen_groups.add(ref)
                    stack.extend(self.groups[ref].members)
            else:
                wanted.add(ref)
        return tuple(u for u in self.units if u in wanted)

    @property
    def coordinator(self) -> schema.Unit:
        return self.units[self.meta.coordinator]

    # -- milestones ------------------------------------------------------------------------
    def milestones(self) -> list[ConcreteMilestone]:
        out: list[ConcreteMilestone] = []
        # Most milestones name the same few groups: expand each distinct list once (a national
        # plan's 200 milestones × 1,000 units made this 0.4 s of every sweep).
        expanded: dict[tuple[str, ...], tuple[str, ...]] = {}

        def expand(refs: Iterable[str]) -> tuple[str, ...]:
            key = tuple(refs)
            found = expanded.get(key)
            if found is None:
                found = expanded[key] = self.expand(key)
            return found

        for report in self.reports.values():
            out.append(ConcreteMilestone(
                id=report.id, title=report.title, kind="report", due=report.due,
                units=expand(report.units), stats_table=report.stats_table,
                formats=tuple(report.formats), period=report.period, note=report.note,
                source=report.source,
            ))
        for task in self.tasks.values():
            for m in task.milestones:
                units = expand(m.units if m.units is not None else task.units)
                common = dict(kind=m.kind, units=units, task=task.number, note=m.note,
                              window_start=m.window.start if m.window else None,
                              window_end=m.window.end if m.window else None)
                # A date written here is an inference until marked seed or confirmed.
                own_source = m.source or "assumed"
                if m.every is not None:
                    for suffix, label, due in occurrences(m.every):
                        out.append(ConcreteMilestone(id=f"{m.id}@{suffix}",
                                                     title=f"{m.title}（{label}）", due=due,
                                                     source=own_source, **common))  # type: ignore[arg-type]
                elif m.report is not None:
                    report = self.reports[m.report]
                    out.append(ConcreteMilestone(id=m.id, title=m.title, due=report.due,
                                                 report=m.report, source=report.source,
                                                 **common))  # type: ignore[arg-type]
                else:
                    assert m.due is not None
                    out.append(ConcreteMilestone(id=m.id, title=m.title, due=m.due,
                                                 source=own_source, **common))  # type: ignore[arg-type]
        return out

    def obligations(self) -> list[Obligation]:
        return [Obligation(m.id, unit, m.due) for m in self.milestones() for unit in m.units]

    def assumed_milestones(self) -> list[ConcreteMilestone]:
        """Milestones whose date is an inference still waiting for a coordinator's confirmation."""
        return [m for m in self.milestones() if not m.enforceable]

    def reporting_units(self) -> tuple[str, ...]:
        """Units that may be supervised, interviewed and named in a 通报 (role: reporting)."""
        return tuple(u.id for u in self.units.values() if u.reports_publicly)

    def formats_for(self, milestone: ConcreteMilestone, unit_id: str) -> tuple[str, ...]:
        """What ``unit_id`` must send: task-only units are never asked for a stamped PDF."""
        if self.units[unit_id].reports_publicly:
            return milestone.formats
        return tuple(f for f in milestone.formats if f != "pdf-stamped")

    def unconfirmed_owners(self) -> list[int]:
        return [t.number for t in self.tasks.values() if not t.owners_confirmed]

    def leads_of(self, task_number: int) -> tuple[str, ...]:
        return self.expand(self.tasks[task_number].lead)


def occurrences(every: schema.Recurrence) -> Iterator[tuple[str, str, dt.date]]:
    """(id suffix, Chinese label, due date) of each occurrence inside [start, end]."""
    if every.unit == "week":
        day = every.start + dt.timedelta(days=(every.day - 1 - every.start.weekday()) % 7)
        while day <= every.end:
            year, week, _ = day.isocalendar()
            yield f"{year}-W{week:02d}", f"{year}年第{week}周", day
            day += dt.timedelta(days=7)
        return
    step = 3 if every.unit == "quarter" else 1
    year, month = every.start.year, every.start.month
    if step == 3:  # the last month of the quarter containing start
        month = ((month - 1) // 3) * 3 + 3
    while (year, month) <= (every.end.year, every.end.month):
        due = dt.date(year, month, min(every.day, _cal.monthrange(year, month)[1]))
        if every.start <= due <= every.end:
            if step == 3:
                quarter = (month - 1) // 3 + 1
                yield f"{year}Q{quarter}", f"{year}年第{quarter}季度", due
            else:
                yield f"{year}-{month:02d}", f"{year}年{month}月", due
        month += step
        if month > 12:
            year, month = year + 1, month - 12


def unit_names(plan: Plan) -> dict[str, str]:
    """unit id → its full Chinese name."""
    return {unit_id: unit.name for unit_id, unit in plan.units.items()}


def unit_aliases(plan: Plan) -> dict[str, list[str]]:
    """unit id → the ``aliases:`` plan.yaml declares for it."""
    return {unit_id: list(unit.aliases) for unit_id, unit in plan.units.items() if unit.aliases}
