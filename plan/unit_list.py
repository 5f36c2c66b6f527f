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


def tally(items: Iterable[NoticeItem]) -> tuple[ListTally, tuple[NoticeItem, ...]]:
    """The list's counts and the items it shows, units in the list's order.

    Units: the longest overdue first, then in the plan's order.  The plan's order of units
    (黄浦、徐汇 … 临港, then the divisions and centres) is the order sync created their
    ledger entries in, so the lowest entry id stands for it — never the English id, which
    would put baoshan before huangpu in an official list.  Counts, days and the wording's
    facts are over every item, shown or not.
    """
    by_unit: dict[str, list[NoticeItem]] = {}
    for item in items:
        found = by_unit.get(item.unit_id)
        if found is None:
            by_unit[item.unit_id] = [item]
        else:
            found.append(item)
    every = [item for unit_items in by_unit.values() for item in unit_items]

    def unit_order(unit_id: str) -> tuple[int, int, str]:
        unit_items = by_unit[unit_id]
        return -max(i.days for i in unit_items), min(i.entry_id for i in unit_items), unit_id

    shown: list[NoticeItem] = []
    units = []
    for unit_id in sorted(by_unit, key=unit_order):
        unit_items = by_unit[unit_id]
        shown += sorted(unit_items, key=item_order)[:MAX_ITEMS_PER_UNIT]
        units.append(UnitTally(unit_id, unit_items[0].unit_name, len(unit_items)))
    return ListTally(units=tuple(units), item_count=len(every), min_days=min((i.days for i in every), default=0),
                     all_escalated=all_escalated_before(every),
                     rung_ids=tuple(sorted({i.rung_id for i in every}))), tuple(shown)
