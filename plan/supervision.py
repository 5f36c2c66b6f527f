"""The 督办单 (supervision sheet) as data: what the bureau formally asks one unit to do.

The sweep's supervise rung produces one sheet per unit and period; the email states it and
a printable .docx in the official-document layout carries it (see notifications).  Every
field here is a fact the ledger can prove: the items are open entries with seed or
confirmed dates, ``earlier`` lists only rungs that were actually recorded as sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Short period words used in the 督办编号: the summaries' periods, else the due month.
PERIOD_CODES = {"half-year": "半年", "annual": "全年"}


@dataclass(frozen=True)
class EarlierRung:
    """A rung that was recorded as sent for the item before this sheet (e.g. 催办 on 7月8日)."""

    kind: str  # remind | chase
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
