"""The state and 红黄绿 light of a ledger entry as of a date.

Rules only; rows come from :mod:`models.ledger`.  Work is per distinct due date (a few
hundred at most), not per entry, so classifying 200,000 entries stays cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

from plan.workdays import WorkCalendar


class State(StrEnum):
    NOT_DUE = "not-due"
    DUE_SOON = "due-soon"
    OVERDUE = "overdue"
    ON_TIME = "on-time"
    LATE = "late"
    WAIVED = "waived"


class Light(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    GREY = "grey"


STATE_LABELS = {
    State.NOT_DUE: "未到期",
    State.DUE_SOON: "即将到期",
    State.OVERDUE: "已逾期",
    State.ON_TIME: "按时报送",
    State.LATE: "逾期报送",
    State.WAIVED: "已豁免",
}
LIGHT_LABELS = {Light.GREEN: "绿", Light.AMBER: "黄", Light.RED: "红", Light.GREY: "—"}
LIGHTS = {
    State.NOT_DUE: Light.GREEN,
    State.ON_TIME: Light.GREEN,
    State.DUE_SOON: Light.AMBER,
    State.LATE: Light.AMBER,
    State.OVERDUE: Light.RED,
    State.WAIVED: Light.GREY,
}
DONE = {State.ON_TIME, State.LATE}


class Classifier:
    """Classifies entries as of ``today`` with the plan's calendar and amber window."""

    def __init__(self, calendar: WorkCalendar, today: dt.date, due_soon: int) -> None:
        self.calendar = calendar
        self.today = today
        self.due_soon = due_soon
        self._open = lru_cache(maxsize=None)(self._open_state)
        self.days_overdue = lru_cache(maxsize=None)(self._days_overdue)  # type: ignore[method-assign]

    def _open_state(self, due: dt.date) -> State:
        if self.today > due:
            return State.OVERDUE
        if self.calendar.between(self.today, due) <= self.due_soon:
            return State.DUE_SOON
        return State.NOT_DUE

    def state(self, *, due: dt.date, submitted_on: dt.date | None, waived: bool) -> State:
        if waived:
            return State.WAIVED
        # A submission dated after "today" has not happened yet as of today.
        if submitted_on is not None and submitted_on <= self.today:
            return State.ON_TIME if submitted_on <= due else State.LATE
        return self._open(due)

    def days_overdue(self, due: dt.date) -> int:
        """Working days past due (0 when not overdue); cached per due date in __init__."""
        return self._days_overdue(due)

    def _days_overdue(self, due: dt.date) -> int:
        return max(0, self.calendar.between(due, self.today))


def worst_light(lights: Iterable[Light]) -> Light:
    order = [Light.RED, Light.AMBER, Light.GREEN]
    present = set(lights)
    for light in order:
        if light in present:
            return light
    return Light.GREY


class EntryLike(Protocol):
    @property
    def unit_id(self) -> str: ...
    @property
    def task_number(self) -> int | None: ...


@dataclass
class Tally:
    """Counts of entries per state, and the light they add up to."""

    counts: dict[State, int] = field(default_factory=lambda: dict.fromkeys(State, 0))

    def add(self, state: State, n: int = 1) -> None:
        self.counts[state] += n

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def light(self) -> Light:
        return worst_light(LIGHTS[s] for s, n in self.counts.items() if n)

    def as_json(self) -> dict[str, object]:
        return {"total": self.total, **{s.value: n for s, n in self.counts.items()},
                "light": self.light.value}


def tally(entries: Iterable[EntryLike], states: Iterable[State]) -> tuple[dict[int, Tally], dict[str, Tally], Tally]:
    """Totals per task, per unit and overall for already-classified entries."""
    per_task: dict[int, Tally] = {}
    per_unit: dict[str, Tally] = {}
    overall = Tally()
    for entry, state in zip(entries, states, strict=True):
        if entry.task_number is not None:
            per_task.setdefault(entry.task_number, Tally()).add(state)
        per_unit.setdefault(entry.unit_id, Tally()).add(state)
        overall.add(state)
    return per_task, per_unit, overall


@dataclass(frozen=True)
class ReportedProgress:
    """A unit's latest word on one entry from its ledger workbook (责任部门 … 进展说明) and
    the day it was imported.  It never changes the entry's state: only a submission does."""

    department: str | None
    person: str | None
    state: str | None  # not-started | in-progress | done
    percent: int | None
    note: str | None
    reported_on: dt.date

    def is_empty(self) -> bool:
        """A unit that cleared every cell has said nothing to show."""
        return not any((self.department, self.person, self.state, self.percent is not None, self.note))

    @property
    def state_label(self) -> str | None:
        from plan.ledger_sheet import PROGRESS  # lazily: that module pulls in openpyxl

        return PROGRESS.get(self.state) if self.state else None

    def lines(self) -> list[str]:
        """Chinese lines for a terminal or a page, one fact each; nothing for an empty report."""
        if self.is_empty():
            return []
        lines = []
        who = "　".join(f"{label}：{value}" for label, value in (("责任部门", self.department),
                                                                  ("责任人", self.person)) if value)
        if who:
            lines.append(who)
        done = "，".join(x for x in (self.state_label, f"{self.percent}%" if self.percent is not None else None)
                        if x)
        lines.append(f"完成情况：{done or '未填'}（{self.reported_on} 单位台账报送）")
        if self.note:
            lines.append(f"进展说明：{self.note}")
        return lines

    def as_json(self) -> dict[str, object]:
        return {"department": self.department, "person": self.person, "state": self.state,
                "state_label": self.state_label, "percent": self.percent, "note": self.note,
                "reported_on": self.reported_on.isoformat()}
