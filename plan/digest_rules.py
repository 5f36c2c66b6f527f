"""The leadership digest as data: progress per section, task and unit, supervision lists.

Pure aggregation over already-read ledger rows; rendering lives in notifications/.
Unit rows count a unit's own obligations (a task's half-year progress travels with the
half-year summary, so it is counted once, with the report); task rows count every entry
of the task, since that is the task's progress.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from plan.evaluation import RUNG_LABELS, RUNG_ORDER
from plan.status import DONE, LIGHTS, Classifier, Light, State, Tally, worst_light


class Row(Protocol):
    """What the digest reads of a ledger row (models.ledger.EntryRow)."""

    @property
    def id(self) -> int: ...
    @property
    def unit_id(self) -> str: ...
    @property
    def unit_name(self) -> str: ...
    @property
    def milestone_id(self) -> str: ...
    @property
    def milestone_title(self) -> str: ...
    @property
    def task_number(self) -> int | None: ...
    @property
    def due(self) -> dt.date: ...
    @property
    def submitted_on(self) -> dt.date | None: ...
    @property
    def waived(self) -> bool: ...
    @property
    def report_id(self) -> str | None: ...


@dataclass
class Progress:
    """Counts of one task, section or the whole plan, and its light and share done."""

    tally: Tally = field(default_factory=Tally)

    @property
    def counted(self) -> int:
        return self.tally.total - self.tally.counts[State.WAIVED]

    @property
    def done(self) -> int:
        return sum(self.tally.counts[s] for s in DONE)

    @property
    def share(self) -> float:
        return self.done / self.counted if self.counted else 1.0

    def as_json(self) -> dict[str, Any]:
        counts = self.tally.counts
        return {"total": self.tally.total, "done": self.done, "share": round(self.share, 4),
                "on_time": counts[State.ON_TIME], "late": counts[State.LATE],
                "overdue": counts[State.OVERDUE], "due_soon": counts[State.DUE_SOON],
                "not_due": counts[State.NOT_DUE], "waived": counts[State.WAIVED],
                "light": self.tally.light.value}


@dataclass
class UnitLine:
    unit_id: str
    name: str
    due_so_far: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    upcoming: int = 0
    worst_rung: str | None = None
    lights: list[Light] = field(default_factory=list)

    @property
    def light(self) -> Light:
        return worst_light(self.lights)

    @property
    def rung_label(self) -> str:
        return RUNG_LABELS.get(self.worst_rung or "", "—")

    def as_json(self) -> dict[str, Any]:
        return {"unit": self.unit_id, "name": self.name, "due_so_far": self.due_so_far,
                "on_time": self.on_time, "late": self.late, "missing": self.missing,
                "upcoming": self.upcoming, "worst_rung": self.worst_rung,
                "worst_rung_label": self.rung_label, "light": self.light.value}


@dataclass(frozen=True)
class Item:
    """An entry on a list (督导检查, 约谈, 逾期…) with its days overdue."""

    entry_id: int
    unit_id: str
    unit_name: str
    milestone_id: str
    title: str
    task_number: int | None
    due: dt.date
    days_overdue: int
    fired_on: dt.date | None = None
    submitted_on: dt.date | None = None

    def as_json(self) -> dict[str, Any]:
        return {"unit": self.unit_id, "unit_name": self.unit_name, "milestone": self.milestone_id,
                "title": self.title, "task": self.task_number, "due": self.due.isoformat(),
                "days_overdue": self.days_overdue,
                "fired_on": self.fired_on.isoformat() if self.fired_on else None,
                "submitted_on": self.submitted_on.isoformat() if self.submitted_on else None}


@dataclass
class Digest:
    today: dt.date
    since: dt.date | None
    overall: Progress
    sections: dict[int, Progress]
    tasks: dict[int, Progress]
    units: list[UnitLine]
    supervise: list[Item]
    interview: list[Item]
    newly_submitted: list[Item]
    newly_overdue: list[Item]
    newly_supervised: list[Item]
    entries: list[tuple[Any, State, str | None]]  # (row, state, worst rung) for the workbook/pages

    def snapshot(self) -> dict[str, Any]:
        """The figures kept per date for the history charts."""
        return {"overall": self.overall.as_json(),
                "tasks": {str(n): p.as_json() for n, p in self.tasks.items()},
                "units": {u.unit_id: u.as_json() for u in self.units},
                "supervised": len(self.supervise), "interview_proposals": len(self.interview)}


def build(rows: Sequence[Row], *, classifier: Classifier, sections_of: dict[int, int],
          unit_names: dict[str, str], rungs: dict[int, dict[str, dt.date]],
          since: dt.date | None) -> Digest:
    """Aggregate ledger rows as of ``classifier.today``.

    ``rungs`` maps entry id → {rung kind: first fired_on} (fired on or before today);
    ``unit_names`` gives the unit order of the plan; ``since`` is the previous digest's date.
    """
    today = classifier.today
    overall = Progress()
    sections: dict[int, Progress] = {n: Progress() for n in sorted(set(sections_of.values()))}
    tasks: dict[int, Progress] = {n: Progress() for n in sorted(sections_of)}
    units = {u: UnitLine(u, name) for u, name in unit_names.items()}
    supervise: list[Item] = []
    interview: list[Item] = []
    new_sub: list[Item] = []
    new_over: list[Item] = []
    new_sup: list[Item] = []
    entries: list[tuple[Any, State, str | None]] = []
    for row in rows:
        state = classifier.state(due=row.due, submitted_on=row.submitted_on, waived=row.waived)
        fired = rungs.get(row.id, {})
        worst = max(fired, key=RUNG_ORDER.index) if fired else None
        entries.append((row, state, worst))
        overall.tally.add(state)
        if row.task_number is not None and row.task_number in tasks:
            tasks[row.task_number].tally.add(state)
            sections[sections_of[row.task_number]].tally.add(state)
        if row.report_id is not None:
            continue  # counted with its report in the unit and list views
        line = units.setdefault(row.unit_id, UnitLine(row.unit_id, row.unit_name))
        line.lights.append(LIGHTS[state])
        if worst is not None and (line.worst_rung is None
                                  or RUNG_ORDER.index(worst) > RUNG_ORDER.index(line.worst_rung)):
            line.worst_rung = worst
        if state is State.WAIVED:
            continue
        if row.due <= today:
            line.due_so_far += 1
        if state is State.ON_TIME:
            line.on_time += 1
        elif state is State.LATE:
            line.late += 1
        elif state is State.OVERDUE:
            line.missing += 1
        else:
            line.upcoming += 1
        days = classifier.days_overdue(row.due) if state is State.OVERDUE else 0

        def item(fired_on: dt.date | None = None, row: Any = row, days: int = days) -> Item:
            return Item(row.id, row.unit_id, row.unit_name, row.milestone_id, row.milestone_title,
                        row.task_number, row.due, days, fired_on,
                        row.submitted_on if row.submitted_on and row.submitted_on <= today else None)

        if state is State.OVERDUE:
            if "supervise" in fired:
                supervise.append(item(fired["supervise"]))
            if "interview" in fired:
                interview.append(item(fired["interview"]))
            if "supervise" in fired and (since is None or fired["supervise"] > since):
                new_sup.append(item(fired["supervise"]))
            if since is None or row.due >= since:
                new_over.append(item())
        if state in DONE and row.submitted_on is not None and (since is None or row.submitted_on > since):
            new_sub.append(item())
    order = {u: i for i, u in enumerate(unit_names)}
    for bucket in (supervise, interview, new_over, new_sup):
        bucket.sort(key=lambda i: (order.get(i.unit_id, 999), -i.days_overdue, i.due))
    new_sub.sort(key=lambda i: (i.submitted_on or i.due, order.get(i.unit_id, 999)))
    lines = [u for u in units.values() if u.lights]
    return Digest(today, since, overall, sections, tasks, lines, supervise, interview,
                  new_sub, new_over, new_sup, entries)


def bar(share: float, width: int = 20) -> str:
    """A text progress bar for the plain-text email and Markdown."""
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled)


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def history_series(snapshots: Iterable[tuple[dt.date, dict[str, Any]]], key: str,
                   ) -> list[tuple[dt.date, float]]:
    """(date, value) points of one snapshot figure, e.g. ``overall.overdue`` or ``tasks.7.share``."""
    out: list[tuple[dt.date, float]] = []
    for day, data in snapshots:
        value: Any = data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            out.append((day, float(value)))
    return out
