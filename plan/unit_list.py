"""The coordinator's 督导检查名单 and the leaders' 约谈建议: units, counted, in the list's order.

Both messages list units, not items: each unit with its first :data:`MAX_ITEMS_PER_UNIT`
items and how many more it has ("另有 N 项").  On a national catch-up day they would carry
tens of thousands of items, so the sweep keeps only the items the messages show and counts
the rest here (:func:`tally`), where the order and the counts are decided once, for the
stored message and for any older stored message that still holds every item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from heapq import nsmallest
from typing import Any

from plan.notice import ListTally, NoticeItem, UnitTally

# The messages that list units, naming only the first items of each.
UNIT_LISTS = ("coordinator-list", "interview-proposal")
# A national-scale list must stay readable: at most this many items are named per unit.
MAX_ITEMS_PER_UNIT = 10


def item_order(item: NoticeItem) -> tuple[Any, ...]:
    """Within a unit (and within a rung on a unit's notice): by due date, then task, title."""
    return (item.due, item.task_number or 0, item.title, item.unit_id, item.entry_id)


def sent_on(item: NoticeItem, kind: str) -> dt.date | None:
    """When the rung ``kind`` was recorded as sent for this item on an earlier run date."""
    return next((r.sent_on for r in item.earlier if r.kind == kind), None)


def all_escalated_before(items: Iterable[NoticeItem]) -> bool:
    """Every item was recorded as both chased and supervised earlier (a 约谈建议's wording)."""
    return all(sent_on(i, "chase") and sent_on(i, "supervise") for i in items)


@dataclass
class _Unit:
    name: str
    items: list[NoticeItem]
    max_days: int
    first_entry_id: int


def tally(items: Iterable[NoticeItem]) -> tuple[ListTally, tuple[NoticeItem, ...]]:
    """The list's counts and the items it shows, units in the list's order.

    Units: the longest overdue first, then in the plan's order.  The plan's order of units
    (黄浦、徐汇 … 临港, then the divisions and centres) is the order sync created their
    ledger entries in, so the lowest entry id stands for it — never the English id, which
    would put baoshan before huangpu in an official list.  Counts, days and the wording's
    facts are over every item, shown or not.
    """
    units: dict[str, _Unit] = {}
    rung_ids: set[str] = set()
    count, min_days, escalated = 0, None, True
    for item in items:
        count += 1
        rung_ids.add(item.rung_id)
        if min_days is None or item.days < min_days:
            min_days = item.days
        if escalated and not (sent_on(item, "chase") and sent_on(item, "supervise")):
            escalated = False
        unit = units.get(item.unit_id)
        if unit is None:
            units[item.unit_id] = _Unit(item.unit_name, [item], item.days, item.entry_id)
            continue
        unit.items.append(item)
        unit.max_days = max(unit.max_days, item.days)
        unit.first_entry_id = min(unit.first_entry_id, item.entry_id)
    ordered = sorted(units.items(), key=lambda kv: (-kv[1].max_days, kv[1].first_entry_id, kv[0]))
    shown: list[NoticeItem] = []
    tallies = []
    for unit_id, unit in ordered:
        shown.extend(nsmallest(MAX_ITEMS_PER_UNIT, unit.items, key=item_order))
        tallies.append(UnitTally(unit_id, unit.name, len(unit.items), unit.max_days, unit.first_entry_id))
    return ListTally(units=tuple(tallies), item_count=count, min_days=0 if min_days is None else min_days,
                     all_escalated=escalated, rung_ids=tuple(sorted(rung_ids))), tuple(shown)
