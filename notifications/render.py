"""Notice → subject, HTML and plain text, from the Jinja2 templates in ``templates/``.

One template set per notice kind (``<kind>.subject.j2``, ``<kind>.html.j2``,
``<kind>.txt.j2``).  HTML templates autoescape, so a unit name can never inject markup;
every template is strict, so a missing value fails loudly instead of printing blank.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from plan.notice import ListTally, Notice, NoticeItem
from plan.supervision import cn_month_day, sheet_file_name
from plan.unit_list import UNIT_LISTS, all_escalated_before, item_order, sent_on, tally

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


@dataclass(frozen=True)
class UnitGroup:
    """One unit on a list of units: the items the message names, and how many more it has."""

    unit_id: str
    unit_name: str
    shown: tuple[NoticeItem, ...]
    more: int


def one_line(value: str) -> str:
    """Collapse control characters (CR, LF, …) and runs of spaces: safe for a header."""
    return " ".join(_CONTROL.sub(" ", value).split())


def cn_date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def cn_ordinal(value: int) -> str:
    return ORDINALS[value - 1] if 1 <= value <= len(ORDINALS) else str(value)


def due_text(item: NoticeItem) -> str:
    """The due date as a unit reads it; an assumed date says so."""
    return cn_date(item.due) + ("（推定，待确认）" if item.assumed else "")


def assumed_note(item: NoticeItem) -> str:
    """Why an assumed date is only a reminder (empty for a date the notice sets)."""
    if not item.assumed:
        return ""
    text = "该截止日期为协调处室推定，原通知未明确规定，待确认后以正式通知为准。"
    return text + (f"（{item.note}）" if item.note else "")


def history_text(item: NoticeItem) -> str:
    """What was actually done before for an item at the supervise or interview rung.

    Only rungs recorded as sent on an earlier run date are named; when duban reaches several
    rungs at once (it started late, or the rungs fell due together) the sentence says so.
    """
    chased, supervised = sent_on(item, "chase"), sent_on(item, "supervise")
    if item.rung_kind == "supervise":
        if chased:
            return f"已于{cn_month_day(chased)}催办，仍未报送，现予督办。"
        return f"该事项已逾期{item.days}个工作日，本次一并予以督办。"
    if item.rung_kind == "interview":
        if chased and supervised:
            return (f"已于{cn_month_day(chased)}催办、{cn_month_day(supervised)}督办，"
                    "经催办、督办仍未报送。")
        if chased:
            return (f"已于{cn_month_day(chased)}催办，未发督办单；"
                    f"该事项已逾期{item.days}个工作日，本次一并提出约谈建议。")
        if supervised:
            return (f"已于{cn_month_day(supervised)}督办，未经催办；"
                    f"该事项已逾期{item.days}个工作日，本次一并提出约谈建议。")
        return f"该事项已逾期{item.days}个工作日，此前未发出催办、督办，本次一并提出约谈建议。"
    return ""


def _count_suffix(count: int) -> str:
    return f"等{count}项" if count > 1 else ""


def unit_subject(notice: Notice, top: Section) -> str:
    """What to do and by when: the most serious rung's first item, and how many in all."""
    first = top.items[0]
    what = first.title + _count_suffix(len(notice.items))
    doc = notice.plan.doc_number
    if top.kind == "remind":
        return f"【提醒】{what}将于{cn_month_day(first.due)}到期，请按时报送（{doc}）"
    if top.kind == "chase" or notice.sheet is None:
        by = notice.reply_by or notice.run_date
        label = "催办" if top.kind == "chase" else "督办"
        return f"【{label}】请于{cn_month_day(by)}前报送{what}（{doc}）"
    sheet = notice.sheet
    return f"【督办】{sheet.number}：请于{cn_month_day(sheet.deadline)}前报送{what}"


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


def short_hash(value: str) -> str:
    """A file hash as a 回执 shows it: the first 12 hex digits, enough to compare by eye."""
    return value[:12] if value else "—"


def sections(items: Iterable[NoticeItem]) -> list[Section]:
    """Items grouped by rung kind, most serious first; within a rung by due date."""
    items = list(items)
    return [Section(kind, tuple(sorted((i for i in items if i.rung_kind == kind), key=item_order)))
            for kind in RUNG_ORDER if any(i.rung_kind == kind for i in items)]


def by_unit(notice: Notice) -> tuple[list[UnitGroup], ListTally]:
    """A list of units' groups, in the list's order, and what it says of all its items.

    A sweep stores the list already cut to the items it names, with its tally; a message
    stored before that (or made by hand) holds every item and is cut here the same way.
    """
    counted, named = (notice.tally, notice.items) if notice.tally is not None else tally(notice.items)
    shown: dict[str, list[NoticeItem]] = {}
    for item in named:  # already in order: a unit's items by due date, task, title
        shown.setdefault(item.unit_id, []).append(item)
    groups = [UnitGroup(u.unit_id, u.unit_name, tuple(shown.get(u.unit_id, ())),
                        u.count - len(shown.get(u.unit_id, ()))) for u in counted.units]
    return groups, counted


def _environment(bytecode_cache: BytecodeCache | None = None) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        bytecode_cache=bytecode_cache,
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # A process renders with the templates it started with, the ones TEMPLATE_VERSION
        # names: Jinja's default re-reads a template whose file changed, so an upgrade made
        # while a run was sending could mix old and new wording under one stored version.
        auto_reload=False,
    )
    env.filters.update(cn_date=cn_date, cn_ordinal=cn_ordinal, materials=materials,
                       task_label=task_label, days_text=days_text, days_html=days_html,
                       cn_md=cn_month_day, due_text=due_text, assumed_note=assumed_note,
                       history_text=history_text, short_hash=short_hash,
                       sheet_file_name=sheet_file_name)
    return env




def _receipt_context(notice: Notice) -> dict[str, Any]:
    return {"notice": notice, "plan": notice.plan, "receipts": notice.receipts,
            "file_count": sum(len(r.files) for r in notice.receipts)}


def _context(notice: Notice) -> dict[str, Any]:
    if notice.kind == "receipt":
        return _receipt_context(notice)
    if notice.kind in UNIT_LISTS:
        groups, counted = by_unit(notice)
        return {"notice": notice, "plan": notice.plan, "units": groups, "item_count": counted.item_count,
                "min_days": counted.min_days, "all_escalated": counted.all_escalated}
    grouped = sections(notice.items)
    return {
        "notice": notice,
        "plan": notice.plan,
        "sections": grouped,
        "unit_subject": unit_subject(notice, grouped[0]) if notice.kind == "unit-notice" else "",
        "all_escalated": all_escalated_before(notice.items),
        "sheet": notice.sheet,
        "item_count": len(notice.items),
        "max_days": max((i.days for i in notice.items), default=0),
        "min_days": min((i.days for i in notice.items), default=0),
        "formats_needed": sorted({f for i in notice.items for f in i.formats}),
        "stats_needed": any(i.stats_table for i in notice.items),
    }


def render_notice(notice: Notice) -> Rendered:
    """Render one notice; the same notice always renders to the same bytes."""
    return _render(notice.kind, _context(notice))


def render_subject(notice: Notice) -> str:
    """The subject alone (what the outbox lists), as :func:`render_notice` renders it.

    The subject templates read only counts and the most serious item, so this context skips
    the sorting and grouping of every item that the bodies need (the sweep stores subjects).
    """
    if notice.kind == "receipt":
        return _subject(notice.kind, _receipt_context(notice))
    if notice.tally is not None:
        units = [u.unit_id for u in notice.tally.units]
    else:
        units = list(dict.fromkeys(i.unit_id for i in notice.items))
    context: dict[str, Any] = {"notice": notice, "plan": notice.plan, "item_count": notice.item_count,
                               "units": units, "unit_subject": ""}
    if notice.kind == "unit-notice":
        kinds = {i.rung_kind for i in notice.items}
        kind = next(k for k in RUNG_ORDER if k in kinds)
        first = min((i for i in notice.items if i.rung_kind == kind), key=item_order)
        context["unit_subject"] = unit_subject(notice, Section(kind, (first,)))
    return _subject(notice.kind, context)


def _subject(kind: str, context: dict[str, Any]) -> str:
    return one_line(_ENV.get_template(f"{kind}.subject.j2").render(context))


def _render(kind: str, context: dict[str, Any]) -> Rendered:
    subject = _subject(kind, context)
    context["subject"] = subject
    html = _ENV.get_template(f"{kind}.html.j2").render(context)
    text = _ENV.get_template(f"{kind}.txt.j2").render(context).rstrip() + "\n"
    return Rendered(subject=subject, text=text, html=html)


def _template_version() -> str:
    """A digest of the notice templates and of this module (its filters shape the bodies).

    Stored with every message queued as a notice, so ``outbox show`` can tell when a message
    queued before an upgrade will be rendered by changed templates.
    """
    digest = hashlib.sha256()
    for path in [Path(__file__), *sorted(TEMPLATES.glob("*.j2"))]:
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


TEMPLATE_VERSION = _template_version()


class _SparingBytecodeCache(FileSystemBytecodeCache):
    """A cache that cannot be written is not an error: the template is compiled as before."""

    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            return


def _bytecode_cache() -> BytecodeCache | None:
    """Compiled templates kept under the CLI's ``var/cache`` (off for library callers and tests).

    Compiling the notice templates is ~0.1 s CPU of every command that renders (run, deliver,
    preview).  Jinja checks each template's source checksum; the folder is named after
    TEMPLATE_VERSION because it also covers this module, whose environment options (trim_blocks,
    autoescape…) shape the compiled code but are not in Jinja's key.
    """
    from plan.plan_file import cache_folder

    folder = cache_folder(f"templates-{TEMPLATE_VERSION}")
    return None if folder is None else _SparingBytecodeCache(str(folder))


_ENV = _environment(_bytecode_cache())


def precompile() -> int:
    """Compile every notice template into the cache now (``duban init``), so that no run pays
    for it; returns how many.  The notice kinds are those with a subject template; the
    partials (``_*.j2``) are what they include."""
    kinds = {p.name.removesuffix(".subject.j2") for p in TEMPLATES.glob("*.subject.j2")}
    names = sorted(p.name for p in TEMPLATES.glob("*.j2")
                   if p.name.startswith("_") or p.name.split(".", 1)[0] in kinds)
    for name in names:
        _ENV.get_template(name)
    return len(names)
