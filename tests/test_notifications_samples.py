"""Notices built by hand for the notification and delivery tests (no sweep involved).

Holds no tests itself; the other test_notifications*/test_delivery*/test_outbox* modules
import these builders.
"""

from __future__ import annotations

import datetime as dt

from plan.notice import Notice, NoticeItem, PlanInfo
from plan.supervision import EarlierRung, SupervisionSheet

PLAN_INFO = PlanInfo(
    title="2024年上海市知识产权行政保护工作实施方案",
    doc_number="沪知局保〔2024〕15号",
    issuer="上海市知识产权局",
    mailbox="shszcj@126.com",
    coordinator_name="知识产权保护处",
    contacts=(("凌捷", "23170402"), ("胡中鹤", "23170413")),
)
SENDER = '"上海市知识产权局督办" <shszcj@126.com>'
NOW = dt.datetime(2024, 7, 15, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
RUN_DATE = dt.date(2024, 7, 15)
HALF_YEAR = dt.date(2024, 7, 5)

_next_id = iter(range(1, 10**9))


def item(rung_kind: str = "chase", *, rung_id: str | None = None, days: int = 2,
         unit_id: str = "huangpu", unit_name: str = "黄浦区知识产权局",
         title: str = "2024年上半年工作总结", task: int | None = None,
         task_title: str | None = None, due: dt.date = HALF_YEAR,
         formats: tuple[str, ...] = ("word", "pdf-stamped"), stats_table: bool = True,
         entry_id: int | None = None, earlier: tuple[EarlierRung, ...] = (),
         assumed: bool = False, note: str | None = None) -> NoticeItem:
    default_rung = {"remind": "remind-5", "chase": "overdue", "supervise": "supervise",
                    "interview": "interview"}[rung_kind]
    return NoticeItem(
        entry_id=entry_id if entry_id is not None else next(_next_id), unit_id=unit_id,
        unit_name=unit_name, milestone_id=f"m-{title}", title=title, task_number=task,
        task_title=task_title, due=due, rung_id=rung_id or default_rung, rung_kind=rung_kind,
        days=days, formats=formats, stats_table=stats_table, earlier=earlier, assumed=assumed,
        note=note)


def unit_notice(*items: NoticeItem, to: tuple[str, ...] = ("huangpu@example.org",),
                cc: tuple[str, ...] = (), name: str | None = None,
                run_date: dt.date = RUN_DATE, reply_by: dt.date | None = None,
                sheet: SupervisionSheet | None = None) -> Notice:
    items = items or (item(),)
    return Notice(kind="unit-notice", run_date=run_date, to=to, cc=cc,
                  recipient_name=name or items[0].unit_name, unit_id=items[0].unit_id,
                  items=tuple(items), plan=PLAN_INFO, reply_by=reply_by, sheet=sheet)


def coordinator_list(*items: NoticeItem, run_date: dt.date = RUN_DATE) -> Notice:
    return Notice(kind="coordinator-list", run_date=run_date, to=("shszcj@126.com",), cc=(),
                  recipient_name="知识产权保护处", unit_id=None, items=tuple(items),
                  plan=PLAN_INFO)


def interview_proposal(*items: NoticeItem, run_date: dt.date = RUN_DATE) -> Notice:
    return Notice(kind="interview-proposal", run_date=run_date, to=("leader@example.org",),
                  cc=("shszcj@126.com",), recipient_name="局领导", unit_id=None,
                  items=tuple(items), plan=PLAN_INFO)


def many_unit_notices(count: int, *, run_date: dt.date = RUN_DATE) -> list[Notice]:
    """``count`` different unit notices (one per synthetic unit)."""
    return [unit_notice(item(unit_id=f"u{i:03d}", unit_name=f"第{i}区知识产权局"),
                        to=(f"u{i:03d}@example.org",), run_date=run_date)
            for i in range(count)]


def queue_notices(notices: list[Notice], *, sender: str = SENDER) -> list[str]:
    """Render and queue notices in the current database; returns the keys queued."""
    from models import outbox
    from models.db import session_scope
    from notifications.compose import outbox_row
    from notifications.render import render_notice

    rows = [outbox_row(n, render_notice(n), sender=sender) for n in notices]
    with session_scope() as session:
        return outbox.queue(session, rows)


def outbox_rows(state: str | None = None) -> list:
    from models import outbox
    from models.db import session_scope

    with session_scope() as session:
        return outbox.list_messages(session, state=state)
