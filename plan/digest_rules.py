"""The leadership digest as data: progress per section, task and unit, supervision lists.

Pure aggregation over already-read ledger rows; rendering lives in notifications/.
Unit rows and the headline count *documents* a unit must send (a task's half-year
progress travels with the half-year summary, so it is counted once, with the report);
task rows count every entry of the task, since that is the task's progress.

Only enforceable obligations (a date the notice sets or a coordinator confirmed) count as
late or missing; an assumed date is shown apart as "推定，待确认".  Task-only units (局机关
处室) are shown, but never in the supervision lists or "本期需关注".
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
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


# A task's light compares what is done with what was due by now (not the whole year):
# green from this share of due entries done, amber from the second, red below.
GREEN_SHARE = 0.9
AMBER_SHARE = 0.7


@dataclass
class Progress:
    """Counts of one task, section or the whole plan, and its light and share done."""

    tally: Tally = field(default_factory=Tally)
    due_now: int = 0  # enforceable entries due by today
    done_now: int = 0  # … of which done

    def add(self, state: State, *, due_now: bool, enforceable: bool, n: int = 1) -> None:
        """Count ``n`` entries in ``state``."""
        self.tally.add(state, n)
        if due_now and enforceable and state is not State.WAIVED:
            self.due_now += n
            self.done_now += n if state in DONE else 0

    @property
    def share_due(self) -> float:
        return self.done_now / self.due_now if self.due_now else 1.0

    @property
    def light(self) -> Light:
        if not self.due_now:
            return Light.GREY
        if self.share_due >= GREEN_SHARE:
            return Light.GREEN
        return Light.AMBER if self.share_due >= AMBER_SHARE else Light.RED

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
                "due_now": self.due_now, "done_now": self.done_now,
                "share_due": round(self.share_due, 4), "light": self.light.value}


@dataclass
class UnitLine:
    unit_id: str
    name: str
    due_so_far: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    upcoming: int = 0
    assumed: int = 0  # open past an assumed date: shown as 推定，待确认, never counted as missing
    task_only: bool = False
    max_days: int = 0  # working days of the longest-missing enforceable document
    missing_titles: list[str] = field(default_factory=list)
    supervised: bool = False  # an enforceable missing document is under 督导检查
    interview: bool = False  # … or proposed for 约谈
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
                "upcoming": self.upcoming, "assumed": self.assumed, "task_only": self.task_only,
                "worst_rung": self.worst_rung,
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
class Documents:
    """The headline: documents reporting units owed by today under enforceable dates."""

    due: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    assumed_open: int = 0  # open past an assumed date (推定，待确认), any unit
    task_only_open: int = 0  # open past an enforceable date, 局机关处室 (reminded only)

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Attention:
    """A unit that needs a leader's decision, and why, in one line."""

    unit_id: str
    name: str
    missing: int
    max_days: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


ATTENTION_MAX = 5


def attention(units: Iterable[UnitLine]) -> list[Attention]:
    """Up to five reporting units with missing documents: 约谈 first, then 督导检查, then the
    most documents and working days missing.  Fewer when fewer units miss anything."""
    ranked = sorted((u for u in units if u.missing and not u.task_only),
                    key=lambda u: (not u.interview, not u.supervised, -u.missing, -u.max_days))
    out = []
    for u in ranked[:ATTENTION_MAX]:
        titles = "、".join(u.missing_titles[:3]) + (f"等{u.missing}件" if u.missing > 3 else "")
        step = ("已提出约谈建议，请决定是否约谈" if u.interview
                else "已列入督导检查，建议当面督促" if u.supervised else "建议督办")
        out.append(Attention(u.unit_id, u.name, u.missing, u.max_days,
                             f"未报送{titles}，最长逾期{u.max_days}个工作日；{step}"))
    return out


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
    documents: Documents = field(default_factory=Documents)
    attention: list[Attention] = field(default_factory=list)
    assumed: list[Item] = field(default_factory=list)  # open past an assumed date

    def snapshot(self) -> dict[str, Any]:
        """The figures kept per date for the history charts."""
        return {"overall": self.overall.as_json(),
                "tasks": {str(n): p.as_json() for n, p in self.tasks.items()},
                "units": {u.unit_id: u.as_json() for u in self.units},
                "documents": self.documents.as_json(),
                "supervised": len(self.supervise), "interview_proposals": len(self.interview)}


# Rung kind → its place on the ladder (a dict lookup per entry, not a tuple search), and the
# shared "no rung fired" of the entries without any (read only, never filled in).
RUNG_RANK = {kind: n for n, kind in enumerate(RUNG_ORDER)}
NO_RUNGS: dict[str, dt.date] = {}


def _item(row: Row, days: int, today: dt.date, fired_on: dt.date | None = None) -> Item:
    return Item(row.id, row.unit_id, row.unit_name, row.milestone_id, row.milestone_title,
                row.task_number, row.due, days, fired_on,
                row.submitted_on if row.submitted_on and row.submitted_on <= today else None)


def build(rows: Sequence[Row], *, classifier: Classifier, sections_of: dict[int, int],
          unit_names: dict[str, str], rungs: dict[int, dict[str, dt.date]],
          since: dt.date | None, assumed: frozenset[str] = frozenset(),
          task_only: frozenset[str] = frozenset()) -> Digest:
    """Aggregate ledger rows as of ``classifier.today``.

    ``rungs`` maps entry id → {rung kind: first fired_on} (fired on or before today);
    ``unit_names`` gives the unit order of the plan; ``since`` is the previous digest's date;
    ``assumed`` are the milestones whose date is not enforceable (source: assumed);
    ``task_only`` the units never supervised or named (role: task-only).
    """
    today = classifier.today
    overall = Progress()
    sections: dict[int, Progress] = {n: Progress() for n in sorted(set(sections_of.values()))}
    tasks: dict[int, Progress] = {n: Progress() for n in sorted(sections_of)}
    units = {u: UnitLine(u, name, task_only=u in task_only) for u, name in unit_names.items()}
    docs = Documents()
    supervise: list[Item] = []
    interview: list[Item] = []
    new_sub: list[Item] = []
    new_over: list[Item] = []
    new_sup: list[Item] = []
    assumed_open: list[Item] = []
    entries: list[tuple[Any, State, str | None]] = []
    kinds: Counter[tuple[int | None, State, bool, bool]] = Counter()
    for row in rows:
        state = classifier.state(due=row.due, submitted_on=row.submitted_on, waived=row.waived)
        enforceable = row.milestone_id not in assumed
        fired = rungs.get(row.id, NO_RUNGS)
        worst = max(fired, key=RUNG_RANK.__getitem__) if fired else None
        entries.append((row, state, worst))
        due_now = row.due <= today
        # Counted per kind of entry and added to the progress figures after the loop: three
        # Progress.add calls per entry were a fifth of build() at national scale.
        kinds[(row.task_number, state, due_now, enforceable)] += 1
        if row.report_id is not None:
            continue  # travels with its report: one document, counted with the report
        line = units.get(row.unit_id)
        if line is None:  # not built per row: 200,000 throwaway UnitLines cost ~1 s at national scale
            line = units[row.unit_id] = UnitLine(row.unit_id, row.unit_name, task_only=row.unit_id in task_only)
        line.lights.append(LIGHTS[state] if enforceable or state is not State.OVERDUE else Light.AMBER)
        # An assumed date is never escalated past 催办 in a notice: its rungs do not colour the unit.
        if enforceable and worst is not None and (line.worst_rung is None
                                                  or RUNG_RANK[worst] > RUNG_RANK[line.worst_rung]):
            line.worst_rung = worst
        if state is State.WAIVED:
            continue
        days = classifier.days_overdue(row.due) if state is State.OVERDUE else 0

        if not enforceable:
            if state is State.OVERDUE:
                line.assumed += 1
                docs.assumed_open += 1
                assumed_open.append(_item(row, days, today))
            elif state not in DONE:
                line.upcoming += 1
            continue
        if due_now:
            line.due_so_far += 1
        if state is State.ON_TIME:
            line.on_time += 1
        elif state is State.LATE:
            line.late += 1
        elif state is State.OVERDUE:
            line.missing += 1
            line.max_days = max(line.max_days, days)
            line.missing_titles.append(row.milestone_title)
        else:
            line.upcoming += 1
        if line.task_only:
            docs.task_only_open += state is State.OVERDUE
        elif due_now:
            docs.due += 1
            docs.on_time += state is State.ON_TIME
            docs.late += state is State.LATE
            docs.missing += state is State.OVERDUE

        if state is State.OVERDUE:
            if not line.task_only:  # never on a blame list
                if "supervise" in fired:
                    # One frozen Item on both lists: the first digest lists every supervised entry
                    # as new too (39,000 at national scale).
                    listed = _item(row, days, today, fired["supervise"])
                    supervise.append(listed)
                    line.supervised = True
                    if since is None or fired["supervise"] > since:
                        new_sup.append(listed)
                if "interview" in fired:
                    interview.append(_item(row, days, today, fired["interview"]))
                    line.interview = True
            if since is None or row.due >= since:
                new_over.append(_item(row, days, today))
        if state in DONE and row.submitted_on is not None and (since is None or row.submitted_on > since):
            new_sub.append(_item(row, days, today))
    for (number, state, due_now, enforceable), n in kinds.items():
        overall.add(state, due_now=due_now, enforceable=enforceable, n=n)
        if number is not None and number in tasks:
            tasks[number].add(state, due_now=due_now, enforceable=enforceable, n=n)
            sections[sections_of[number]].add(state, due_now=due_now, enforceable=enforceable, n=n)
    order = {u: i for i, u in enumerate(unit_names)}
    for bucket in (supervise, interview, new_over, new_sup, assumed_open):
        bucket.sort(key=lambda i: (order.get(i.unit_id, 999), -i.days_overdue, i.due))
    new_sub.sort(key=lambda i: (i.submitted_on or i.due, order.get(i.unit_id, 999)))
    lines = [u for u in units.values() if u.lights]
    return Digest(today, since, overall, sections, tasks, lines, supervise, interview,
                  new_sub, new_over, new_sup, entries, docs, attention(lines), assumed_open)


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
