"""请示 → 批复: a unit's request for instructions, the reply and its follow-up.

The reply and the follow-up are ledger entries owed by the division that answers
(``request-<n>`` then ``request-<n>-followup``), so the sweep reminds and chases the
division, not the unit that asked.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlmodel import Session, col

from models.generated_entries import ensure_entry, ensure_milestone
from models.ledger import audit, get_unit, record_submission
from models.report_tables import RequestItem
from plan.errors import DubanError

STATUS_LABELS = {"open": "待答复", "replied": "已批复、跟踪落实中", "done": "已落实"}


def reply_milestone(number: int) -> str:
    return f"request-{number}"


def follow_up_milestone(number: int) -> str:
    return f"request-{number}-followup"


def add_request(session: Session, *, unit_id: str, division_id: str, title: str, received: dt.date,
                reply_due: dt.date, actor: str) -> RequestItem:
    unit = get_unit(session, unit_id)
    get_unit(session, division_id)
    if not title.strip():
        raise DubanError("请示标题不能为空", "用 --title 写明请示事项，例如 --title \"某商标侵权案定性\"")
    number = (session.execute(select(func.max(col(RequestItem.id)))).scalar_one_or_none() or 0) + 1
    item = RequestItem(id=number, unit_id=unit_id, division_id=division_id, title=title.strip(),
                       received=received, reply_due=reply_due, actor=actor)
    session.add(item)
    ensure_milestone(session, milestone_id=reply_milestone(number), due=reply_due, origin="request",
                     title=f"答复{unit.name}请示：{item.title}（第{number}号）")
    ensure_entry(session, milestone_id=reply_milestone(number), unit_id=division_id, due=reply_due,
                 actor=actor)
    audit(session, actor=actor, action="request.add", object_type="request", object_id=str(number),
          detail={"unit": unit_id, "division": division_id, "title": item.title,
                  "received": received.isoformat(), "reply_due": reply_due.isoformat()})
    session.flush()
    return item


def get_request(session: Session, number: int) -> RequestItem:
    item = session.get(RequestItem, number)
    if item is None:
        top = session.execute(select(func.max(col(RequestItem.id)))).scalar_one_or_none()
        hint = (f"已有请示编号 1–{top}，运行 duban request list 查看" if top
                else "还没有登记任何请示；用 duban request add 登记")
        raise DubanError(f"没有编号为 {number} 的请示", hint)
    return item


def reply(session: Session, *, number: int, on: dt.date, follow_up_due: dt.date, actor: str,
          note: str | None = None) -> RequestItem:
    item = get_request(session, number)
    if item.status != "open":
        raise DubanError(f"第 {number} 号请示已于 {item.replied_on} 批复", "跟踪落实后运行 duban request done "
                         + str(number))
    if on < item.received:
        raise DubanError(f"批复日期 {on} 早于收到请示的日期 {item.received}", "用 --date 填写实际批复日期")
    record_submission(session, unit_id=item.division_id, milestone_id=reply_milestone(number),
                      submitted_on=on, source="request", actor=actor, note=note or "已批复")
    item.replied_on, item.follow_up_due, item.status = on, follow_up_due, "replied"
    session.add(item)
    ensure_milestone(session, milestone_id=follow_up_milestone(number), due=follow_up_due,
                     origin="request", title=f"跟踪第{number}号请示批复的落实：{item.title}")
    ensure_entry(session, milestone_id=follow_up_milestone(number), unit_id=item.division_id,
                 due=follow_up_due, actor=actor)
    audit(session, actor=actor, action="request.reply", object_type="request", object_id=str(number),
          detail={"on": on.isoformat(), "follow_up_due": follow_up_due.isoformat()})
    return item


def done(session: Session, *, number: int, on: dt.date, actor: str, note: str | None = None) -> RequestItem:
    item = get_request(session, number)
    if item.status == "open":
        raise DubanError(f"第 {number} 号请示还没有批复", f"先运行 duban request reply {number}")
    if item.status == "done":
        raise DubanError(f"第 {number} 号请示已于 {item.done_on} 办结", "无需重复办结")
    assert item.replied_on is not None
    if on < item.replied_on:
        raise DubanError(f"办结日期 {on} 早于批复日期 {item.replied_on}", "用 --date 填写实际落实日期")
    record_submission(session, unit_id=item.division_id, milestone_id=follow_up_milestone(number),
                      submitted_on=on, source="request", actor=actor, note=note or "批复已落实")
    item.done_on, item.status = on, "done"
    session.add(item)
    audit(session, actor=actor, action="request.done", object_type="request", object_id=str(number),
          detail={"on": on.isoformat()})
    return item


def list_requests(session: Session, *, open_only: bool = False) -> list[RequestItem]:
    query = select(RequestItem).order_by(col(RequestItem.id))
    if open_only:
        query = query.where(col(RequestItem.status) != "done")
    return list(session.execute(query).scalars())
