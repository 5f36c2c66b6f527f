"""The pure-SQL floor of a sweep: the same day's work with plain SQL and the DB-API.

What any implementation must do for a catch-up or next-day sweep, and nothing more: read
the open entries within the ladder's horizon and their fired rungs, decide the firings
with a working-day array (``bisect``), insert the escalation rows (SQLite: ``executemany``;
PostgreSQL: one ``COPY`` straight into the table, no temporary table: the rows' (entry,
rung) pairs were just read as unfired and the bench runs nothing else on the ledger), and
store one message per recipient as its items' JSON (no rendering, no ORM, no validation).
``python -m bench.step sweep-floor`` runs it on a copy of the same ledger as ``sweep``;
the bench reports duban ÷ floor.  Not a product path: never imported by duban itself.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
from typing import Any

from plan.model import Plan
from plan.workdays import WorkCalendar

CANDIDATES = """
SELECT e.id, e.unit_id, e.milestone_id, e.due,
       CASE WHEN m.source = 'assumed' OR u.role = 'task-only' THEN 0 ELSE 1 END
FROM ledger_entry e JOIN milestone m ON m.id = e.milestone_id LEFT JOIN unit u ON u.id = e.unit_id
WHERE e.archived_at IS NULL AND m.archived_at IS NULL AND m.report_id IS NULL AND e.status <> 'waived'
  AND (e.submitted_on IS NULL OR e.submitted_on > {p}) AND e.due <= {p}
"""
FIRED = """
SELECT x.entry_id, x.rung_id, x.kind FROM escalation x JOIN ledger_entry e ON e.id = x.entry_id
WHERE e.archived_at IS NULL AND e.due <= {p} AND (e.submitted_on IS NULL OR e.submitted_on > {p})
"""
ESCALATION = ("INSERT INTO escalation (entry_id, rung_id, kind, fired_on, created_at, recipients, message_key) "
              "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (entry_id, rung_id) DO NOTHING")
OUTBOX = ('INSERT INTO outbox (key, message_id, kind, run_date, unit_id, sender, "to", cc, subject, content, '
          "notice, attachments, state, attempts, created_at, updated_at) VALUES "
          "({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, 'notice', {p}, '[]', 'queued', 0, {p}, {p}) "
          "ON CONFLICT DO NOTHING")


ESCALATION_COPY = "COPY escalation (entry_id, rung_id, kind, fired_on, created_at, recipients, message_key) FROM STDIN"


def _copy_field(value: str) -> str:
    # COPY's text format: backslash, tab, newline and CR escaped (no NULLs in these rows).
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_escalations(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: ``rows`` (the INSERT's parameters) by one COPY, as text lines built here."""
    day, now = rows[0][3].isoformat() if rows else "", rows[0][4].isoformat() if rows else ""
    with cursor.copy(ESCALATION_COPY) as copy:
        for at in range(0, len(rows), 10_000):
            copy.write("".join(f"{entry_id}\t{_copy_field(rung_id)}\t{_copy_field(kind)}\t{day}\t{now}\t"
                               f"{_copy_field(recipients)}\t{_copy_field(key)}\n"
                               for entry_id, rung_id, kind, _, _, recipients, key in rows[at:at + 10_000]))


class WorkingDays:
    """The plan period's working days as a sorted array: shift and count by index."""

    def __init__(self, calendar: WorkCalendar, start: dt.date, end: dt.date) -> None:
        first, last = start - dt.timedelta(days=400), end + dt.timedelta(days=400)
        self.days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)
                     if calendar.is_workday(first + dt.timedelta(days=n))]

    def shift(self, day: dt.date, offset: int) -> dt.date:
        if offset >= 0:
            return self.days[bisect.bisect_right(self.days, day) + offset - 1] if offset else day
        return self.days[bisect.bisect_left(self.days, day) + offset]

    def between(self, start: dt.date, end: dt.date) -> int:
        return bisect.bisect_right(self.days, end) - bisect.bisect_right(self.days, start)


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def floor_sweep(connection: Any, *, plan: Plan, today: dt.date, placeholder: str) -> dict[str, int]:
    """One sweep on a DB-API connection (``placeholder``: ``?`` or ``%s``); commits."""
    p = placeholder
    # sqlite3 stores what SQLAlchemy stores for dates: ISO text; psycopg adapts dates itself.
    day_param: Any = today.isoformat() if p == "?" else today
    now: Any = dt.datetime.now(dt.UTC)
    now = now.isoformat(sep=" ") if p == "?" else now
    calendar = WorkingDays(WorkCalendar(plan.calendar), plan.meta.period.start, plan.meta.period.end)
    rungs = list(plan.escalation.rungs)
    horizon = calendar.shift(today, -min(r.offset for r in rungs))
    cursor = connection.cursor()
    cursor.execute(CANDIDATES.format(p=p), (day_param, horizon.isoformat() if p == "?" else horizon))
    candidates = cursor.fetchall()
    cursor.execute(FIRED.format(p=p), (horizon.isoformat() if p == "?" else horizon, day_param))
    fired: dict[int, dict[str, str]] = {}
    for entry_id, rung_id, kind in cursor.fetchall():
        fired.setdefault(entry_id, {})[rung_id] = kind
    reached: dict[tuple[Any, int], list[Any]] = {}
    emails = {u.id: [c.email for c in u.contacts] for u in plan.units.values()}
    coordinator = [c.email for c in plan.coordinator.contacts]
    leadership = [c.email for c in plan.meta.leadership]
    messages: dict[tuple[str, str], list[Any]] = {}
    escalations = []
    for entry_id, unit_id, milestone_id, due, enforceable in candidates:
        key = (due, enforceable)
        if key not in reached:
            day = _day(due)
            allowed = [r for r in rungs if enforceable or r.kind in ("remind", "chase")]
            hit = [r for r in allowed if today >= calendar.shift(day, r.offset)]
            reached[key] = [(r, calendar.between(today, day) if r.kind == "remind" else calendar.between(day, today))
                            for r in hit if r.kind != "remind" or r is hit[-1]]
        done = fired.get(entry_id, {})
        escalated = any(kind != "remind" for kind in done.values())
        for rung, days in reached[key]:
            if rung.id in done or (escalated and rung.kind == "remind"):
                continue
            item = (entry_id, unit_id, milestone_id, str(due), rung.id, rung.kind, days)
            for who in rung.to:
                group = unit_id if who in ("unit", "lead") else who
                messages.setdefault((who if who in ("coordinator", "leadership") else "unit", group), []).append(item)
            escalations.append((entry_id, rung.id, rung.kind, day_param, now, json.dumps(emails.get(unit_id, [])),
                                f"unit-notice|{unit_id}|{today}"))
    if p == "?":
        cursor.executemany(ESCALATION.format(p=p), escalations)
    else:
        copy_escalations(cursor, escalations)
    rows = []
    for (kind, group), items in messages.items():
        to = coordinator if kind == "coordinator" else leadership if kind == "leadership" else emails.get(group, [])
        if not to:
            continue
        message_key = f"{kind}|{to[0]}|{today}|" + "+".join(sorted({i[4] for i in items}))
        message_id = f"<floor.{hashlib.sha256(message_key.encode()).hexdigest()[:24]}@bench.invalid>"
        rows.append((message_key, message_id, kind, day_param, group if kind == "unit" else None, plan.meta.mailbox,
                     json.dumps(to), "[]", message_key, json.dumps(items, ensure_ascii=False, separators=(",", ":")),
                     now, now))
    cursor.executemany(OUTBOX.format(p=p), rows)
    connection.commit()
    return {"entries_checked": len(candidates), "escalations": len(escalations), "queued": len(rows)}
