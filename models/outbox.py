"""The outbox table's reads and writes: queue, claim, mark sent/failed, retry.

Delivery is safe with several processes at once because a message changes hands only
through :func:`claim`, one ``UPDATE … WHERE id IN (SELECT …) AND state = … RETURNING``
committed before anything is sent: PostgreSQL skips rows another claimer holds
(``FOR UPDATE SKIP LOCKED``), SQLite serialises writers.  A claim is a lease: rows left
``sending`` by a crashed run are claimed again once ``lease_until`` has passed.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlmodel import Session, col

from models.locks import upsert
from models.outbox_read import STATES  # noqa: F401  (defined beside the sqlite3 reads)
from models.tables import OutboxMessage
from plan.errors import DubanError

CRASHED_TOO_OFTEN = ("发送过程多次中断（进程退出），可能已经送达；"
                     "请与收件人核实后再用 duban outbox retry 重发")
_TABLE = OutboxMessage.__table__  # type: ignore[attr-defined]


def _insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name in ("postgresql", "sqlite"):
        return upsert(session, _TABLE)
    raise DubanError(f"不支持的数据库类型 {name}", "使用 SQLite 或 PostgreSQL")


def queue(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert messages; a key already in the outbox is left alone.  Returns the keys added."""
    if not rows:
        return []
    values = queue_values(rows, dt.datetime.now(dt.UTC))
    if session.get_bind().dialect.name == "postgresql" and len({frozenset(v) for v in values}) == 1:
        return queue_pipelined(session, values)
    return queue_statement(session, values)


def queue_values(rows: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """:func:`queue`'s rows with the columns they leave out filled in."""
    return [{"state": "queued", "attempts": 0, "unit_id": None, "last_error": None,
             "next_attempt_at": None, "lease_until": None, "sent_at": None, "attachments": [],
             "content": "bodies", "notice": None, "template_version": None,
             "created_at": now, "updated_at": now, **row} for row in rows]


def queue_statement(session: Session, values: list[dict[str, Any]]) -> list[str]:
    """:func:`queue`'s rows (every column given) as one SQLAlchemy multi-row INSERT."""
    # No conflict target: a clash on key *or* Message-ID means "already queued".
    stmt = _insert(session).on_conflict_do_nothing().returning(_TABLE.c.key)
    return list(session.execute(stmt, values).scalars())


def queue_pipelined(session: Session, values: list[dict[str, Any]]) -> list[str]:
    """PostgreSQL: :func:`queue`'s rows (all with the same columns) by psycopg's pipelined
    ``executemany``, the keys added read from each row's RETURNING.

    A catch-up day queues ~1,000 messages holding 16 MB of notice JSON: as one multi-row
    INSERT, psycopg spent longer rewriting the 23,000 placeholders than the server spent
    storing the rows.  The values go through the columns' own bind processors, as in
    SQLAlchemy's statement, so the stored rows are the same.
    """
    connection = session.connection()
    dialect = connection.dialect
    names = [c.name for c in _TABLE.columns if c.name in values[0]]
    processors = [_TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    # Every value through its processor, None too: SQLAlchemy's JSON stores None as 'null'.
    params = [tuple(value if process is None else process(value)
                    for process, value in zip(processors, (row[name] for name in names), strict=True))
              for row in values]
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {_TABLE.name} ({', '.join(quote(name) for name in names)}) "
           f"VALUES ({', '.join('%s' for _ in names)}) ON CONFLICT DO NOTHING RETURNING key")
    cursor: Any = connection.connection.cursor()
    added: list[str] = []
    try:
        cursor.executemany(sql, params, returning=True)
        while True:
            added.extend(key for (key,) in cursor.fetchall())
            if not cursor.nextset():
                return added
    finally:
        cursor.close()


def list_messages(session: Session, *, state: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if state is not None:
        query = query.where(col(OutboxMessage.state) == state)
    return list(session.scalars(query))


def get_message(session: Session, *, key: str) -> OutboxMessage:
    """By key, or by the short id ``duban outbox`` shows (the row id: no ``|`` to quote)."""
    key = key.strip()
    query = select(OutboxMessage)
    if key.isdigit():
        query = query.where(col(OutboxMessage.id) == int(key))
    else:
        query = query.where(col(OutboxMessage.key) == key)
    row = session.scalars(query).first()
    if row is None:
        raise DubanError(f"发件箱中没有编号或键为「{key}」的邮件",
                         "运行 duban outbox 查看现有邮件的编号")
    return row


def unsettled_recipients(states: dict[str, dict[str, str]] | None,
                         recipients: Sequence[str]) -> list[str]:
    """The recipients still to be sent to: neither delivered nor failed for good."""
    done = {a for a, s in (states or {}).items() if s.get("state") in ("sent", "failed")}
    return [a for a in recipients if a not in done]


def _reopen(row: OutboxMessage, now: dt.datetime) -> None:
    # Recipients already delivered stay delivered: a retry must not send them a copy.
    if row.recipient_states:
        row.recipient_states = {a: s for a, s in row.recipient_states.items()
                                if s.get("state") == "sent"}
    row.state = "queued"
    row.next_attempt_at = None
    row.lease_until = None
    row.updated_at = now


# How a message's state reads in a sentence about it.
STATE_WORDS = {"queued": "还在等待发送", "sending": "正在发送", "sent": "已经发出", "failed": "发送失败"}


def retry(session: Session, *, key: str) -> OutboxMessage:
    """Put a failed message back in the queue (attempts kept, so the history stays true)."""
    row = get_message(session, key=key)
    if row.state != "failed":
        raise DubanError(
            f"邮件「{key}」{STATE_WORDS.get(row.state, row.state)}，只有发送失败的邮件可以重发",
            "运行 duban outbox --state failed 查看发送失败的邮件")
    _reopen(row, dt.datetime.now(dt.UTC))
    session.add(row)
    session.flush()
    return row


def retry_all(session: Session, *, state: str = "failed", since: dt.date | None = None,
              unit: str | None = None) -> list[OutboxMessage]:
    """Put every failed message back in the queue (optionally: run on/after ``since``, or
    addressed to ``unit``).  Returns the rows requeued, in id order."""
    if state != "failed":
        raise DubanError(f"只能重发状态为 failed 的邮件，不能重发 {state}",
                         "写成 duban outbox retry --state failed")
    query = (select(OutboxMessage).where(col(OutboxMessage.state) == "failed")
             .order_by(col(OutboxMessage.id)))
    if since is not None:
        query = query.where(col(OutboxMessage.run_date) >= since)
    if unit is not None:
        query = query.where(col(OutboxMessage.unit_id) == unit)
    rows = list(session.scalars(query))
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        _reopen(row, now)
        session.add(row)
    session.flush()
    return rows


def settle(session: Session, *, id: int, results: dict[str, dict[str, str]], now: dt.datetime,
           max_attempts: int, backoff: dt.timedelta) -> str:
    """Record what the server said for each recipient of one message this attempt.

    ``results``: {address: {"state": "sent" | "retrying" | "failed", "reply": ...}}.  The
    message is ``sent`` once no recipient is waiting (some may have failed for good: the
    note says which); with recipients waiting it goes back to the queue after a backoff,
    the same Message-ID, only to them; out of attempts, they fail.  Returns the new state.
    """
    row = session.get(OutboxMessage, id, populate_existing=True)
    if row is None or row.state != "sending":
        return row.state if row is not None else "missing"
    states = {**(row.recipient_states or {}), **results}
    waiting = [a for a, s in states.items() if s["state"] == "retrying"]
    if waiting and row.attempts >= max_attempts:
        for address in waiting:
            states[address] = {**states[address], "state": "failed"}
        waiting = []
    delivered = [a for a, s in states.items() if s["state"] == "sent"]
    failed = {a: s.get("reply", "") for a, s in states.items() if s["state"] == "failed"}
    notes = []
    if waiting:
        notes.append("待重试：" + "；".join(f"{a}：{states[a].get('reply', '')}" for a in waiting))
    if failed:
        notes.append("被拒收：" + "；".join(f"{a}：{r}" for a, r in failed.items()))
    row.recipient_states = states
    row.last_error = ("部分收件人" + "。".join(notes))[:2000] if notes else None
    row.lease_until = None
    row.updated_at = now
    if waiting:
        row.state = "queued"
        row.next_attempt_at = next_attempt(now, row.attempts, backoff)
    elif delivered:
        row.state = "sent"
        row.sent_at = now
        row.next_attempt_at = None
    else:
        row.state = "failed"
        row.next_attempt_at = None
    session.add(row)
    session.flush()
    return row.state


def undelivered(session: Session, *, since: dt.date | None = None) -> list[dict[str, Any]]:
    """Who did not get their mail: failed messages and recipients refused for good.

    For the coordinator's next email (``unit``, ``address``, ``reason``, ``key``, ``id``),
    one row per recipient; a failed message with no per-recipient detail gives one row with
    ``address`` None.
    """
    msg = OutboxMessage
    query = (select(msg).where(or_(col(msg.state) == "failed",
                                   col(msg.recipient_states).is_not(None)))
             .order_by(col(msg.id)))
    if since is not None:
        query = query.where(col(msg.run_date) >= since)
    found: list[dict[str, Any]] = []
    for row in session.scalars(query):
        refused = {a: s.get("reply", "") for a, s in (row.recipient_states or {}).items()
                   if s.get("state") == "failed"}
        base = {"id": row.id, "key": row.key, "unit": row.unit_id, "run_date": row.run_date}
        if refused:
            found.extend({**base, "address": a, "reason": r} for a, r in refused.items())
        elif row.state == "failed":
            found.append({**base, "address": None, "reason": row.last_error or ""})
    return found


def waiting_summary(session: Session) -> tuple[int, dt.datetime | None]:
    """(messages still queued, the earliest time one of them is due again).

    Rows another run is sending right now are not counted: they are not waiting.
    """
    count, earliest = session.execute(
        select(func.count(), func.min(col(OutboxMessage.next_attempt_at)))
        .where(col(OutboxMessage.state) == "queued")).one()
    if earliest is not None and earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=dt.UTC)  # SQLite keeps no zone; we store UTC
    return int(count), earliest


def _claimable(now: dt.datetime) -> Any:
    msg = OutboxMessage
    due = and_(col(msg.state) == "queued",
               or_(col(msg.next_attempt_at).is_(None), col(msg.next_attempt_at) <= now))
    expired = and_(col(msg.state) == "sending", col(msg.lease_until) < now)
    return or_(due, expired)


def claim(session: Session, *, now: dt.datetime, lease: dt.timedelta, limit: int,
          max_attempts: int | None = None) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages for sending, in id order.  Commit right after.

    Each claim counts as an attempt.  A message whose lease expired (its run crashed) is
    taken again; with ``max_attempts`` set, one that already had all its attempts is
    marked failed instead, so a message that crashes the sender cannot loop forever.
    """
    msg = OutboxMessage
    if max_attempts is not None:
        session.execute(
            update(msg)
            .where(col(msg.state) == "sending", col(msg.lease_until) < now,
                   col(msg.attempts) >= max_attempts)
            .values(state="failed", lease_until=None, updated_at=now, last_error=CRASHED_TOO_OFTEN)
            .execution_options(synchronize_session=False))
    # A MATERIALIZED CTE runs once.  As a plain IN (subquery) PostgreSQL may re-run it
    # while updating and, since updated rows no longer match, take more than ``limit``.
    picked = (select(col(msg.id)).where(_claimable(now)).order_by(col(msg.id)).limit(limit)
              .with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED"))
    stmt = (update(msg)
            .where(col(msg.id).in_(select(picked.c.id)), _claimable(now))
            .values(state="sending", lease_until=now + lease, attempts=col(msg.attempts) + 1,
                    updated_at=now)
            .returning(msg)
            .execution_options(synchronize_session=False, populate_existing=True))
    rows = list(session.scalars(stmt))
    rows.sort(key=lambda r: r.id or 0)
    return rows


def renew(session: Session, *, ids: Sequence[int], until: dt.datetime) -> int:
    """Extend the lease of messages this run still holds (a long batch)."""
    if not ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(ids)), col(OutboxMessage.state) == "sending")
        .values(lease_until=until)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def release(session: Session, *, ids: Sequence[int], now: dt.datetime) -> None:
    """Give claimed messages back untried (the run stopped for a reason not theirs)."""
    if not ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(ids)), col(OutboxMessage.state) == "sending")
        .values(state="queued", lease_until=None, attempts=col(OutboxMessage.attempts) - 1,
                updated_at=now)
        .execution_options(synchronize_session=False))


# Built once: mark_sent runs once per message, and building the statement each time cost
# more than executing it.
_MARK_SENT = (update(_TABLE)
              .where(_TABLE.c.id.in_(bindparam("b_ids", expanding=True)),
                     _TABLE.c.state == "sending")
              .values(state="sent", sent_at=bindparam("b_now"), updated_at=bindparam("b_now"),
                      lease_until=None, next_attempt_at=None, last_error=bindparam("b_note")))


def mark_sent(session: Session, *, ids: Sequence[int], now: dt.datetime,
              note: str | None = None) -> int:
    """The server accepted these messages.  ``note`` records recipients it refused."""
    if not ids:
        return 0
    result = session.connection().execute(
        _MARK_SENT, {"b_ids": list(ids), "b_now": now, "b_note": note})
    return int(getattr(result, "rowcount", 0) or 0)


class SentRecorder:
    """Commits one accepted message's ``sent`` state through the database driver itself.

    Delivery commits each message right after the server accepted it (the duplicate window
    is that one message).  Through the ORM session that UPDATE + COMMIT cost ~1 ms, more
    than sending the message to a local server; the same statement, compiled once by
    SQLAlchemy for this dialect (its bind processors convert ``now``), costs ~0.1 ms on the
    driver's cursor.  Use it only between the session's own transactions: it commits
    whatever the connection holds.
    """

    def __init__(self, session: Session) -> None:
        conn = session.connection()
        dialect = conn.dialect
        stmt = (update(_TABLE)
                .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.state == "sending")
                .values(state="sent", sent_at=bindparam("b_now"), updated_at=bindparam("b_now"),
                        lease_until=None, next_attempt_at=None, last_error=None))
        compiled = stmt.compile(dialect=dialect)
        self._sql = compiled.string
        self._params = compiled.construct_params({"b_id": 0, "b_now": None})
        self._positions = compiled.positiontup  # None for named paramstyles
        self._to_db = _TABLE.c.sent_at.type.bind_processor(dialect) or (lambda value: value)
        self._session = session
        # PostgreSQL: this transaction's commit does not wait for the WAL flush (fsync):
        # 7 ms → 0.2 ms a message on the bench machine, most of delivery's time there.
        # The record survives the death of this process (the server has it the moment
        # COMMIT returns), so the crash window stays the one message; only a crash of the
        # database server itself within ~0.6 s (3 × wal_writer_delay) could lose the last
        # records, and those messages would go again with the same Message-ID.  LOCAL: the
        # setting ends with the transaction and never reaches another user of the pool.
        self._before = ("SET LOCAL synchronous_commit TO OFF"
                        if dialect.name == "postgresql" else None)
        # psycopg 3 (the driver duban installs, already imported by the engine) binds
        # client-side with ClientCursor; another driver runs the two statements apart.
        psycopg = sys.modules.get("psycopg") if self._before else None
        driver = conn.connection.driver_connection
        self._client_cursor: Any = (psycopg.ClientCursor if psycopg is not None
                                    and isinstance(driver, psycopg.Connection) else None)

    def __call__(self, id: int, now: dt.datetime) -> None:
        params = {**self._params, "b_id": id, "b_now": self._to_db(now)}
        values: Any = [params[name] for name in self._positions] if self._positions else params
        # The session's connection of the moment (a session on an engine may change it).
        raw: Any = self._session.connection().connection.driver_connection
        if self._client_cursor is not None:
            # Bound client-side, both statements go in one round trip (a PostgreSQL
            # server under load answers each one late).
            cursor = self._client_cursor(raw)
            try:
                cursor.execute(f"{self._before}; {self._sql}", values)
            finally:
                cursor.close()
            raw.commit()
            return
        cursor = raw.cursor()
        try:
            if self._before:
                cursor.execute(self._before)
            cursor.execute(self._sql, values)
        finally:
            cursor.close()
        raw.commit()


def next_attempt(now: dt.datetime, attempts: int, backoff: dt.timedelta) -> dt.datetime:
    """Exponential backoff: base, 2×, 4×, … after the 1st, 2nd, 3rd failed attempt."""
    return now + backoff * (2 ** max(attempts - 1, 0))


def mark_failed(session: Session, *, id: int | None = None, ids: Sequence[int] = (),
                error: str, permanent: bool, now: dt.datetime, max_attempts: int,
                backoff: dt.timedelta) -> dict[int, str]:
    """Record a failed attempt.  Returns {id: new state}: ``queued`` (will retry) or ``failed``.

    A permanent failure fails at once; a temporary one is retried after a backoff until
    the message has had ``max_attempts`` attempts.
    """
    wanted = [*([id] if id is not None else []), *ids]
    if not wanted:
        return {}
    msg = OutboxMessage
    current = dict(session.execute(
        select(col(msg.id), col(msg.attempts))
        .where(col(msg.id).in_(wanted), col(msg.state) == "sending")).tuples().all())
    params: list[dict[str, Any]] = []
    outcome: dict[int, str] = {}
    for row_id, attempts in current.items():
        failed = permanent or attempts >= max_attempts
        outcome[row_id] = "failed" if failed else "queued"
        params.append({"b_id": row_id, "b_state": outcome[row_id],
                       "b_next": None if failed else next_attempt(now, attempts, backoff)})
    if params:
        # One statement, executed for every row (executemany).
        stmt = (update(_TABLE)
                .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.state == "sending")
                .values(state=bindparam("b_state"), next_attempt_at=bindparam("b_next"),
                        last_error=error[:2000], lease_until=None, updated_at=now))
        session.connection().execute(stmt, params)
    return outcome


def count_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(col(OutboxMessage.state), func.count())
                           .group_by(col(OutboxMessage.state))).tuples().all()
    return {state: int(n) for state, n in rows}
