"""A season of sweeps on the shipped plan, reduced to one digest per run date.

``tests/test_sweep_golden.py`` replays it and compares with ``sweep_golden.json``, which was
written by running this module against main at 90844ee (before the sweep's bulk rewrite);
written again when the stored notice format became 2, after a run without the stored JSON
matched the previous code's day by day.
Each notice row stores ``TEMPLATE_VERSION``, a digest of every template and of the renderer's
module; the file records only that the row holds the current one, so a change to an unrelated
template (the digest's) does not move it, while the bodies each message renders to still do.

    DUBAN_DATABASE_URL=sqlite:////tmp/golden.db PYTHONPATH=<main checkout> \\
        python tests/sweep_scenario.py tests/sweep_golden.json

So the sweep's output — escalation rows, outbox rows (keys, Message-IDs, stored notice JSON,
subjects) and the subject and bodies each message renders to — is proven unchanged by the
rewrite, day by day, including a week duban was off, submissions (one late), a waiver and a
failed message (which a later notice must not cite as sent).

Only duban's public step functions are used, so the same file runs on either version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

D = dt.date
PLAN = Path(__file__).resolve().parents[1] / "plan.yaml"

# The morning of a day: (unit, milestone) submitted that day.
SUBMISSIONS = {
    D(2024, 6, 3): [("pudong", "work-plan")],
    D(2024, 6, 12): [("xuhui", "work-plan")],
    D(2024, 7, 4): [("pudong", "half-year-summary")],
    D(2024, 7, 10): [("xuhui", "half-year-summary"), ("policy-division", "half-year-summary")],
}
WAIVERS = {D(2024, 6, 5): [("jingan", "work-plan")]}
# After that day's sweep: that unit's notices of the day fail (never count as sent).
FAILURES = {D(2024, 6, 6): ["huangpu"], D(2024, 7, 8): ["changning"]}
# duban was off these days (a catch-up run follows: missed reminders are skipped).
OFF = (D(2024, 6, 17), D(2024, 6, 21))


def run_dates() -> list[dt.date]:
    days = []
    day = D(2024, 5, 20)
    while day <= D(2024, 8, 9):
        if not OFF[0] <= day <= OFF[1]:
            days.append(day)
        day += dt.timedelta(days=1)
    # Then weekly to the end of the year (later milestones, a later catch-up each week).
    day = D(2024, 8, 16)
    while day <= D(2024, 12, 31):
        days.append(day)
        day += dt.timedelta(days=7)
    return days


def _digest(rows: list[Any]) -> str:
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


def replay() -> dict[str, list[Any]]:
    """Sync the shipped plan into the (empty) database and sweep every run date; per date:
    [escalations, messages, entries checked (as ``duban run`` reports), digest of the
    escalation rows, digest of the outbox rows and of what each renders to]."""
    from sqlalchemy import select, update

    from flows.sweep import run_sweep
    from models import ledger
    from models.db import session_scope
    from models.sync import sync_ledger
    from models.tables import Escalation, LedgerEntry, OutboxMessage
    from notifications.compose import materialise
    from notifications.render import TEMPLATE_VERSION
    from plan import load_plan

    plan = load_plan(PLAN)
    with session_scope() as session:
        sync_ledger(session, plan)
    out: dict[str, list[Any]] = {}
    for day in run_dates():
        with session_scope() as session:
            for unit, milestone in SUBMISSIONS.get(day, []):
                ledger.record_submission(session, unit_id=unit, milestone_id=milestone, submitted_on=day,
                                         source="cli", actor="测试员")
            for unit, milestone in WAIVERS.get(day, []):
                ledger.waive_entry(session, unit_id=unit, milestone_id=milestone, reason="测试", actor="测试员")
            checked = run_sweep(session, plan=plan, today=day).entries_checked
        with session_scope() as session:
            # A day passes: today's changes are old by the next run (a season replays in
            # seconds; the sweep looks again at entries changed shortly before its last run).
            session.execute(update(LedgerEntry).values(updated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))
            for unit in FAILURES.get(day, []):
                session.execute(update(OutboxMessage).where(OutboxMessage.unit_id == unit,
                                                            OutboxMessage.run_date == day)
                                .values(state="failed"))
            escalations = [list(row) for row in session.execute(
                select(LedgerEntry.unit_id, LedgerEntry.milestone_id, Escalation.rung_id, Escalation.kind,
                       Escalation.fired_on, Escalation.recipients, Escalation.message_key)
                .join(LedgerEntry, LedgerEntry.id == Escalation.entry_id)
                .where(Escalation.fired_on == day)
                .order_by(LedgerEntry.unit_id, LedgerEntry.milestone_id, Escalation.rung_id))]
            messages = []
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.run_date == day)
                                       .order_by(OutboxMessage.key)):
                rendered = materialise(row)
                messages.append([row.key, row.message_id, row.kind, row.unit_id, row.sender, row.to, row.cc,
                                 row.subject, row.content, row.notice, row.template_version == TEMPLATE_VERSION,
                                 row.attachments,
                                 row.body_text, row.body_html,
                                 rendered.subject, rendered.text, rendered.html])
        out[day.isoformat()] = [len(escalations), len(messages), checked, _digest(escalations), _digest(messages)]
    return out


if __name__ == "__main__":
    result = replay()
    Path(sys.argv[1]).write_text(json.dumps(result, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    import flows.sweep

    print(f"{len(result)} run dates written by {flows.sweep.__file__}")
