"""Validate a five-field cron line and say, in Chinese, which field is wrong.

Standard cron meaning (as in crontab and Prefect schedules): the weekday field takes
0–7 (0 and 7 are Sunday) or sun–sat.  We validate ourselves rather than through
APScheduler because its messages are English and its ``from_crontab`` numbers weekdays
from Monday.
"""

from __future__ import annotations

import datetime as dt

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

# (label, lowest, highest, names mapped to numbers)
FIELDS: list[tuple[str, int, int, dict[str, int]]] = [
    ("分", 0, 59, {}),
    ("时", 0, 23, {}),
    ("日", 1, 31, {}),
    ("月", 1, 12, {name: i + 1 for i, name in enumerate(MONTHS)}),
    ("星期", 0, 7, {name: i for i, name in enumerate(WEEKDAYS)}),
]


def _value(text: str, names: dict[str, int]) -> int | None:
    # ASCII digits only: "²".isdigit() is True but int("²") fails.
    if text.isascii() and text.isdigit():
        return int(text)
    return names.get(text.lower())


def _field_problem(text: str, low: int, high: int, names: dict[str, int]) -> str | None:
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if slash and (not (step.isascii() and step.isdigit()) or int(step) == 0):
            return f"步长「{step}」应为正整数"
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        values = [_value(first, names), *([_value(last, names)] if dash else [])]
        if None in values or not first or (dash and not last):
            return f"「{item}」不是数字或范围"
        numbers = [v for v in values if v is not None]
        if any(not low <= v <= high for v in numbers):
            return f"「{item}」超出范围 {low}–{high}"
        if len(numbers) == 2 and numbers[0] > numbers[1]:
            return f"范围「{item}」的起点大于终点"
    return None


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a valid 5-field cron line, or None."""
    parts = expression.split()
    if len(parts) != 5:
        return f"应有 5 段（分 时 日 月 星期），这里有 {len(parts)} 段"
    for index, (part, (label, low, high, names)) in enumerate(zip(parts, FIELDS, strict=True)):
        problem = _field_problem(part, low, high, names)
        if problem:
            return f"第 {index + 1} 段（{label}）{problem}"
    return None


def _values(text: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """The numbers a valid field matches (call only after :func:`cron_problem` passed)."""
    out: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = low, high
        else:
            start, dash, end = base.partition("-")
            first = _value(start, names) or 0
            last = (_value(end, names) or 0) if dash else (high if step_text else first)
        out.update(range(first, last + 1, step))
    return out


# The longest each month can be (February: 29, in leap years).
_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


class Cron:
    """A valid cron line, to ask on which days it fires (standard cron day semantics)."""

    def __init__(self, expression: str) -> None:
        parts = expression.split()
        days, months, weekdays = parts[2], parts[3], parts[4]
        self.days = _values(days, 1, 31, {})
        self.months = _values(months, 1, 12, FIELDS[3][3])
        self.weekdays = {w % 7 for w in _values(weekdays, 0, 7, FIELDS[4][3])}
        self.any_day, self.any_weekday = days == "*", weekdays == "*"

    def impossible(self) -> bool:
        """Only day/month pairs that never exist, such as 31 February (weekday not set)."""
        if not self.any_weekday and not self.any_day:
            return False  # fires on the weekdays as well
        if not self.any_weekday:
            return False
        return not any(d <= _MONTH_DAYS[m] for d in self.days for m in self.months)

    def fires_on(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.weekday() + 1) % 7 in self.weekdays
        if not self.any_day and not self.any_weekday:
            return by_day or by_weekday  # cron: either restricted field matches
        return by_day and by_weekday

    def first_between(self, start: dt.date, end: dt.date) -> dt.date | None:
        day = start
        while day <= end:
            if self.fires_on(day):
                return day
            day += dt.timedelta(days=1)
        return None
