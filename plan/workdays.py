"""The working-day calendar: Chinese public holidays and make-up working days (调休).

``chinesecalendar`` knows 2004–2026.  For a year it does not know we fall back to
Monday–Friday and warn once; the plan's ``extra_holidays`` / ``extra_workdays`` always
win, so coordinators can patch a year before the package catches up.
"""

from __future__ import annotations

import bisect
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
        # Working days as sorted ordinals over whole years [first_year, last_year]: counts and
        # shifts are index arithmetic on it (a 200,000-entry evaluation or digest asks for
        # hundreds of thousands of them; a day-by-day loop per question was the hot spot).
        self._ordinals: list[int] = []
        self._years: tuple[int, int] | None = None

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

    def _cover(self, first: int, last: int) -> None:
        """Extend the working-day index to the whole years ``first``..``last``.

        Whole years, asked for only when a count or shift reaches into them, so a year
        chinesecalendar does not know is warned about exactly when a day-by-day walk would.
        """
        if self._years is None:
            self._ordinals = self._year_days(first, last)
            self._years = (first, last)
            return
        lo, hi = self._years
        if first < lo:
            self._ordinals[:0] = self._year_days(first, lo - 1)
            lo = first
        if last > hi:
            self._ordinals += self._year_days(hi + 1, last)
            hi = last
        self._years = (lo, hi)

    def _year_days(self, first: int, last: int) -> list[int]:
        start, end = dt.date(first, 1, 1).toordinal(), dt.date(last, 12, 31).toordinal()
        return [n for n in range(start, end + 1) if self._is_workday(dt.date.fromordinal(n))]

    def _shift(self, day: dt.date, offset: int) -> dt.date:
        """The date ``offset`` working days after ``day`` (before it when negative)."""
        if not self.by_working_days or offset == 0:
            return day + dt.timedelta(days=offset)
        self._cover(day.year, day.year)
        ordinal = day.toordinal()
        while True:
            assert self._years is not None
            if offset > 0:
                index = bisect.bisect_right(self._ordinals, ordinal) + offset - 1
                if index < len(self._ordinals):
                    return dt.date.fromordinal(self._ordinals[index])
                self._cover(self._years[0], self._years[1] + 1)
            else:
                index = bisect.bisect_left(self._ordinals, ordinal) + offset
                if index >= 0:
                    return dt.date.fromordinal(self._ordinals[index])
                self._cover(self._years[0] - 1, self._years[1])

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
        # (lo, hi] only: lo's own year is needed just for the index's left edge
        self._cover(min(lo.year + (lo.month == 12 and lo.day == 31), hi.year), hi.year)
        ordinals = self._ordinals
        count = bisect.bisect_right(ordinals, hi.toordinal()) - bisect.bisect_right(ordinals, lo.toordinal())
        return sign * count

    def sends_on(self, day: dt.date) -> bool:
        """Whether messages go out on ``day`` (non-working days are quiet by default)."""
        return self.config.send_on_non_working_days or self.is_workday(day)
