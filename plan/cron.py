"""Validate a five-field cron line and say, in Chinese, which field is wrong.

Standard cron meaning (as in crontab and Prefect schedules): the weekday field takes
0–7 (0 and 7 are Sunday) or sun–sat.  We validate ourselves rather than through
APScheduler because its messages are English and its ``from_crontab`` numbers weekdays
from Monday.
"""

from __future__ import annotations

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
    if text.isdigit():
        return int(text)
    return names.get(text.lower())


def _field_problem(text: str, low: int, high: int, names: dict[str, int]) -> str | None:
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if slash and (not step.isdigit() or int(step) == 0):
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
