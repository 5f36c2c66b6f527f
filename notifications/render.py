"""Notice → subject, HTML and plain text, from the Jinja2 templates in ``templates/``.

One template set per notice kind (``<kind>.subject.j2``, ``<kind>.html.j2``,
``<kind>.txt.j2``).  HTML templates autoescape, so a unit name can never inject markup;
every template is strict, so a missing value fails loudly instead of printing blank.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from notifications.notice import Notice, NoticeItem

TEMPLATES = Path(__file__).with_name("templates")

# Most serious first: a unit reads what is most urgent at the top.
RUNG_ORDER = ("interview", "supervise", "chase", "remind")
FORMAT_LABELS = {"word": "Word 版", "pdf-stamped": "PDF 盖章版", "pdf": "PDF 版",
                 "xlsx": "Excel 表格"}
ORDINALS = "一二三四五六七八九十"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Section:
    """The items of one rung kind on a notice."""

    kind: str
    items: tuple[NoticeItem, ...]


# The coordinator's list and the interview proposal name at most this many items per unit;
# the rest are counted ("另有 N 项") — a national-scale list must stay readable.
MAX_ITEMS_PER_UNIT = 10


@dataclass(frozen=True)
class UnitGroup:
    unit_id: str
    unit_name: str
    items: tuple[NoticeItem, ...]

    @property
    def shown(self) -> tuple[NoticeItem, ...]:
        return self.items[:MAX_ITEMS_PER_UNIT]

    @property
    def more(self) -> int:
        return max(0, len(self.items) - MAX_ITEMS_PER_UNIT)


def one_line(value: str) -> str:
    """Collapse control characters (CR, LF, …) and runs of spaces: safe for a header."""
    return " ".join(_CONTROL.sub(" ", value).split())


def cn_date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def cn_ordinal(value: int) -> str:
    return ORDINALS[value - 1] if 1 <= value <= len(ORDINALS) else str(value)


def materials(item: NoticeItem) -> str:
    """What the unit must send for an item, e.g. ``Word 版、PDF 盖章版；随附行政保护案件统计表``."""
    parts = "、".join(FORMAT_LABELS.get(f, f) for f in item.formats) or "电子件"
    return f"{parts}；随附行政保护案件统计表" if item.stats_table else parts


def days_text(item: NoticeItem) -> str:
    """办理情况: working days left before the due date, or overdue after it."""
    if item.rung_kind == "remind":
        return "今日截止" if item.days <= 0 else f"还剩 {item.days} 个工作日"
    return f"已逾期 {item.days} 个工作日"


def days_html(item: NoticeItem) -> Markup:
    # A filter, not a macro: it runs once per item, and macros cost ten times more.
    if item.rung_kind == "remind":
        return Markup.escape(days_text(item))
    return Markup('<span style="color:#b3001b;font-weight:bold;">{}</span>').format(days_text(item))


def task_label(item: NoticeItem) -> str:
    if item.task_number is None:
        return "—"
    return f"任务{item.task_number}" + (f"：{item.task_title}" if item.task_title else "")


def _sort_key(item: NoticeItem) -> tuple[Any, ...]:
    return (item.due, item.task_number or 0, item.title, item.unit_id, item.entry_id)


def sections(items: Iterable[NoticeItem]) -> list[Section]:
    """Items grouped by rung kind, most serious first; within a rung by due date."""
    items = list(items)
    return [Section(kind, tuple(sorted((i for i in items if i.rung_kind == kind), key=_sort_key)))
            for kind in RUNG_ORDER if any(i.rung_kind == kind for i in items)]


def by_unit(items: Iterable[NoticeItem]) -> list[UnitGroup]:
    """Items grouped by unit, the longest overdue unit first (then by unit id, stably)."""
    groups: dict[str, list[NoticeItem]] = {}
    for item in items:
        groups.setdefault(item.unit_id, []).append(item)
    ordered = sorted(groups.items(), key=lambda kv: (-max(i.days for i in kv[1]), kv[0]))
    return [UnitGroup(uid, its[0].unit_name, tuple(sorted(its, key=_sort_key)))
            for uid, its in ordered]


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(cn_date=cn_date, cn_ordinal=cn_ordinal, materials=materials,
                       task_label=task_label, days_text=days_text, days_html=days_html)
    return env


_ENV = _environment()


def render_notice(notice: Notice) -> Rendered:
    """Render one notice; the same notice always renders to the same bytes."""
    context = {
        "notice": notice,
        "plan": notice.plan,
        "sections": sections(notice.items),
        "units": by_unit(notice.items),
        "item_count": len(notice.items),
        "max_days": max((i.days for i in notice.items), default=0),
        "min_days": min((i.days for i in notice.items), default=0),
        "formats_needed": sorted({f for i in notice.items for f in i.formats}),
        "stats_needed": any(i.stats_table for i in notice.items),
    }
    subject = one_line(_ENV.get_template(f"{notice.kind}.subject.j2").render(context))
    context["subject"] = subject
    html = _ENV.get_template(f"{notice.kind}.html.j2").render(context)
    text = _ENV.get_template(f"{notice.kind}.txt.j2").render(context).rstrip() + "\n"
    return Rendered(subject=subject, text=text, html=html)
