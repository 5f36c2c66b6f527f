"""State and 红黄绿 light of a ledger entry as of a date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from plan.schema import Calendar
from plan.status import LIGHTS, STATE_LABELS, Classifier, Light, State, tally, worst_light
from plan.workdays import WorkCalendar

D = dt.date
DUE = D(2024, 7, 5)  # the half-year summary, a Friday


def classifier(today: dt.date, due_soon: int = 5) -> Classifier:
    return Classifier(WorkCalendar(Calendar()), today, due_soon)


@pytest.mark.parametrize(("today", "submitted", "waived", "state"), [
    (D(2024, 6, 27), None, False, State.NOT_DUE),  # 6 working days before
    (D(2024, 6, 28), None, False, State.DUE_SOON),  # 5 working days before
    (DUE, None, False, State.DUE_SOON),  # due today is not yet overdue
    (D(2024, 7, 6), None, False, State.OVERDUE),
    (D(2024, 7, 8), D(2024, 7, 5), False, State.ON_TIME),
    (D(2024, 7, 8), D(2024, 7, 6), False, State.LATE),
    (D(2024, 7, 8), None, True, State.WAIVED),
    (D(2024, 7, 8), D(2024, 7, 6), True, State.WAIVED),  # waived wins over a late submission
    (D(2024, 7, 3), D(2024, 7, 4), False, State.DUE_SOON),  # submitted after "today": not yet
    (D(2024, 7, 8), D(2024, 7, 9), False, State.OVERDUE),  # likewise, once past due
])
def test_states(today: dt.date, submitted: dt.date | None, waived: bool, state: State) -> None:
    assert classifier(today).state(due=DUE, submitted_on=submitted, waived=waived) is state


def test_due_soon_counts_working_days_across_national_day() -> None:
    due = D(2024, 10, 8)
    assert classifier(D(2024, 9, 27), due_soon=3).state(due=due, submitted_on=None, waived=False) \
        is State.DUE_SOON  # 9-29, 9-30, 10-8: three working days despite ten calendar days
    assert classifier(D(2024, 9, 26), due_soon=3).state(due=due, submitted_on=None, waived=False) \
        is State.NOT_DUE


def test_days_overdue_are_working_days() -> None:
    assert classifier(D(2024, 7, 8)).days_overdue(DUE) == 1
    assert classifier(D(2024, 10, 8)).days_overdue(D(2024, 9, 30)) == 1
    assert classifier(D(2024, 7, 1)).days_overdue(DUE) == 0


def test_lights_and_labels_cover_every_state() -> None:
    assert set(LIGHTS) == set(State) == set(STATE_LABELS)
    assert LIGHTS[State.OVERDUE] is Light.RED
    assert LIGHTS[State.DUE_SOON] is Light.AMBER and LIGHTS[State.LATE] is Light.AMBER
    assert LIGHTS[State.ON_TIME] is Light.GREEN and LIGHTS[State.NOT_DUE] is Light.GREEN
    assert LIGHTS[State.WAIVED] is Light.GREY
    assert STATE_LABELS[State.OVERDUE] == "已逾期"


def test_worst_light() -> None:
    assert worst_light([Light.GREEN, Light.RED, Light.AMBER]) is Light.RED
    assert worst_light([Light.GREEN, Light.GREY]) is Light.GREEN
    assert worst_light([Light.GREY]) is Light.GREY
    assert worst_light([]) is Light.GREY


@dataclass
class Row:
    unit_id: str
    task_number: int | None
    due: dt.date
    submitted_on: dt.date | None = None
    waived: bool = False


def test_tally_per_task_unit_and_overall() -> None:
    rows = [Row("pudong", 1, DUE, D(2024, 7, 1)), Row("xuhui", 1, DUE), Row("pudong", None, DUE),
            Row("xuhui", 2, DUE, waived=True)]
    c = classifier(D(2024, 7, 8))
    states = [c.state(due=r.due, submitted_on=r.submitted_on, waived=r.waived) for r in rows]
    per_task, per_unit, overall = tally(rows, states)
    assert per_task[1].counts[State.ON_TIME] == 1 and per_task[1].counts[State.OVERDUE] == 1
    assert per_task[1].light is Light.RED
    assert per_task[2].light is Light.GREY
    assert None not in per_task  # report milestones have no task
    assert per_unit["pudong"].total == 2
    assert overall.as_json() == {"total": 4, "not-due": 0, "due-soon": 0, "overdue": 2, "on-time": 1,
                                 "late": 0, "waived": 1, "light": "red"}
