"""What ``duban status`` reads, as plain rows: the row type shared with :mod:`models.ledger`
and :mod:`models.intake`, and the same queries in sqlite3 for :mod:`models.lite`.

Each ``*_sqlite`` function mirrors the SQLAlchemy query named in its docstring, clause for
clause; tests/test_ledger_read.py runs both on the same ledger and compares the results.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import NamedTuple

from models.lite import Days
from plan.status import ReportedProgress

DONE_WITHOUT_EVIDENCE = "已报完成，缺少佐证"
STATS_ONLY = "已收到统计表，总结未报送"


class EntryRow(NamedTuple):
    """A ledger entry joined with its unit, milestone and task, ready for the rules.

    A named tuple rather than a frozen dataclass: the digest reads 200,000 of them at national
    scale, and a tuple is built in one step (a frozen dataclass sets each field through
    object.__setattr__) and is about half the size."""

    id: int
    unit_id: str
    unit_name: str
    milestone_id: str
    milestone_title: str
    kind: str
    task_number: int | None
    task_title: str | None
    due: dt.date
    submitted_on: dt.date | None
    waived: bool
    report_id: str | None


def is_synced_sqlite(conn: sqlite3.Connection) -> bool:
    """:func:`models.ledger.is_synced` in sqlite3."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM ledger_entry)").fetchone()[0] == 1


def live_unit_sqlite(conn: sqlite3.Connection, unit_id: str) -> bool:
    """Whether :func:`models.ledger.get_unit` finds the unit (it explains when it does not)."""
    row = conn.execute("SELECT archived_at IS NULL FROM unit WHERE id = ?", (unit_id,)).fetchone()
    return row is not None and row[0] == 1


def live_task_sqlite(conn: sqlite3.Connection, number: int) -> bool:
    """Whether :func:`models.ledger.get_task` finds the task."""
    row = conn.execute("SELECT archived_at IS NULL FROM task WHERE number = ?", (number,)).fetchone()
    return row is not None and row[0] == 1


_ENTRY_ROWS = """
SELECT e.id, e.unit_id, u.name, e.milestone_id, m.title, m.kind, m.task_number, t.title, e.due,
       coalesce(e.submitted_on, rep.submitted_on),
       CASE WHEN e.status = 'waived' THEN 1 WHEN rep.status = 'waived' THEN 1 ELSE 0 END,
       m.report_id
FROM ledger_entry e
JOIN unit u ON u.id = e.unit_id
JOIN milestone m ON m.id = e.milestone_id
LEFT JOIN task t ON t.number = m.task_number
LEFT JOIN ledger_entry rep ON rep.milestone_id = m.report_id AND rep.unit_id = e.unit_id
WHERE e.archived_at IS NULL{where}
ORDER BY e.due, m.task_number, e.milestone_id, e.unit_id
"""


def entry_rows_sqlite(conn: sqlite3.Connection, *, unit: str | None = None, task: int | None = None,
                      milestone: str | None = None) -> list[EntryRow]:
    """:func:`models.ledger.entry_rows` in sqlite3."""
    where, params = "", []
    for clause, value in (("e.unit_id = ?", unit), ("m.task_number = ?", task), ("e.milestone_id = ?", milestone)):
        if value is not None and value != "":
            where += f" AND {clause}"
            params.append(value)
    day = Days()
    return [EntryRow(id_, u, un, m, mt, k, tn, tt, day[due], day[sub], bool(waived), rep)
            for id_, u, un, m, mt, k, tn, tt, due, sub, waived, rep
            in conn.execute(_ENTRY_ROWS.format(where=where), params)]


def progress_flags_sqlite(conn: sqlite3.Connection) -> dict[int, str]:
    """:func:`models.intake.progress_flags` in sqlite3."""
    done = conn.execute(
        "SELECT e.id FROM ledger_entry e JOIN progress_update p ON p.entry_id = e.id"
        " JOIN milestone m ON m.id = e.milestone_id"
        " LEFT JOIN ledger_entry rep ON rep.milestone_id = m.report_id AND rep.unit_id = e.unit_id"
        " WHERE p.is_current = 1 AND p.state = 'done' AND e.archived_at IS NULL"
        " AND coalesce(e.submitted_on, rep.submitted_on) IS NULL AND e.status != 'waived'"
        " AND coalesce(rep.status, '') != 'waived'").fetchall()
    stats_only = conn.execute(
        "SELECT e.id FROM ledger_entry e JOIN stats_report s ON s.entry_id = e.id"
        " WHERE s.is_current = 1 AND e.submitted_on IS NULL AND e.status != 'waived'"
        " AND e.archived_at IS NULL").fetchall()
    return flag_texts([e for (e,) in done], [e for (e,) in stats_only])


def flag_texts(done: list[int], stats_only: list[int]) -> dict[int, str]:
    """entry id → its flags, as both readers word them."""
    flags: dict[int, list[str]] = {}
    for entry_id in done:
        flags.setdefault(entry_id, []).append(DONE_WITHOUT_EVIDENCE)
    for entry_id in stats_only:
        flags.setdefault(entry_id, []).append(STATS_ONLY)
    return {k: "；".join(v) for k, v in flags.items()}


def reported_progress_sqlite(conn: sqlite3.Connection, *, unit_id: str | None = None) -> dict[int, ReportedProgress]:
    """:func:`models.intake.reported_progress` in sqlite3."""
    query = ("SELECT p.entry_id, p.department, p.person, p.state, p.percent, p.note, p.reported_on"
             " FROM progress_update p JOIN ledger_entry e ON e.id = p.entry_id"
             " WHERE p.is_current = 1 AND e.archived_at IS NULL")
    params: list[str] = []
    if unit_id is not None:
        query += " AND e.unit_id = ?"
        params.append(unit_id)
    found = {entry_id: ReportedProgress(department, person, state, percent, note, dt.date.fromisoformat(day))
             for entry_id, department, person, state, percent, note, day in conn.execute(query, params)}
    return {e: p for e, p in found.items() if not p.is_empty()}
