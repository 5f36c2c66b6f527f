"""The coordinator's 未能自动登记的来件 section: unmatched intake files on the daily list.

Added to that day's coordinator-list notice; when the ladder sent the coordinator
nothing that day, a coordinator-list notice carrying only this section is made, so a
file no rule could place is never left unseen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from notifications.notice import Notice, PlanInfo, UnmatchedFile
from plan.ladder import _emails
from plan.model import Plan


def with_unmatched(notices: list[Notice], *, plan: Plan, today: dt.date,
                   unmatched: Sequence[UnmatchedFile]) -> list[Notice]:
    if not unmatched:
        return notices
    files = tuple(unmatched)
    out = [dataclasses.replace(n, unmatched=files) if n.kind == "coordinator-list" else n for n in notices]
    if any(n.kind == "coordinator-list" for n in notices):
        return out
    coordinator = plan.coordinator
    to = _emails(coordinator.contacts)
    if not to:
        return out
    return [*out, Notice(kind="coordinator-list", run_date=today, to=to, cc=(), recipient_name=coordinator.name,
                         unit_id=None, items=(), plan=PlanInfo.from_plan(plan), unmatched=files)]
