"""What one message says, before it is rendered: a :class:`Notice` for one recipient.

The sweep builds Notices (one per recipient per run, all that recipient's items in it);
rendering and the outbox only read them.  ``Notice.key`` is the outbox's idempotency key:
the same recipient, run date and rung set always give the same key, so a second run on
the same day queues nothing new.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from plan.supervision import EarlierRung, SupervisionSheet

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

    @property
    def key(self) -> str:
        if self.kind == "receipt":  # one 回执 per unit per run date, whatever it lists
            return f"receipt|{self.unit_id}|{self.run_date.isoformat()}"
        rungs = "+".join(sorted({i.rung_id for i in self.items}))
        return f"{self.kind}|{self.to[0]}|{self.run_date.isoformat()}|{rungs}"
