"""回执: one acknowledgement per unit per run for what was recorded from it.

Built from the inbox's items (files units dropped in the inbox or emailed to the contact
mailbox) and queued in the outbox like every other notice.  The outbox key is
``receipt|<unit>|<run date>``, so a second run on the same day queues no second 回执.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models import mail
from models.db import session_scope
from models.files import sha256_of
from models.outbox import queue
from notifications.compose import default_sender, outbox_row
from notifications.render import render_notice
from plan.model import Plan
from plan.notice import Notice, PlanInfo, ReceiptFile, ReceiptItem

RECORDED = ("submission", "stats", "ledger")
VIA_MAIL, VIA_INBOX = "联系邮箱", "收件文件夹"


@dataclass(frozen=True)
class Acknowledged:
    """One file recorded in this run, as the 回执 will name it."""

    unit_id: str
    milestone_id: str | None
    outcome: str  # submission | stats | ledger | duplicate
    name: str  # as the unit sent it
    sha256: str
    via: str
    missing: tuple[str, ...] | None  # None: identification did not say


def from_inbox_item(item: Any, *, name: str, via: str, sha256: str = "") -> Acknowledged | None:
    """An inbox item (``flows.inbox.InboxItem``) → what to acknowledge, or None."""
    if getattr(item, "unit", None) is None or item.outcome not in (*RECORDED, "duplicate"):
        return None
    missing = getattr(item, "missing", None)
    return Acknowledged(unit_id=item.unit, milestone_id=item.milestone, outcome=item.outcome, name=name,
                        sha256=getattr(item, "sha256", None) or sha256, via=via,
                        missing=tuple(missing) if missing is not None else None)


def inbox_acknowledgements(report: Any, *, inbox_dir: Path) -> list[Acknowledged]:
    """Files recorded from the inbox folder (duplicates are not acknowledged again)."""
    out: list[Acknowledged] = []
    for item in getattr(report, "items", []):
        if item.outcome not in RECORDED:
            continue
        done = inbox_dir / "processed" / item.path  # where process_inbox put it
        digest = sha256_of(done) if not getattr(item, "sha256", None) and done.is_file() else ""
        ack = from_inbox_item(item, name=Path(item.path).name, via=VIA_INBOX, sha256=digest)
        if ack is not None:
            out.append(ack)
    return out


def _title(plan: Plan, ack: Acknowledged) -> str:
    if ack.milestone_id is not None:
        titles = {m.id: m.title for m in plan.milestones()}
        return titles.get(ack.milestone_id, ack.milestone_id)
    return {"stats": "行政保护案件统计表", "ledger": "工作台账"}.get(ack.outcome, "报送材料")


def build_receipts(plan: Plan, *, today: dt.date, acks: list[Acknowledged],
                   senders: dict[str, list[str]] | None = None) -> tuple[list[Notice], list[str]]:
    """One 回执 per unit; returns (notices, names of units nobody could be told)."""
    info = PlanInfo.from_plan(plan)
    by_unit: dict[str, dict[tuple[str | None, str], list[Acknowledged]]] = {}
    for ack in acks:
        by_unit.setdefault(ack.unit_id, {}).setdefault((ack.milestone_id, _title(plan, ack)), []).append(ack)
    notices: list[Notice] = []
    unreachable: list[str] = []
    for unit_id, groups in by_unit.items():
        unit = plan.units.get(unit_id)
        if unit is None:
            continue
        contacts = [c.email for c in unit.contacts if c.role == "联系人"] or [c.email for c in unit.contacts]
        to = tuple(dict.fromkeys([*(senders or {}).get(unit_id, []), *contacts]))
        if not to:
            unreachable.append(unit.name)
            continue
        items = []
        for (milestone_id, title), group in groups.items():
            files = tuple(dict.fromkeys(ReceiptFile(a.name, a.sha256, a.via) for a in group))
            known = [a.missing for a in group if a.missing is not None]
            items.append(ReceiptItem(milestone_id, title, files, known[-1] if known else None))
        notices.append(Notice(kind="receipt", run_date=today, to=to, cc=(), recipient_name=unit.name,
                              unit_id=unit_id, items=(), plan=info, receipts=tuple(items)))
    return notices, unreachable


def queue_receipts(plan: Plan, *, today: dt.date, acks: list[Acknowledged],
                   senders: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Queue the 回执 of this run; a unit already sent one today gets no second one."""
    notices, unreachable = build_receipts(plan, today=today, acks=acks, senders=senders)
    if not notices:
        return {"queued": [], "unreachable": unreachable}
    sender = default_sender(plan.meta.mailbox, plan.meta.issuer)
    rows = [outbox_row(n, render_notice(n), sender=sender) for n in notices]
    with session_scope() as session:
        queued = queue(session, rows)
    return {"queued": queued, "unreachable": unreachable}


def mail_acknowledgements(*, today: dt.date) -> tuple[list[Acknowledged], dict[str, list[str]]]:
    """What today's mail recorded, from the database (so a crashed fetch is acknowledged too)."""
    acks: list[Acknowledged] = []
    senders: dict[str, list[str]] = {}
    with session_scope() as session:
        rows = mail.recorded_on(session, day=today)
    for row in rows:
        assert row.unit_id is not None
        senders.setdefault(row.unit_id, []).append(row.sender)
        for f in row.items:
            if f.get("outcome") in (*RECORDED, "duplicate") and f.get("unit"):
                missing = f.get("missing")
                acks.append(Acknowledged(unit_id=f["unit"], milestone_id=f.get("milestone"),
                                         outcome=f["outcome"], name=f["name"], sha256=f.get("sha256") or "",
                                         via=VIA_MAIL, missing=tuple(missing) if missing is not None else None))
    return acks, senders
