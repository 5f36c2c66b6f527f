"""The supervision cycle's steps as plain functions: sync → inbox → sweep → deliver.

``run_cycle`` runs them in-process without Prefect (replays, benchmarks, tests);
:mod:`flows.cycle` wraps the same steps as coarse Prefect tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.db import get_engine, session_scope, var_dir
from models.locks import take_lock
from models.sweep import supervision_list
from models.sync import SyncDiff, sync_ledger
from plan import load_plan
from plan.ladder import rung_labels
from plan.model import Plan
from plan.supervision import SupervisionSheet
from plan.workdays import WorkCalendar


def sync_step(plan: Plan, *, actor: str) -> dict[str, Any]:
    """Apply the plan to the ledger; concurrent syncs queue up behind the lock."""
    with session_scope() as session:
        take_lock(session, "sync")
        diff = sync_ledger(session, plan, actor=actor)
    return diff_json(diff)


def diff_json(diff: SyncDiff) -> dict[str, Any]:
    return {"added": diff.added, "changed": diff.changed, "archived": diff.archived,
            "restored": diff.restored}


def mail_step(plan: Plan, *, today: dt.date, actor: str) -> dict[str, Any] | None:
    """Read the contact mailbox when ``DUBAN_IMAP_HOST`` is set (None otherwise).

    A mailbox that cannot be read must not stop the cycle: units are still chased.  The
    failure comes back as ``{"error": …, "hint": …}`` for ``duban run`` to print.
    """
    from notifications.imap_settings import configured

    if not configured():
        return None
    from flows.mail_fetch import fetch_mail
    from plan.errors import DubanError

    try:
        return fetch_mail(plan=plan, today=today, actor=actor).as_json()
    except DubanError as exc:
        return {"error": exc.message, "hint": exc.hint or ""}
    except OSError as exc:
        return {"error": f"读取联系邮箱失败：{type(exc).__name__}: {exc}", "hint": "检查网络和 DUBAN_IMAP_* 设置"}


def intake_step(plan: Plan, *, today: dt.date, inbox: str | None, actor: str) -> dict[str, Any] | None:
    """Pick up what units dropped in the inbox, so a unit that sent its summary is not chased;
    then queue one 回执 per unit for what the inbox and today's mail recorded."""
    from flows.receipts import inbox_acknowledgements, mail_acknowledgements, queue_receipts

    inbox_dir = Path(inbox) if inbox else var_dir() / "inbox"
    result: dict[str, Any] | None = None
    acks, senders = mail_acknowledgements(today=today)
    if inbox_dir.is_dir() and any(inbox_dir.iterdir()):
        from flows.inbox import process_inbox

        report = process_inbox(plan=plan, inbox_dir=inbox_dir, today=today, actor=actor)
        result = report.as_json() if hasattr(report, "as_json") else dict(vars(report))
        acks += inbox_acknowledgements(report, inbox_dir=inbox_dir)
    if acks:
        receipts = queue_receipts(plan, today=today, acks=acks, senders=senders)
        result = {**(result or {}), "receipts": receipts}
    return result


def sheet_writer(folder: Path) -> Callable[[SupervisionSheet], Path]:
    """The sweep's 督办单 writer: one .docx per supervised unit into ``folder``."""
    from notifications.supervision_docx import write_supervision_sheet
    from plan.supervision import sheet_file_name

    def write_sheet(sheet: SupervisionSheet) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return write_supervision_sheet(sheet, folder / sheet_file_name(sheet))

    return write_sheet


def sweep_step(plan: Plan, *, today: dt.date, inbox: str | None = None) -> dict[str, Any]:
    from flows.inbox_waiting import pending_unmatched
    from flows.sweep import run_sweep
    from models import outbox
    from plan.unmatched import UNDELIVERED_DAYS, undelivered_mail

    unmatched = pending_unmatched(Path(inbox) if inbox else var_dir() / "inbox")
    # Kept under reports/ for the coordinator to print; the outbox freezes its own copy.
    write_sheet = sheet_writer(var_dir() / "reports" / today.isoformat() / "supervision")

    with session_scope() as session:
        refused = outbox.undelivered(session, since=today - dt.timedelta(days=UNDELIVERED_DAYS))
        undelivered = undelivered_mail(refused, unit_names={u.id: u.name for u in plan.units.values()})
        result = run_sweep(session, plan=plan, today=today, unmatched=unmatched, undelivered=undelivered,
                           sheet_writer=write_sheet)
        supervised = supervision_list(session, today=today, kinds=("supervise",))
    units = sorted({s.unit_id for s in supervised if s.unit_id in plan.units},
                   key=list(plan.units).index)
    by_rung = {rung.id: 0 for rung in plan.escalation.rungs}
    for firing in result.fired:
        by_rung[firing.rung.id] += 1
    return {
        "working_day": result.working_day,
        "entries_checked": result.entries_checked,
        "escalations": by_rung,
        "rung_kinds": {rung.id: rung.kind for rung in plan.escalation.rungs},
        "rung_labels": rung_labels(plan.escalation.rungs),
        "messages_queued": len(result.queued),
        "queued_keys": result.queued,
        "supervision_units": [{"unit": u, "name": plan.units[u].name} for u in units],
        "undeliverable": result.undeliverable,
        "unmatched": [{"path": u.path, "reason": u.reason, "command": u.command} for u in unmatched],
    }


def deliver_step(plan: Plan, *, today: dt.date) -> dict[str, Any]:
    if not WorkCalendar(plan.calendar).sends_on(today):
        return {"skipped": "non-working day", "sent": 0, "failed": 0, "retrying": 0}
    from notifications.delivery import deliver_pending
    from notifications.transport import transport_from_env

    report = deliver_pending(engine_or_session_factory=get_engine(), transport=transport_from_env(),
                             now=dt.datetime.now(dt.UTC))
    return report.as_json()


def run_cycle(*, plan_path: str | Path = "plan.yaml", today: dt.date, inbox: str | None = None,
              actor: str = "duban run", plan: Plan | None = None) -> dict[str, Any]:
    """The whole cycle in-process, without Prefect."""
    plan = plan or load_plan(plan_path)
    return {
        "today": today.isoformat(),
        # Sync first so the inbox can match files against an up-to-date ledger.
        "sync": sync_step(plan, actor=actor),
        "mail": mail_step(plan, today=today, actor=actor),
        "intake": intake_step(plan, today=today, inbox=inbox, actor=actor),
        "sweep": sweep_step(plan, today=today, inbox=inbox),
        "deliver": deliver_step(plan, today=today),
    }
