"""The Router's items, made with per-milestone caches and ``new_item``, against the plain
construction they replace: ``NoticeItem(...)`` with ``Plan.formats_for`` for each entry."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from plan.ladder import Candidate, Firing, Router
from plan.notice import NoticeItem, new_item
from plan.supervision import EarlierRung

TODAY = dt.date(2024, 7, 8)


def reference_item(plan, firing: Firing) -> NoticeItem:
    """The item as the Router built it before its caches (per entry, through the dataclass)."""
    c = firing.candidate
    milestone = {m.id: m for m in plan.milestones()}.get(c.milestone_id)
    task = plan.tasks.get(c.task_number) if c.task_number is not None else None
    unit = plan.units.get(c.unit_id)
    if milestone is None:
        formats: tuple[str, ...] = ()
    elif unit is not None:
        formats = plan.formats_for(milestone, c.unit_id)
    else:
        formats = milestone.formats
    return NoticeItem(
        entry_id=c.entry_id, unit_id=c.unit_id, unit_name=unit.name if unit else c.unit_id,
        milestone_id=c.milestone_id, title=c.title, task_number=c.task_number,
        task_title=task.title if task else None, due=c.due, rung_id=firing.rung.id, rung_kind=firing.rung.kind,
        days=firing.days, formats=formats, stats_table=milestone.stats_table if milestone else False,
        assumed=c.assumed or bool(milestone and not milestone.enforceable),
        note=milestone.note if milestone else None, earlier=firing.earlier)


def test_router_items_match_the_plain_construction(plan):
    # Every milestone for every unit (public and task-only), a unit and a milestone the plan
    # no longer has, assumed and not: one Router, so its caches are shared across them all.
    units = [*plan.units, "gone-unit"]
    milestones = [*plan.milestones(), None]
    assert any(not u.reports_publicly for u in plan.units.values())
    assert any("pdf-stamped" in m.formats for m in plan.milestones())
    rungs = list(plan.escalation.rungs)
    earlier = (EarlierRung("chase", dt.date(2024, 7, 1)),)
    router = Router(plan, TODAY)
    n = 0
    for unit_id in units:
        for milestone in milestones:
            for assumed in (False, True):
                n += 1
                rung = rungs[n % len(rungs)]
                c = Candidate(n, unit_id, milestone.id if milestone else "gone-milestone",
                              milestone.title if milestone else "旧节点",
                              milestone.task if milestone else None, TODAY - dt.timedelta(days=n % 9),
                              enforceable=not assumed, assumed=assumed)
                firing = Firing(c, rung, n % 7, earlier if n % 2 else ())
                made = router._item(firing)
                expected = reference_item(plan, firing)
                assert made == expected
                assert vars(made) == vars(expected)  # every field, and nothing besides them
    assert n > 100


def test_new_item_is_the_dataclass():
    fields = [f.name for f in dataclasses.fields(NoticeItem)]
    values = dict(entry_id=7, unit_id="huangpu", unit_name="黄浦区知识产权局", milestone_id="m1", title="总结",
                  task_number=3, task_title="任务", due=dt.date(2024, 7, 1), rung_id="overdue", rung_kind="chase",
                  days=2, formats=("word",), stats_table=True, assumed=True, note="注",
                  earlier=(EarlierRung("remind", dt.date(2024, 6, 28)),))
    assert list(values) == fields  # new_item takes the fields in the dataclass's order
    made = new_item(*values.values())
    assert made == NoticeItem(**values)
    assert list(vars(made)) == fields
    assert hash(made) == hash(NoticeItem(**values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.days = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown rung kind"):
        new_item(*{**values, "rung_kind": "nag"}.values())


def test_item_of_maps_each_winning_firing_to_its_item_for_the_last_call_only(plan):
    rungs = {rung.id: rung for rung in plan.escalation.rungs}
    units = list(plan.units)[:3]
    milestone = plan.milestones()[0]

    def firings(first_id: int) -> list[Firing]:
        out = []
        for n, unit_id in enumerate(units):
            c = Candidate(first_id + n, unit_id, milestone.id, milestone.title, milestone.task,
                          TODAY - dt.timedelta(days=30))
            # Chase and supervise fire together: supervise wins the unit's message, chase wins nothing.
            out += [Firing(c, rungs["overdue"], 20), Firing(c, rungs["supervise"], 20)]
        return out

    router = Router(plan, TODAY)
    first = firings(1)
    notices = router.notices(first)
    in_notices = {id(item): item for notice in notices for item in notice.items}
    assert set(map(id, router.item_of.values())) == set(in_notices)
    for f in first:
        item = router.item_of.get(id(f))
        if f.rung.id == "overdue":
            assert item is None
        else:
            assert item is not None and (item.entry_id, item.rung_id) == (f.candidate.entry_id, f.rung.id)
    second = firings(100)
    router.notices(second)
    assert len(router.item_of) == len(units)
    assert all(item.entry_id >= 100 for item in router.item_of.values())


def test_sheet_item_is_the_dataclass():
    from plan.supervision import SheetItem, sheet_item

    earlier = (EarlierRung("chase", dt.date(2024, 7, 1)),)
    notice_item = new_item(7, "huangpu", "黄浦区知识产权局", "m1", "总结", 3, "专项", dt.date(2024, 7, 5),
                           "supervise", "supervise", 6, ("word", "pdf-stamped"), True, False, None, earlier)
    made = sheet_item(notice_item)
    plain = SheetItem(milestone_id="m1", title="总结", due=dt.date(2024, 7, 5), working_days_overdue=6,
                      formats=("word", "pdf-stamped"), stats_table=True, earlier=earlier)
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    assert list(vars(made)) == [f.name for f in dataclasses.fields(SheetItem)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.title = "改"  # type: ignore[misc]
