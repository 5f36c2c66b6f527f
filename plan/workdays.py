"""The working-day calendar: Chinese public holidays and make-up working days (调休).

``chinesecalendar`` knows 2004–2026.  For a year it does not know we fall back to
Monday–Friday and warn once; the plan's ``extra_holidays`` / ``extra_workdays`` always
win, so coordinators can patch a year before the package catches up.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from functools import lru_cache

import chinese_calendar

from plan.schema import Calendar

log = logging.getLogger("duban.calendar")

# Years already warned about, per loaded plan calendar: one run passes one loaded plan to
# intake, sweep and delivery, each building its own WorkCalendar, and must warn only once.
_WARNED: dict[int, set[int]] = {}


def _warned(config: Calendar) -> set[int]:
    key = id(config)
    if key not in _WARNED:
        _WARNED[key] = set()
        weakref.finalize(config, _WARNED.pop, key, None)
    return _WARNED[key]


def known_year(year: int) -> bool:
    """Whether chinesecalendar has the holidays and make-up days of ``year``."""
    try:
        chinese_calendar.is_workday(dt.date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def covered_years(config: Calendar) -> set[int]:
    """Years the plan fills in itself: any extra_holidays / extra_workdays date in them."""
    return {d.year for d in (*config.extra_holidays, *config.extra_workdays)}


class WorkCalendar:
    def __init__(self, config: Calendar | None = None) -> None:
        self.config = config or Calendar()
        self.holidays = frozenset(self.config.extra_holidays)
        self.workdays = frozenset(self.config.extra_workdays)
        self.covered = covered_years(self.config)
        self._warned = _warned(self.config)
        self.by_working_days = self.config.count == "working-days"
        self.unknown_years: set[int] = set()
        self.is_workday = lru_cache(maxsize=8192)(self._is_workday)
        self.shift = lru_cache(maxsize=65536)(self._shift)

    def _is_workday(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self.unknown_years.add(day.year)
            # The plan lists this year's holidays itself: Monday–Friday plus those lists is
            # the calendar, nothing to warn about.  duban check names the line to add.
            if day.year not in self.covered and day.year not in self._warned:
                self._warned.add(day.year)
                log.warning("chinesecalendar 没有 %s 年的节假日数据，按周一至周五计算工作日；"
                            "请在 plan.yaml 的 calendar.extra_holidays / extra_workdays 中补充",
                            day.year)
            return day.weekday() < 5

    def _shift(self, day: dt.date, offset: int) -> dt.date:
        """The date ``offset`` working days after ``day`` (before it when negative)."""
        if not self.by_working_days or offset == 0:
            return day + dt.timedelta(days=offset)
        step = dt.timedelta(days=1 if offset > 0 else -1)
        remaining = abs(offset)
        while remaining:
            day += step
            if self.is_workday(day):
                remaining -= 1
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days from ``start`` to ``end``: days in (start, end] that count.

        Negative when ``end`` is before ``start``.  Calendar days in calendar-day mode.
        """
        if not self.by_working_days:
            return (end - start).days
        if end == start:
            return 0
        sign = 1 if end > start else -1
        lo, hi = (start, end) if sign > 0 else (end, start)
        count = 0
        day = lo
        while day < hi:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return sign * count

    def sends_on(self, day: dt.date) -> bool:
        """Whether messages go out on ``day`` (non-working days are quiet by default)."""
        return self.config.send_on_non_working_days or self.is_workday(day)
