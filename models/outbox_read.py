"""What ``duban outbox`` lists, as plain rows read with sqlite3 (:mod:`models.lite`): the
columns the listing shows, typed as the ORM's :class:`models.tables.OutboxMessage` has them."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass

from models.lite import to_datetime

STATES = ("queued", "sending", "sent", "failed")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    message_id: str
    kind: str
    run_date: dt.date
    unit_id: str | None
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    state: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    recipient_states: dict[str, dict[str, str]] | None


# Quoted: "key" and "to" are words SQL knows.
SELECT = "SELECT " + ", ".join(f'"{name}"' for name in OutboxRow.__dataclass_fields__) + " FROM outbox"


def list_messages_sqlite(conn: sqlite3.Connection, *, state: str | None = None) -> list[OutboxRow]:
    """:func:`models.outbox.list_messages` in sqlite3 (oldest first, optionally one state)."""
    sql = SELECT
    params: tuple[str, ...] = ()
    if state is not None:
        sql, params = sql + " WHERE state = ?", (state,)
    rows = []
    for (id_, key, message_id, kind, run_date, unit_id, sender, to, cc, subject, state_, attempts,
         last_error, created, next_at, sent, recipients) in conn.execute(sql + " ORDER BY id", params):
        rows.append(OutboxRow(
            id_, key, message_id, kind, dt.date.fromisoformat(run_date), unit_id, sender,
            json.loads(to), json.loads(cc), subject, state_, attempts, last_error,
            to_datetime(created), to_datetime(next_at), to_datetime(sent),  # type: ignore[arg-type]
            json.loads(recipients) if recipients is not None else None))
    return rows
