"""The sweep reads only entries that may fire (``Ladder.reached_ranges`` → ``models.sweep.Pending``).

The ranges must say exactly what the firing rule (``Ladder._reached_for_due``) says for every
due date, and the SQL filter must keep exactly the open entries with a reached rung that has
no escalation row: anything less loses a firing, anything more is only slower (so it is
checked here, not by the firing tests).
"""

from __future__ import annotations

import datetime as dt

from flows.sweep import run_sweep
from models.db import session_scope
from models.sweep import Pending, fired_rungs, open_candidates
from plan.ladder import Ladder
from plan.workdays import WorkCalendar

D = dt.date


def in_ranges(ranges, due: dt.date, enforceable: bool) -> set[str]:
    return {rung_id for flag, rung_id, after, through in ranges
            if flag == enforceable and (after is None or due > after) and due <= through}


def test_reached_ranges_are_the_firing_rule_for_every_due_date(plan):
    calendar = WorkCalendar(plan.calendar)
    # Every day of the season, across the 端午 and 国庆 holidays and week ends.
    for today in (D(2024, 5, 6) + dt.timedelta(days=n) for n in range(200)):
        ladder = Ladder(plan, calendar, today)
        ranges = ladder.reached_ranges()
        assert ranges is not None, today
        # Due dates from long before the ladder's reach up to the horizon (beyond it nothing is read).
        due = today - dt.timedelta(days=400)
        while due <= ladder.horizon():
            for enforceable in (True, False):
                expected = {rung.id for rung in ladder._reached_for_due(due, enforceable)}
                assert in_ranges(ranges, due, enforceable) == expected, (today, due, enforceable)
            due += dt.timedelta(days=1)


def test_the_pending_filter_keeps_exactly_the_entries_that_may_fire(synced, db_url):
    plan = synced
    calendar = WorkCalendar(plan.calendar)
    days = [D(2024, 7, 8), D(2024, 7, 9), D(2024, 7, 15), D(2024, 7, 22), D(2024, 8, 1), D(2024, 8, 15)]
    checked = partly = 0
    for n, today in enumerate(days):
        with session_scope() as session:
            ladder = Ladder(plan, calendar, today)
            horizon = ladder.horizon()
            everything = open_candidates(session, today=today, horizon=horizon)
            fired = fired_rungs(session, [c.entry_id for c in everything])
            may_fire = {c.entry_id for c in everything
                        if any(rung.id not in fired.get(c.entry_id, {})
                               for rung in ladder._reached_for_due(c.due, c.enforceable))}
            ranges = ladder.reached_ranges()
            assert ranges is not None
            kept = open_candidates(session, today=today, horizon=horizon, pending=Pending(tuple(ranges)))
            assert {c.entry_id for c in kept} == may_fire, today
            assert set(kept) <= set(everything)
            # In the order the unfiltered read gives them: escalation rows are numbered in it.
            position = {c.entry_id: i for i, c in enumerate(everything)}
            assert [position[c.entry_id] for c in kept] == sorted(position[c.entry_id] for c in kept), today
            checked += len(may_fire)
            if n:  # after the catch-up: most open entries fired all they reach
                partly += 0 < len(may_fire) < len(everything) / 2
            run_sweep(session, plan=plan, today=today)
    assert checked > 0 and partly >= 2
