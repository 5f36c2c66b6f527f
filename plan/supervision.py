"""The 督办单 (supervision sheet) as data: what the bureau formally asks one unit to do.

The sweep's supervise rung produces one sheet per unit and period; the email states it and
a printable .docx in the official-document layout carries it (see notifications).  Every
field here is a fact the ledger can prove: the items are open entries with seed or
confirmed dates, ``earlier`` lists only rungs that were actually recorded as sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # plan.notice imports this module
    from plan.model import Plan
    from plan.notice import NoticeItem
    from plan.workdays import WorkCalendar

# Short period words used in the 督办编号: the summaries' periods, else the due month.
PERIOD_CODES = {"half-year": "半年", "annual": "全年"}


@dataclass(frozen=True)
class EarlierRung:
    """A rung that was recorded as sent for the item before this sheet (e.g. 催办 on 7月8日)."""

    kind: str  # remind | chase | supervise (the last only on a 约谈建议)
    sent_on: dt.date


@dataclass(frozen=True)
class SheetItem:
    """One 督办事项: an obligation the unit has not met."""

    milestone_id: str
    title: str  # 半年度工作总结
    due: dt.date
    working_days_overdue: int
    formats: tuple[str, ...]  # what to send: ("word", "pdf-stamped")
    stats_table: bool
    earlier: tuple[EarlierRung, ...] = ()


@dataclass(frozen=True)
class SupervisionSheet:
    """督办单: number, matters, a dated time limit, feedback requirement, issuer and contacts."""

    number: str  # 督办编号, stable per unit and period (see supervision_number)
    unit_id: str
    unit_name: str
    items: tuple[SheetItem, ...]
    issued_on: dt.date
    deadline: dt.date  # 办理时限: a concrete date, counted in working days from issued_on
    feedback: str  # 反馈要求: what to send back, by when, to which address
    issuer: str  # 督办单位: 上海市知识产权局（知识产权保护处）
    doc_number: str  # the notice the obligations come from: 沪知局保〔2024〕15号
    mailbox: str
    contacts: tuple[tuple[str, str], ...]  # (name, phone)


def supervision_number(*, year: int, period_code: str, unit_sequence: int) -> str:
    """督办编号, e.g. ``督〔2024〕半年第07号``: the same unit and period always get the same number.

    ``unit_sequence`` is the unit's 1-based position in plan.yaml's units list, so the number
    does not depend on which other units happen to be supervised on the same day.
    """
    return f"督〔{year}〕{period_code}第{unit_sequence:02d}号"


def cn_month_day(day: dt.date) -> str:
    """7月5日: the form a 督办单 and a subject use (no leading zeros, no year)."""
    return f"{day.month}月{day.day}日"


def period_code(milestone: Any) -> str:
    """半年 / 全年 for a summary-tied item, else the due month (``7月``)."""
    period = getattr(milestone, "period", None)
    if period in PERIOD_CODES:
        return PERIOD_CODES[period]
    return f"{milestone.due.month}月"


def feedback_text(*, number: str, deadline: dt.date, mailbox: str) -> str:
    return (f"请于{cn_month_day(deadline)}前将督办事项所列材料报送至 {mailbox}，"
            f"同时书面反馈逾期原因和整改措施；邮件主题注明单位名称和督办编号{number}。")


_new = object.__new__


def sheet_item(item: NoticeItem) -> SheetItem:
    """The 督办事项 of a notice item: equal to ``SheetItem(...)`` with its fields, made faster.

    A national catch-up day puts 39,000 items on 督办单; the frozen dataclass's ``__init__``
    sets each field through ``object.__setattr__``.  Here they go straight into the
    instance's ``__dict__``, key by key in field order (as ``plan.notice.new_item`` does).
    """
    made = _new(SheetItem)
    fields = made.__dict__
    fields["milestone_id"], fields["title"], fields["due"] = item.milestone_id, item.title, item.due
    fields["working_days_overdue"], fields["formats"] = item.days, item.formats
    fields["stats_table"], fields["earlier"] = item.stats_table, item.earlier
    return made


def unit_sequence(plan: Plan) -> dict[str, int]:
    """Each unit's place in plan order, from 1: the NN of its 督办单 numbers."""
    return {unit_id: n for n, unit_id in enumerate(plan.units, 1)}


def build_sheet(plan: Plan, calendar: WorkCalendar, *, unit_id: str, items: Sequence[NoticeItem],
                today: dt.date, milestones: Mapping[str, Any],
                sequence: Mapping[str, int] | None = None) -> SupervisionSheet:
    """The 督办单 for one unit's items at the supervise rung today (items sorted by due date).

    The number follows the earliest item's period, so the half-year summary's sheet keeps
    督〔2024〕半年第NN号 however many other items join it.  ``sequence`` is
    :func:`unit_sequence` of ``plan``, passed by a caller that makes many sheets (looking the
    unit up in the list of units for each sheet was quadratic: 1.7 s of a sweep at 10,000 units).
    """
    ordered = sorted(items, key=lambda i: (i.due, i.milestone_id))
    first = ordered[0]
    anchor = milestones.get(first.milestone_id)
    code = period_code(anchor) if anchor is not None else f"{first.due.month}月"
    number = supervision_number(year=first.due.year, period_code=code,
                                unit_sequence=(sequence or unit_sequence(plan))[unit_id])
    deadline = calendar.shift(today, plan.escalation.response_days)
    meta = plan.meta
    unit = plan.units[unit_id]
    return SupervisionSheet(
        number=number, unit_id=unit_id, unit_name=unit.name,
        items=tuple(map(sheet_item, ordered)),
        issued_on=today, deadline=deadline,
        feedback=feedback_text(number=number, deadline=deadline, mailbox=meta.mailbox),
        issuer=f"{meta.issuer}（{plan.coordinator.name}）", doc_number=meta.doc_number,
        mailbox=meta.mailbox, contacts=tuple((c.name, c.phone or "") for c in meta.contacts),
    )


def sheet_file_name(sheet: SupervisionSheet) -> str:
    """The printable 督办单's file name as the unit sees it: its number and the unit."""
    return f"督办单{sheet.number}（{sheet.unit_name}）.docx"
