"""What one message says, before it is rendered: a :class:`Notice` for one recipient.

The ladder's rules build Notices (one per recipient per run, all that recipient's items in
it); rendering and the outbox only read them.  The outbox stores a sweep notice as the JSON
of :func:`notice_to_json` and renders it when the message is sent or shown
(``notifications.compose.materialise``), so the sweep itself never renders a template.
``Notice.key`` is the outbox's idempotency key: the same recipient, run date and rung set
always give the same key, so a second run on the same day queues nothing new.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson

from plan.supervision import EarlierRung, SheetItem, SupervisionSheet

KINDS = ("unit-notice", "coordinator-list", "interview-proposal", "receipt")
RUNG_KINDS = ("remind", "chase", "supervise", "interview")


@dataclass(frozen=True)
class NoticeItem:
    """One ledger entry on a notice, at the rung it reached today."""

    entry_id: int
    unit_id: str
    unit_name: str
    milestone_id: str
    title: str  # milestone title
    task_number: int | None
    task_title: str | None
    due: dt.date
    rung_id: str  # e.g. remind-5, overdue, supervise, interview
    rung_kind: str  # remind | chase | supervise | interview
    days: int  # remind: working days left until due; others: working days overdue
    formats: tuple[str, ...]  # e.g. ("word", "pdf-stamped")
    stats_table: bool  # the case statistics table (行政保护案件统计表) goes with it
    # The date is a coordinators' inference (source: assumed): shown as 推定，待确认.
    assumed: bool = False
    note: str | None = None  # the plan's note on the date, when it has one
    # Rungs recorded as sent for this entry on an earlier run date (see models.sweep.fired_rungs):
    # the only history a notice may cite ("已于7月8日催办").
    earlier: tuple[EarlierRung, ...] = ()

    def earlier_kinds(self) -> set[str]:
        return {rung.kind for rung in self.earlier}

    def __post_init__(self) -> None:
        if self.rung_kind not in RUNG_KINDS:
            raise ValueError(f"unknown rung kind {self.rung_kind!r}")


_new = object.__new__


def new_item(entry_id: int, unit_id: str, unit_name: str, milestone_id: str, title: str, task_number: int | None,
             task_title: str | None, due: dt.date, rung_id: str, rung_kind: str, days: int,
             formats: tuple[str, ...], stats_table: bool, assumed: bool, note: str | None,
             earlier: tuple[EarlierRung, ...]) -> NoticeItem:
    """A :class:`NoticeItem` equal to ``NoticeItem(...)`` with these fields, made faster.

    A sweep makes one per winning firing (84,000 on a national catch-up day); the frozen
    dataclass's ``__init__`` sets each of its 16 fields through ``object.__setattr__``,
    which was a third of the time of making the items.  Here the values go straight into the
    instance's ``__dict__``.  ``rung_kind`` is still checked (the ``__post_init__`` rule).
    """
    if rung_kind not in RUNG_KINDS:
        raise ValueError(f"unknown rung kind {rung_kind!r}")
    item = _new(NoticeItem)
    # Key by key into the instance's own dict, in field order: it stays a key-sharing dict
    # (a new dict literal per item took 528 bytes an item instead of 288).
    fields = item.__dict__
    fields["entry_id"], fields["unit_id"], fields["unit_name"] = entry_id, unit_id, unit_name
    fields["milestone_id"], fields["title"], fields["task_number"] = milestone_id, title, task_number
    fields["task_title"], fields["due"], fields["rung_id"], fields["rung_kind"] = task_title, due, rung_id, rung_kind
    fields["days"], fields["formats"], fields["stats_table"] = days, formats, stats_table
    fields["assumed"], fields["note"], fields["earlier"] = assumed, note, earlier
    return item


@dataclass(frozen=True)
class ReceiptFile:
    name: str
    sha256: str  # full; the 回执 shows the first 12 characters
    via: str  # 联系邮箱 | 收件文件夹


@dataclass(frozen=True)
class ReceiptItem:
    """One obligation a 回执 acknowledges: what was recorded and what it still lacks."""

    milestone_id: str | None  # None: a statistics table or ledger workbook
    title: str  # 2024年上半年工作总结 / 行政保护案件统计表 …
    files: tuple[ReceiptFile, ...]
    missing: tuple[str, ...] | None  # None: not known on this run (checked by the coordinator)


@dataclass(frozen=True)
class PlanInfo:
    """The plan facts every message cites: title, 文号, where to send, whom to call."""

    title: str
    doc_number: str
    issuer: str
    mailbox: str
    coordinator_name: str  # 知识产权保护处
    contacts: tuple[tuple[str, str], ...]  # (name, phone)

    @classmethod
    def from_plan(cls, plan: Any) -> PlanInfo:
        meta = plan.meta
        return cls(
            title=meta.title,
            doc_number=meta.doc_number,
            issuer=meta.issuer,
            mailbox=meta.mailbox,
            coordinator_name=plan.coordinator.name,
            contacts=tuple((c.name, c.phone or "") for c in meta.contacts),
        )


@dataclass(frozen=True)
class UnmatchedFile:
    """A file intake could not place, for the coordinator's 未能自动登记的来件 section."""

    path: str  # relative to the inbox: unmatched/…
    reason: str  # Chinese, first line of the reason
    command: str  # the one command that records it


@dataclass(frozen=True)
class UndeliveredMail:
    """A message or recipient the mail server refused for good, for the coordinator's next email."""

    recipient: str  # the unit's name, or the message's key when it has no unit
    address: str | None  # the refused address; None when the whole message failed
    reason: str  # the server's reply or duban's refusal, as recorded
    command: str  # what resends it once the cause is fixed


@dataclass(frozen=True)
class UnitTally:
    """One unit on a coordinator's list or a 约谈建议, counted over all its items that day."""

    unit_id: str
    unit_name: str
    count: int  # all its items on the list; the message names the first few


@dataclass(frozen=True)
class ListTally:
    """What a list of units says of all its items, when it names only some (plan.unit_list)."""

    units: tuple[UnitTally, ...]  # in the list's order (plan.unit_list.tally decides it)
    item_count: int
    min_days: int
    all_escalated: bool  # every item was chased and supervised on an earlier run date
    rung_ids: tuple[str, ...]  # of all its items, sorted: the message's key names them


def message_key(kind: str, first_address: str, run_date: dt.date, rung_ids: Iterable[str]) -> str:
    """The outbox key of a sweep's message: its kind, first recipient, run date and rungs."""
    return f"{kind}|{first_address}|{run_date.isoformat()}|{'+'.join(sorted(set(rung_ids)))}"


@dataclass(frozen=True)
class Notice:
    """One message to one recipient for one run date."""

    kind: str  # unit-notice | coordinator-list | interview-proposal | receipt
    run_date: dt.date
    to: tuple[str, ...]  # addresses, non-empty
    cc: tuple[str, ...]
    recipient_name: str  # 浦东新区知识产权局 / 知识产权保护处 / 局领导
    unit_id: str | None  # for unit-notice
    items: tuple[NoticeItem, ...]  # non-empty, except on a receipt or a list of unmatched files
    plan: PlanInfo
    reply_by: dt.date | None = None  # 请于…前报送: the run date plus escalation.response_days
    sheet: SupervisionSheet | None = None  # the 督办单 stated by a unit notice at the supervise rung
    sheet_attached: bool = False  # the printable 督办单 (.docx) travels with the message
    receipts: tuple[ReceiptItem, ...] = ()  # a receipt's content (kind "receipt" only)
    unmatched: tuple[UnmatchedFile, ...] = ()  # coordinator-list only: files intake could not place
    undelivered: tuple[UndeliveredMail, ...] = ()  # coordinator-list only: mail that did not arrive
    # A list of units (coordinator-list, interview-proposal) made by a sweep: ``items`` holds
    # only the items it names, this counts them all.  None: ``items`` holds every item.
    tally: ListTally | None = None

    def __post_init__(self) -> None:
        # An empty email or one with nobody to read it is a bug upstream, never sent.
        if self.kind not in KINDS:
            raise ValueError(f"unknown notice kind {self.kind!r}")
        if not self.to:
            raise ValueError("a notice needs at least one recipient")
        if self.kind == "receipt":
            if not self.receipts or self.unit_id is None:
                raise ValueError("a receipt needs a unit and at least one recorded item")
        elif not self.items and not self.unmatched and not self.undelivered:
            raise ValueError("a notice needs at least one item")

    @cached_property  # asked by the sweep and by the outbox row: the rung set is worked out once
    def key(self) -> str:
        if self.kind == "receipt":  # one 回执 per unit per run date, whatever it lists
            return f"receipt|{self.unit_id}|{self.run_date.isoformat()}"
        rung_ids = self.tally.rung_ids if self.tally is not None else {i.rung_id for i in self.items}
        return message_key(self.kind, self.to[0], self.run_date, rung_ids)

    @property
    def item_count(self) -> int:
        """All the message's items, named or only counted."""
        return self.tally.item_count if self.tally is not None else len(self.items)


# -- the stored form -------------------------------------------------------------------------
# Version of the JSON layout below (not of the templates: see notifications.render).
# 2 added "tally" (a list of units that names only some of its items); 1 is still read.
NOTICE_FORMAT = 2
READABLE_FORMATS = (1, 2)
_ITEM_FIELDS = ("entry_id", "unit_id", "milestone_id", "milestone", "due", "rung_id", "rung_kind", "days",
                "formats", "assumed", "earlier")


def notice_to_json(notice: Notice) -> str:
    """The notice as compact JSON, everything its templates read and nothing else.

    A coordinator's list on a catch-up day carries tens of thousands of items, so each item
    is a short array (fields in ``_ITEM_FIELDS`` order) and what items share is stored once:
    the units' names, the milestones' titles, tasks and notes, the distinct format lists
    (``milestone`` and ``formats`` are indexes into those lists).
    """
    units: dict[str, str] = {}
    milestones: dict[tuple[Any, ...], int] = {}  # what an item says of its milestone, numbered
    formats: dict[tuple[str, ...], int] = {}
    dates: dict[dt.date, str] = {}  # a few distinct dates for 100,000 items: format each once

    def day(value: dt.date) -> str:
        text = dates.get(value)
        if text is None:
            text = dates[value] = value.isoformat()
        return text

    items = []
    for i in notice.items:
        units.setdefault(i.unit_id, i.unit_name)
        about = (i.title, i.task_number, i.task_title, i.stats_table, i.note)
        milestone = milestones.get(about)
        if milestone is None:
            milestone = milestones[about] = len(milestones)
        index = formats.get(i.formats)
        if index is None:
            index = formats[i.formats] = len(formats)
        earlier = [[r.kind, day(r.sent_on)] for r in i.earlier] if i.earlier else ()
        items.append((i.entry_id, i.unit_id, i.milestone_id, milestone, day(i.due), i.rung_id, i.rung_kind,
                      i.days, index, 1 if i.assumed else 0, earlier))
    tally = _tally_json(notice.tally, units) if notice.tally is not None else None
    data = {
        "format": NOTICE_FORMAT, "kind": notice.kind, "run_date": notice.run_date.isoformat(),
        "to": list(notice.to), "cc": list(notice.cc), "recipient_name": notice.recipient_name,
        "unit_id": notice.unit_id, "plan": _plan_json(notice.plan),
        "reply_by": notice.reply_by.isoformat() if notice.reply_by else None,
        "sheet": _sheet_json(notice.sheet) if notice.sheet else None,
        "sheet_attached": notice.sheet_attached,
        "units": units, "milestones": [list(m) for m in milestones], "formats": [list(f) for f in formats],
        "items": items,
        "receipts": [[r.milestone_id, r.title, [[f.name, f.sha256, f.via] for f in r.files],
                      list(r.missing) if r.missing is not None else None] for r in notice.receipts],
        "unmatched": [[u.path, u.reason, u.command] for u in notice.unmatched],
        "undelivered": [[u.recipient, u.address, u.reason, u.command] for u in notice.undelivered],
    }
    if tally is not None:  # a list of units (absent on the 1,000 unit notices of a day)
        data["tally"] = tally
    return dumps(data)


def dumps(data: Any) -> str:
    """Compact JSON, non-ASCII as is: ``json.dumps(data, ensure_ascii=False,
    separators=(",", ":"))`` byte for byte, written by orjson (a quarter of the time on the
    10 MB of notices of a national catch-up day).  A value orjson refuses and the standard
    library takes (an integer beyond 64 bits) is written by the standard library."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def notice_from_json(text: str) -> Notice:
    """The :class:`Notice` that :func:`notice_to_json` stored, equal to the original."""
    data = json.loads(text)
    if data.get("format") not in READABLE_FORMATS:
        raise ValueError(f"unknown stored notice format {data.get('format')!r}")
    dates: dict[str, dt.date] = {}

    def day(value: str) -> dt.date:
        found = dates.get(value)
        if found is None:
            found = dates[value] = dt.date.fromisoformat(value)
        return found

    units, milestones = data["units"], data["milestones"]
    formats = [tuple(f) for f in data["formats"]]
    items = []
    for (entry_id, unit_id, milestone_id, milestone, due, rung_id, rung_kind, days, index, assumed,
         earlier) in data["items"]:
        title, task_number, task_title, stats_table, note = milestones[milestone]
        items.append(NoticeItem(
            entry_id=entry_id, unit_id=unit_id, unit_name=units[unit_id], milestone_id=milestone_id,
            title=title, task_number=task_number, task_title=task_title, due=day(due), rung_id=rung_id,
            rung_kind=rung_kind, days=days, formats=formats[index], stats_table=stats_table,
            assumed=bool(assumed), note=note,
            earlier=tuple(EarlierRung(kind, day(on)) for kind, on in earlier)))
    return Notice(
        kind=data["kind"], run_date=day(data["run_date"]), to=tuple(data["to"]), cc=tuple(data["cc"]),
        recipient_name=data["recipient_name"], unit_id=data["unit_id"], items=tuple(items),
        plan=_plan_from_json(data["plan"]),
        reply_by=day(data["reply_by"]) if data["reply_by"] else None,
        sheet=_sheet_from_json(data["sheet"], day) if data["sheet"] else None,
        sheet_attached=data["sheet_attached"],
        receipts=tuple(ReceiptItem(mid, title, tuple(ReceiptFile(*f) for f in files),
                                   tuple(missing) if missing is not None else None)
                       for mid, title, files, missing in data["receipts"]),
        unmatched=tuple(UnmatchedFile(*u) for u in data["unmatched"]),
        undelivered=tuple(UndeliveredMail(*u) for u in data["undelivered"]),
        tally=_tally_from_json(data["tally"], units) if data.get("tally") else None,
    )


def _tally_json(tally: ListTally, names: dict[str, str]) -> dict[str, Any]:
    # Every unit on a list has an item named on it, so its name is in the notice's units.
    for unit in tally.units:
        names.setdefault(unit.unit_id, unit.unit_name)
    return {"units": [[u.unit_id, u.count] for u in tally.units],
            "item_count": tally.item_count, "min_days": tally.min_days,
            "all_escalated": tally.all_escalated, "rung_ids": list(tally.rung_ids)}


def _tally_from_json(data: dict[str, Any], names: dict[str, str]) -> ListTally:
    return ListTally(units=tuple(UnitTally(unit_id, names[unit_id], count) for unit_id, count in data["units"]),
                     item_count=data["item_count"], min_days=data["min_days"],
                     all_escalated=data["all_escalated"], rung_ids=tuple(data["rung_ids"]))


def _plan_json(info: PlanInfo) -> dict[str, Any]:
    return {"title": info.title, "doc_number": info.doc_number, "issuer": info.issuer,
            "mailbox": info.mailbox, "coordinator_name": info.coordinator_name,
            "contacts": [list(c) for c in info.contacts]}


def _plan_from_json(data: dict[str, Any]) -> PlanInfo:
    return PlanInfo(**{**data, "contacts": tuple((name, phone) for name, phone in data["contacts"])})


def _sheet_json(sheet: SupervisionSheet) -> dict[str, Any]:
    return {
        "number": sheet.number, "unit_id": sheet.unit_id, "unit_name": sheet.unit_name,
        "items": [[i.milestone_id, i.title, i.due.isoformat(), i.working_days_overdue, list(i.formats),
                   i.stats_table, [[r.kind, r.sent_on.isoformat()] for r in i.earlier]] for i in sheet.items],
        "issued_on": sheet.issued_on.isoformat(), "deadline": sheet.deadline.isoformat(),
        "feedback": sheet.feedback, "issuer": sheet.issuer, "doc_number": sheet.doc_number,
        "mailbox": sheet.mailbox, "contacts": [list(c) for c in sheet.contacts],
    }


def _sheet_from_json(data: dict[str, Any], day: Any) -> SupervisionSheet:
    items = tuple(SheetItem(milestone_id=mid, title=title, due=day(due), working_days_overdue=overdue,
                            formats=tuple(formats), stats_table=stats,
                            earlier=tuple(EarlierRung(kind, day(on)) for kind, on in earlier))
                  for mid, title, due, overdue, formats, stats, earlier in data["items"])
    return SupervisionSheet(
        number=data["number"], unit_id=data["unit_id"], unit_name=data["unit_name"], items=items,
        issued_on=day(data["issued_on"]), deadline=day(data["deadline"]), feedback=data["feedback"],
        issuer=data["issuer"], doc_number=data["doc_number"], mailbox=data["mailbox"],
        contacts=tuple((name, phone) for name, phone in data["contacts"]))
