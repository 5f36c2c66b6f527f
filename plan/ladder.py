"""The escalation ladder (提醒 → 催办 → 督导检查 → 约谈): which rung fires for which entry
on a given day, and who is told.  Pure rules over rows the sweep fetched in bulk.

A rung is *reached* on the working day ``shift(due, offset)``.  Every reached rung that
has not fired yet fires — except reminders, which only make sense before the due date:
only the latest reached rung may be a reminder, so a reminder that was missed (duban
started late, or was off) is skipped rather than sent after its moment, and an entry that
already has a 催办/督办/约谈 row is never reminded again (a back-dated run).

Only the notice's obligations are enforced: an entry whose date is assumed, or whose unit is
task-only, climbs to 催办 at most (``Candidate.enforceable``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from plan.model import Plan
from plan.notice import ListTally, Notice, NoticeItem, PlanInfo, message_key, new_item
from plan.schema import RUNG_KIND_NAMES, Rung
from plan.supervision import EarlierRung, SupervisionSheet, build_sheet, unit_sequence
from plan.unit_list import UNIT_LISTS, tally
from plan.workdays import WorkCalendar

KIND_ORDER = {"supervise": 0, "chase": 1, "interview": 2, "remind": 3}
KIND_ORDER_LADDER = {"remind": 0, "chase": 1, "supervise": 2, "interview": 3}
# The rungs an unenforceable entry (assumed date, task-only unit) may reach.
UNENFORCED_KINDS = frozenset({"remind", "chase"})
# The rungs a notice may cite as history, in ladder order.
HISTORY_KINDS = ("remind", "chase", "supervise")


def rung_labels(rungs: Iterable[Rung]) -> dict[str, str]:
    """Rung id → what a coordinator reads: 催办, or 提醒（截止前 5 个工作日） when two rungs
    share a kind.  Rung ids are plan.yaml keys, not words for a summary."""
    rungs = list(rungs)
    per_kind = Counter(rung.kind for rung in rungs)
    labels = {}
    for rung in rungs:
        label = RUNG_KIND_NAMES[rung.kind]
        if per_kind[rung.kind] > 1:
            when = (f"截止前 {-rung.offset} 个工作日" if rung.offset < 0 else "截止当日" if rung.offset == 0
                    else f"逾期 {rung.offset} 个工作日")
            label += f"（{when}）"
        labels[rung.id] = label
    return labels


class FiredRung(NamedTuple):
    """A recorded escalation row: which rung, on which run date, and whether its message went.

    ``sent`` is True when the row names an outbox message that is queued, being sent or sent
    (not failed): the notice was handed to delivery on ``fired_on``.  A NamedTuple, not a
    frozen dataclass: the sweep builds one per recorded row (130,000 at 200,000 entries) and
    a frozen dataclass's ``__init__`` cost three times as much.
    """

    kind: str
    fired_on: dt.date
    sent: bool


class Candidate(NamedTuple):
    """An open entry that the ladder may act on (fetched by the sweep in one query).

    A NamedTuple, like :class:`FiredRung`: the sweep builds one per open entry.
    """

    entry_id: int
    unit_id: str
    milestone_id: str
    title: str
    task_number: int | None
    due: dt.date
    # False for an assumed date or a task-only unit: reminded and chased, never supervised.
    enforceable: bool = True
    assumed: bool = False


class Firing(NamedTuple):
    """A rung that fires today for one entry (a NamedTuple: 123,000 on a catch-up day)."""

    candidate: Candidate
    rung: Rung
    days: int  # remind: working days left; otherwise working days overdue
    earlier: tuple[EarlierRung, ...] = ()  # lower rungs recorded as sent on earlier run dates


def earlier_rungs(recorded: Mapping[str, FiredRung], today: dt.date, below: str) -> tuple[EarlierRung, ...]:
    """The rungs below ``below`` that a notice today may say were sent: fired on an earlier
    run date with a message that was not failed.  A rung fired today is not history yet."""
    if not recorded:  # most entries on a catch-up day: nothing recorded yet
        return ()
    limit = KIND_ORDER_LADDER[below]
    rows = sorted((r for r in recorded.values()
                   if r.sent and r.fired_on < today and r.kind in HISTORY_KINDS
                   and KIND_ORDER_LADDER[r.kind] < limit), key=lambda r: (r.fired_on, KIND_ORDER_LADDER[r.kind]))
    by_kind: dict[str, EarlierRung] = {}
    for row in rows:  # the first time each kind was sent
        by_kind.setdefault(row.kind, EarlierRung(row.kind, row.fired_on))
    return tuple(sorted(by_kind.values(), key=lambda r: KIND_ORDER_LADDER[r.kind]))


class Ladder:
    def __init__(self, plan: Plan, calendar: WorkCalendar, today: dt.date) -> None:
        self.plan = plan
        self.calendar = calendar
        self.today = today
        self.rungs = list(plan.escalation.rungs)
        self._reached = lru_cache(maxsize=None)(self._reached_for_due)
        self._days = lru_cache(maxsize=None)(self._days_for)
        self._reached_days = lru_cache(maxsize=None)(self._reached_days_for)
        self._next_reach = lru_cache(maxsize=None)(self._next_reach_for)

    def horizon(self) -> dt.date:
        """The latest due date any rung can act on today (the earliest reminder's reach)."""
        earliest = min(r.offset for r in self.rungs)
        return self.calendar.shift(self.today, -earliest) if earliest < 0 else self.today

    def next_reach(self, due: dt.date, enforceable: bool) -> dt.date:
        """The first day after today on which a rung is reached for an entry due on ``due``
        (``date.max``: none is left).  Until then such an entry, examined today, can fire
        nothing more: the reached rungs are the ones fired or, for an outranked reminder,
        skipped for good (models.sweep_basis keeps this day per entry)."""
        return self._next_reach(due, enforceable)

    def _next_reach_for(self, due: dt.date, enforceable: bool) -> dt.date:
        rungs = self.rungs if enforceable else [r for r in self.rungs if r.kind in UNENFORCED_KINDS]
        return min((day for r in rungs if (day := self.calendar.shift(due, r.offset)) > self.today),
                   default=dt.date.max)

    def reached_ranges(self) -> list[tuple[bool, str, dt.date | None, dt.date]] | None:
        """(enforceable, rung id, after, through): entries due in (after, through] reach the
        rung today (``after`` None: every earlier due date too), or None when the reached due
        dates do not form such ranges (then the sweep reads every open entry).

        An entry can fire only a reached rung it has no row for, so the sweep asks the
        database for those entries alone (``models.sweep.Pending``): the day after a catch-up
        7,000 of 54,000.  The ranges come from the same rule as :meth:`firings`
        (``_reached_for_due``) over each day from ``start`` to the horizon; before ``start``
        every rung is reached (checked here), so ``shift`` being monotone, an earlier due date
        reaches what ``start`` reaches.  Each rung's days are checked to be one range.
        """
        one = dt.timedelta(days=1)
        start = self.today - dt.timedelta(days=3 * max(abs(r.offset) for r in self.rungs) + 40)
        if any(self.today < self.calendar.shift(start, r.offset) for r in self.rungs):
            return None
        days: dict[tuple[bool, str], list[dt.date]] = {}
        day, end = start, self.horizon()
        while day <= end:
            for enforceable in (True, False):
                for rung in self._reached(day, enforceable):
                    days.setdefault((enforceable, rung.id), []).append(day)
            day += one
        ranges = []
        for (enforceable, rung_id), found in days.items():
            first, last = found[0], found[-1]
            if (last - first).days + 1 != len(found):
                return None
            ranges.append((enforceable, rung_id, None if first == start else first - one, last))
        return ranges

    def _reached_for_due(self, due: dt.date, enforceable: bool) -> tuple[Rung, ...]:
        """The rungs that may fire today for entries due on ``due``."""
        rungs = self.rungs if enforceable else [r for r in self.rungs if r.kind in UNENFORCED_KINDS]
        reached = [r for r in rungs if self.today >= self.calendar.shift(due, r.offset)]
        return tuple(r for r in reached if r.kind != "remind" or r is reached[-1])

    def _days_for(self, due: dt.date, remind: bool) -> int:
        return self.calendar.between(self.today, due) if remind else self.calendar.between(due, self.today)

    def _reached_days_for(self, due: dt.date, enforceable: bool) -> tuple[tuple[Rung, int], ...]:
        """The rungs that may fire today for entries due on ``due``, each with the working
        days its notice cites: worked out once per distinct due date, not per entry."""
        return tuple((rung, self._days(due, rung.kind == "remind")) for rung in self._reached(due, enforceable))

    def firings(self, candidates: Iterable[Candidate],
                fired: Mapping[int, Mapping[str, FiredRung]]) -> list[Firing]:
        out: list[Firing] = []
        reached_days = self._reached_days
        for c in candidates:
            reached = reached_days(c.due, c.enforceable)
            done = fired.get(c.entry_id)
            if not done:  # nothing recorded (every entry on a catch-up day): all reached rungs fire
                out.extend(Firing(c, rung, days) for rung, days in reached)
                continue
            # Escalated already (e.g. a run back-dated before a later one): no more reminders.
            escalated = any(r.kind != "remind" for r in done.values())
            for rung, days in reached:
                if rung.id in done or (escalated and rung.kind == "remind"):
                    continue
                earlier = () if rung.kind == "remind" else earlier_rungs(done, self.today, rung.kind)
                out.append(Firing(c, rung, days, earlier))
        return out


def _emails(contacts: Iterable[object]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for contact in contacts:
        seen.setdefault(contact.email, None)  # type: ignore[attr-defined]
    return tuple(seen)


@dataclass
class _Draft:
    kind: str
    to: tuple[str, ...]
    recipient_name: str
    unit_id: str | None
    cc: dict[str, None]
    # By entry: an entry appears once, at its highest rung today.  Firings, not items: only
    # the winner of each entry becomes a NoticeItem (123,000 firings on a catch-up day).
    items: dict[int, Firing]


def _told(drafts: Iterable[_Draft], today: dt.date) -> dict[int, tuple[str, list[str]]]:
    """id(firing) → (message key, recipients) for every firing that won a place in a message.

    An escalation remembers the message that told the unit itself, when there is one, and
    every address told: each message's own items and those a list of units only counts.
    Known once the firings are routed, before any notice is built (see :meth:`Router.route`).
    """
    told: dict[int, tuple[str, list[str]]] = {}
    for draft in sorted(drafts, key=lambda d: d.kind != "unit-notice"):
        winners = draft.items.values()
        key, to = message_key(draft.kind, draft.to[0], today, {f.rung.id for f in winners}), draft.to
        for firing in winners:
            found = told.get(id(firing))
            if found is None:
                told[id(firing)] = (key, list(to))
            else:
                found[1].extend(to)
    return told


class Router:
    """Turns firings into one Notice per recipient (unit, coordinator, leadership)."""

    def __init__(self, plan: Plan, today: dt.date, calendar: WorkCalendar | None = None) -> None:
        self.plan = plan
        self.today = today
        self.calendar = calendar or WorkCalendar(plan.calendar)
        self.reply_by = self.calendar.shift(today, plan.escalation.response_days)
        self.sheets: list[SupervisionSheet] = []
        self.info = PlanInfo.from_plan(plan)
        self.milestones = {m.id: m for m in plan.milestones()}
        self.sequence = unit_sequence(plan)
        self.undeliverable: set[str] = set()
        # id(firing) → its NoticeItem, for the firings that won a place in the messages of the
        # last build() (its firings must outlive the use of this).
        self.item_of: dict[int, NoticeItem] = {}
        # id(firing) → (the key of the message that told its unit, else the first that told
        # anyone; every address told), for the firings last routed that won a place.
        self.told: dict[int, tuple[str, list[str]]] = {}
        self._drafts: list[_Draft] = []
        self.rank = {rung.id: i for i, rung in enumerate(plan.escalation.rungs)}
        self._unit_emails = {u.id: _emails(u.contacts) for u in plan.units.values()}
        self._leads: dict[int | None, tuple[str, ...]] = {}
        self._units: dict[str, tuple[str, tuple[str, ...], str, str | None]] = {}
        self._unit_facts: dict[str, tuple[str, bool]] = {}
        self._abouts: dict[tuple[str, int | None, bool, bool],
                           tuple[str | None, tuple[str, ...], bool, bool, str | None]] = {}
        # Asked once per firing and audience (hundreds of thousands on a catch-up day): built once.
        coordinator = plan.coordinator
        self._coordinator = ("coordinator-list", _emails(coordinator.contacts), coordinator.name, None)
        self._leadership = ("interview-proposal", _emails(plan.meta.leadership), "局领导", None)

    def _lead_emails(self, candidate: Candidate) -> tuple[str, ...]:
        task = candidate.task_number
        if task not in self._leads:
            leads = self.plan.leads_of(task) if task in self.plan.tasks else (self.plan.meta.coordinator,)
            self._leads[task] = tuple(dict.fromkeys(e for unit in leads for e in self._unit_emails[unit]))
        return self._leads[task]

    def _audience(self, who: str, candidate: Candidate) -> tuple[str, tuple[str, ...], str, str | None]:
        """(notice kind, addresses, recipient name, unit id) for one audience of an entry."""
        if who == "unit":
            found = self._units.get(candidate.unit_id)
            if found is None:  # asked once per firing: built once per unit
                unit = self.plan.units.get(candidate.unit_id)
                name = unit.name if unit else candidate.unit_id
                found = self._units[candidate.unit_id] = (
                    "unit-notice", self._unit_emails.get(candidate.unit_id, ()), name, candidate.unit_id)
            return found
        if who == "lead":
            return "unit-notice", self._lead_emails(candidate), "牵头单位", None
        if who == "coordinator":
            return self._coordinator
        return self._leadership

    def _unit(self, unit_id: str) -> tuple[str, bool]:
        """(name, whether the unit sends stamped PDFs): what a unit adds to its items."""
        found = self._unit_facts.get(unit_id)
        if found is None:
            unit = self.plan.units.get(unit_id)
            # A unit not in the plan is asked for the milestone's formats as they are.
            found = self._unit_facts[unit_id] = (unit.name, unit.reports_publicly) if unit else (unit_id, True)
        return found

    def _about(self, c: Candidate, publicly: bool) -> tuple[str | None, tuple[str, ...], bool, bool, str | None]:
        """(task title, formats, stats table, assumed, note) of an item: the same for every
        entry of one milestone whose units send the same formats (``Plan.formats_for`` asks
        only whether the unit reports publicly), so worked out once per milestone, not once
        per entry (an entry is one milestone of one unit)."""
        key = (c.milestone_id, c.task_number, c.assumed, publicly)
        found = self._abouts.get(key)
        if found is None:
            milestone = self.milestones.get(c.milestone_id)
            task = self.plan.tasks.get(c.task_number) if c.task_number is not None else None
            found = self._abouts[key] = (
                task.title if task else None, self._formats(milestone, c.unit_id),
                milestone.stats_table if milestone else False,
                c.assumed or bool(milestone and not milestone.enforceable),
                milestone.note if milestone else None)
        return found

    def _item(self, firing: Firing) -> NoticeItem:
        c = firing.candidate
        unit_name, publicly = self._unit(c.unit_id)
        task_title, formats, stats_table, assumed, note = self._about(c, publicly)
        rung = firing.rung
        return new_item(c.entry_id, c.unit_id, unit_name, c.milestone_id, c.title, c.task_number, task_title,
                        c.due, rung.id, rung.kind, firing.days, formats, stats_table, assumed, note, firing.earlier)

    def _formats(self, milestone: object, unit_id: str) -> tuple[str, ...]:
        if milestone is None:
            return ()
        if unit_id in self.plan.units:
            return self.plan.formats_for(milestone, unit_id)  # type: ignore[arg-type]
        return milestone.formats  # type: ignore[attr-defined]

    def _route(self, rung: Rung, candidate: Candidate,
               drafts: dict[tuple[str, str], _Draft]) -> tuple[dict[int, Firing], ...]:
        """The drafts a firing of ``rung`` for ``candidate`` goes into (their items by entry).

        The same for every entry of one unit (and task, when a lead is told) at one rung, so
        :meth:`notices` asks once per such group, not once per firing (123,000 on a catch-up
        day).  A draft's cc addresses are added here, at the first firing that brings them:
        later firings of the group would add the same addresses again, which changes nothing.
        """
        cc = [address for cc_who in rung.cc for address in self._audience(cc_who, candidate)[1]]
        targets = []
        for who in rung.to:
            kind, to, name, unit_id = self._audience(who, candidate)
            if not to:
                self.undeliverable.add(name)
                continue
            # One message per recipient: unit notices per unit, the others per address.
            group = unit_id or to[0]
            draft = drafts.get((kind, group))
            if draft is None:
                draft = drafts[kind, group] = _Draft(kind, to, name, unit_id, {}, {})
            for address in cc:
                draft.cc.setdefault(address, None)
            targets.append(draft.items)
        return tuple(targets)

    def notices(self, firings: Iterable[Firing]) -> list[Notice]:
        """One notice per recipient for these firings (:meth:`route`, then :meth:`build`)."""
        self.route(firings)
        return self.build()

    def route(self, firings: Iterable[Firing]) -> None:
        """Put each firing in the messages it goes in, at its entry's highest rung in each.

        Afterwards ``told`` says which message each firing's escalation row names and whom it
        told, before :meth:`build` makes a single notice: the sweep writes the rows then, and
        on PostgreSQL the server inserts them while the notices are built.
        """
        drafts: dict[tuple[str, str], _Draft] = {}
        rank = self.rank
        # Which audiences a rung reaches depends on the entry's unit and, for a lead, its task.
        by_task = {rung.id: "lead" in (*rung.to, *rung.cc) for rung in self.plan.escalation.rungs}
        routes: dict[tuple[str, str, int | None], tuple[dict[int, Firing], ...]] = {}
        for firing in firings:
            rung = firing.rung
            candidate = firing.candidate
            key = (rung.id, candidate.unit_id, candidate.task_number if by_task.get(rung.id, True) else None)
            targets = routes.get(key)
            if targets is None:
                targets = routes[key] = self._route(rung, candidate, drafts)
            entry_id = candidate.entry_id
            for winners in targets:
                earlier = winners.get(entry_id)
                if earlier is None or rank[rung.id] > rank[earlier.rung.id]:
                    winners[entry_id] = firing
        # In the order the notices come out: by kind, unit, addresses.
        self._drafts = sorted(drafts.values(), key=lambda d: (d.kind, d.unit_id or "", d.to))
        self.told = _told(self._drafts, self.today)

    def build(self) -> list[Notice]:
        """The notices of the firings last routed, in :meth:`route`'s order of messages."""
        # One NoticeItem per winning firing, shared by every draft it won in (items are frozen).
        # A fresh map per call: an id from an earlier call's firings may belong to another now.
        made = self.item_of = {}
        notices: list[Notice] = []
        for draft in self._drafts:
            cc = tuple(a for a in draft.cc if a not in draft.to)
            picked = []
            for firing in draft.items.values():
                item = made.get(id(firing))
                if item is None:
                    item = made[id(firing)] = self._item(firing)
                picked.append(item)
            counted: ListTally | None = None
            if draft.kind in UNIT_LISTS:  # names a few items per unit, counts them all
                counted, named = tally(picked)
            else:
                named = tuple(sorted(picked, key=lambda i: (KIND_ORDER[i.rung_kind], i.unit_id, i.due,
                                                            i.milestone_id)))
            sheet = None
            supervised = [i for i in named if i.rung_kind == "supervise"]
            if draft.kind == "unit-notice" and draft.unit_id and supervised:
                sheet = build_sheet(self.plan, self.calendar, unit_id=draft.unit_id, items=supervised,
                                    today=self.today, milestones=self.milestones, sequence=self.sequence)
                self.sheets.append(sheet)
            notice = Notice(kind=draft.kind, run_date=self.today, to=draft.to, cc=cc,
                            recipient_name=draft.recipient_name, unit_id=draft.unit_id, items=named,
                            plan=self.info, reply_by=self.reply_by, sheet=sheet, tally=counted)
            notices.append(notice)
        return notices
