"""The working-day calendar: Chinese holidays and 调休, fallback years, plan overrides."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from plan.schema import Calendar
from plan.workdays import WorkCalendar

D = dt.date


@pytest.fixture
def calendar() -> WorkCalendar:
    return WorkCalendar(Calendar())


def test_2024_holidays_and_make_up_days(calendar: WorkCalendar) -> None:
    assert calendar.is_workday(D(2024, 6, 10)) is False  # 端午 (a Monday)
    assert calendar.is_workday(D(2024, 9, 14)) is True  # Saturday worked for 中秋
    assert calendar.is_workday(D(2024, 10, 12)) is True  # Saturday worked for 国庆
    assert calendar.is_workday(D(2024, 9, 29)) is True  # Sunday worked for 国庆
    assert calendar.is_workday(D(2024, 10, 1)) is False
    assert calendar.is_workday(D(2024, 7, 6)) is False  # an ordinary Saturday


def test_shift_and_between_across_national_day(calendar: WorkCalendar) -> None:
    assert calendar.shift(D(2024, 9, 30), 1) == D(2024, 10, 8)
    assert calendar.shift(D(2024, 10, 8), -1) == D(2024, 9, 30)
    assert calendar.shift(D(2024, 9, 27), 1) == D(2024, 9, 29)  # the make-up Sunday counts
    assert calendar.shift(D(2024, 9, 27), 0) == D(2024, 9, 27)
    assert calendar.between(D(2024, 9, 30), D(2024, 10, 8)) == 1
    assert calendar.between(D(2024, 10, 8), D(2024, 9, 30)) == -1
    assert calendar.between(D(2024, 9, 27), D(2024, 10, 12)) == 7  # 9-29, 9-30, 10-8 … 10-12
    assert calendar.between(D(2024, 7, 5), D(2024, 7, 5)) == 0


def test_unknown_year_falls_back_to_weekdays_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkCalendar(Calendar())
    with caplog.at_level(logging.WARNING, logger="duban.calendar"):
        assert calendar.is_workday(D(2030, 1, 1)) is True  # a Tuesday: no holiday data for 2030
        assert calendar.is_workday(D(2030, 1, 5)) is False  # Saturday
        assert calendar.between(D(2030, 1, 1), D(2030, 1, 31)) == 22
    warnings = [r for r in caplog.records if r.name == "duban.calendar"]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == (
        "chinesecalendar 没有 2030 年的节假日数据，按周一至周五计算工作日；"
        "请在 plan.yaml 的 calendar.extra_holidays / extra_workdays 中补充")


def test_plan_overrides_win(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkCalendar(Calendar(extra_holidays=[D(2030, 1, 1), D(2024, 7, 8)],
                                     extra_workdays=[D(2030, 1, 5)]))
    assert calendar.is_workday(D(2030, 1, 1)) is False
    assert calendar.is_workday(D(2030, 1, 5)) is True
    assert calendar.is_workday(D(2024, 7, 8)) is False  # even in a year chinesecalendar knows
    assert calendar.shift(D(2024, 7, 5), 1) == D(2024, 7, 9)


def test_calendar_days_mode() -> None:
    calendar = WorkCalendar(Calendar(count="calendar-days"))
    assert calendar.shift(D(2024, 9, 30), 1) == D(2024, 10, 1)
    assert calendar.shift(D(2024, 10, 8), -5) == D(2024, 10, 3)
    assert calendar.between(D(2024, 9, 30), D(2024, 10, 8)) == 8
    assert calendar.between(D(2024, 10, 8), D(2024, 9, 30)) == -8
    assert calendar.is_workday(D(2024, 10, 1)) is False  # still a holiday for sending


def test_no_mail_on_non_working_days_unless_configured() -> None:
    assert WorkCalendar(Calendar()).sends_on(D(2024, 10, 1)) is False
    assert WorkCalendar(Calendar()).sends_on(D(2024, 10, 12)) is True
    assert WorkCalendar(Calendar(send_on_non_working_days=True)).sends_on(D(2024, 10, 1)) is True


def test_shipped_plan_counts_working_days(plan) -> None:
    assert WorkCalendar(plan.calendar).by_working_days is True


def test_index_arithmetic_agrees_with_walking_day_by_day() -> None:
    """Counts and shifts come from a working-day index; they must match a plain day-by-day
    walk over the same calendar, across years, holidays, 调休 and the plan's own days."""
    calendar = WorkCalendar(Calendar(extra_holidays=[D(2024, 3, 5)], extra_workdays=[D(2024, 3, 9)]))

    def walk_between(start: dt.date, end: dt.date) -> int:
        lo, hi = sorted((start, end))
        count = sum(calendar.is_workday(lo + dt.timedelta(days=n)) for n in range(1, (hi - lo).days + 1))
        return count if end >= start else -count

    def walk_shift(day: dt.date, offset: int) -> dt.date:
        step, remaining = dt.timedelta(days=1 if offset > 0 else -1), abs(offset)
        while remaining:
            day += step
            remaining -= calendar.is_workday(day)
        return day

    days = [D(2023, 12, 31), D(2024, 1, 1), D(2024, 3, 4), D(2024, 3, 9), D(2024, 9, 29), D(2024, 10, 7),
            D(2024, 12, 31), D(2025, 1, 2), D(2025, 6, 1)]
    for start in days:
        for end in days:
            assert calendar.between(start, end) == walk_between(start, end), (start, end)
        for offset in (-400, -30, -1, 1, 5, 30, 400):
            assert calendar.shift(start, offset) == walk_shift(start, offset), (start, offset)
