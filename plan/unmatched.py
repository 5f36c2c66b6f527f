"""The coordinator's 未能自动登记的来件 and 未能送达的邮件 sections on the daily list.

Added to that day's coordinator-list notice; when the ladder sent the coordinator
nothing that day, a coordinator-list notice carrying only these sections is made, so a
file no rule could place, or a message no server accepted, is never left unseen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from plan.ladder import _emails
from plan.model import Plan
from plan.notice import Notice, PlanInfo, UndeliveredMail, UnmatchedFile


def with_unmatched(notices: list[Notice], *, plan: Plan, today: dt.date,
                   unmatched: Sequence[UnmatchedFile],
                   undelivered: Sequence[UndeliveredMail] = ()) -> list[Notice]:
    if not unmatched and not undelivered:
        return notices
    files, failed = tuple(unmatched), tuple(undelivered)
    out = [dataclasses.replace(n, unmatched=files, undelivered=failed) if n.kind == "coordinator-list" else n
           for n in notices]
    if any(n.kind == "coordinator-list" for n in notices):
        return out
    coordinator = plan.coordinator
    to = _emails(coordinator.contacts)
    if not to:
        return out
    return [*out, Notice(kind="coordinator-list", run_date=today, to=to, cc=(), recipient_name=coordinator.name,
                         unit_id=None, items=(), plan=PlanInfo.from_plan(plan), unmatched=files,
                         undelivered=failed)]


# How far back the daily email looks for refused mail: long enough to be seen after a
# holiday, short enough that a problem dealt with by hand stops being repeated.
UNDELIVERED_DAYS = 14


def undelivered_mail(rows: Sequence[dict[str, Any]], *, unit_names: dict[str, str]) -> list[UndeliveredMail]:
    """Rows of :func:`models.outbox.undelivered` as the coordinator reads them."""
    out: list[UndeliveredMail] = []
    for row in rows:
        who = unit_names.get(row["unit"] or "", "") or str(row["key"])
        if row["address"] is None:  # the whole message failed: it can be sent again as it is
            command = f"按原因改正后运行 duban outbox retry {row['id']}"
        else:  # the others got it; only this address was refused
            command = "核对 plan.yaml 中该单位的这一邮箱地址；该邮件的其他收件人已收到"
        out.append(UndeliveredMail(who, row["address"], row["reason"], command))
    return out
