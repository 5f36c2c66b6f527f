"""The digest view's lists are read lazily (notifications.digest_render.Items): whatever a
template or page takes from them is what the eager list of dicts gave."""

from __future__ import annotations

import datetime as dt
from typing import Any

from notifications.digest_render import Items, _item, longest_overdue
from plan.digest_rules import Item

D = dt.date


def _old_longest_overdue(items: list[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """The function before the lists were lazy, kept here as the reference."""
    if len(items) <= cap:
        return items
    return sorted(items, key=lambda i: -i["days_overdue"])[:cap]


def items(n: int) -> list[Item]:
    return [Item(k, f"u{k % 7}", f"第{k % 7}号单位", f"m{k}", f"材料<{k}>", k % 3 or None, D(2024, 6, 1 + k % 28),
                 (k * 37) % 11, D(2024, 7, 1) if k % 2 else None, None) for k in range(n)]


def test_items_read_as_the_list_of_dicts() -> None:
    raw = items(40)
    eager = [_item(i) for i in raw]
    lazy = Items(raw)
    assert len(lazy) == 40 and bool(lazy) and not Items([])
    assert list(lazy) == eager and lazy == eager
    assert lazy[3] == eager[3] and lazy[-1] == eager[-1]
    assert lazy[:10] == eager[:10] and lazy[35:99] == eager[35:99]
    assert lazy.units() == {d["unit"] for d in eager}


def test_longest_overdue_ranks_as_before_ties_in_list_order() -> None:
    for n, cap in ((40, 10), (40, 40), (5, 10), (0, 3)):
        eager = [_item(i) for i in items(n)]
        assert longest_overdue(Items(items(n)), cap) == _old_longest_overdue(eager, cap)
        assert longest_overdue(eager, cap) == _old_longest_overdue(eager, cap)
