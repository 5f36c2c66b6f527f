"""The sweep as a run does it: fire the rungs (``models.sweep``), then queue one message
per recipient in the outbox, in the caller's transaction.

Messages are queued as their notices' items, not rendered: subject and bodies are made
when a message is sent or shown (``notifications.compose.materialise``).  This module is
where the ledger and the mail layer meet, so neither has to import the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlmodel import Session

from flows.gc_pause import gc_paused
from models.outbox import queue
from models.sweep import SweepResult, SweepWriter, fire_rungs
from notifications.attachments import freeze, plan_attachment
from notifications.compose import default_sender, outbox_row
from plan.model import Plan
from plan.notice import UndeliveredMail, UnmatchedFile
from plan.supervision import SupervisionSheet, sheet_file_name

__all__ = ["SweepResult", "run_sweep"]


def run_sweep(session: Session, *, plan: Plan, today: dt.date, sender: str | None = None,
              lock: bool = True, unmatched: Sequence[UnmatchedFile] = (),
              undelivered: Sequence[UndeliveredMail] = (),
              sheet_writer: Callable[[SupervisionSheet], Path] | None = None) -> SweepResult:
    """Fire due rungs and queue messages as of ``today``.  The caller commits (or, for a
    preview, rolls back).  See :func:`models.sweep.fire_rungs` for ``unmatched`` and
    ``undelivered``.

    With ``sheet_writer`` (a real run), each 督办 message carries its printable 督办单: the
    writer makes the .docx and the outbox freezes a copy, so a retry sends the same file.
    """
    writer = SweepWriter(session, fired_on=today)
    with gc_paused():  # the allocation-heavy part: firings, notices, their rows
        # The database inserts the basis rows while the firings are routed, and the escalation
        # rows while the notices and their outbox rows are built.
        try:
            result = fire_rungs(session, plan=plan, today=today, lock=lock, unmatched=unmatched,
                                undelivered=undelivered, attach_sheets=sheet_writer is not None,
                                writer=writer)
            if result.notices:
                sender = sender or default_sender(plan.meta.mailbox, plan.meta.issuer)
                rows = [outbox_row(n, sender=sender) for n in result.notices]
        finally:
            writer.wait()  # the session's connection is free again, whatever happened here
        writer.finish()
        if not result.notices:
            return result
    frozen: dict[str, list[tuple[Any, bytes]]] = {}
    for notice, row in zip(result.notices, rows, strict=True):
        if notice.sheet_attached and notice.sheet is not None and sheet_writer is not None:
            record, data = plan_attachment(row["key"], sheet_writer(notice.sheet),
                                           sheet_file_name(notice.sheet))
            row["attachments"] = [record.as_json()]
            frozen[row["key"]] = [(record, data)]
    result.queued = queue(session, rows)
    for key in result.queued:  # only a message that was really queued gets its frozen copy
        for record, data in frozen.get(key, []):
            freeze(record, data)
    return result
