"""The sweep's ledger side: one set-based pass that fires the ladder's rungs and records
them, returning one notice per recipient for ``flows.sweep`` to queue in the same
transaction.

Reads are two queries (open entries within the ladder's horizon; their fired rungs),
the write is one bulk insert of escalations, whatever the number of entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session, col

from models.db import in_code_order
from models.locks import take_lock
from models.sweep_basis import UNVOUCHED_SQL, BasisRows, basis_rows, drop_basis, write_basis
from models.tables import Escalation, LedgerEntry, Milestone, OutboxMessage, SweepMark, Unit, utcnow
from plan.errors import DubanError
from plan.ladder import Candidate, FiredRung, Firing, Ladder, Router, earlier_rungs
from plan.model import Plan
from plan.notice import Notice, NoticeItem, UndeliveredMail, UnmatchedFile, dumps
from plan.supervision import SupervisionSheet, build_sheet, cn_month_day, unit_sequence
from plan.unmatched import with_unmatched
from plan.workdays import WorkCalendar

# Outbox states that count as "sent" for a notice's history: handed to delivery and not failed.
SENT_STATES = ("queued", "sending", "sent")


@dataclass
class SweepResult:
    today: dt.date
    working_day: bool
    entries_checked: int = 0
    fired: list[Firing] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)
    # The 督办单 of each unit reached at the supervise rung today (for the printable .docx).
    sheets: list[SupervisionSheet] = field(default_factory=list)

    @property
    def escalations(self) -> int:
        return len(self.fired)


class IsoDates(dict[str, dt.date]):
    """Dates read as ISO text and parsed once per distinct value.

    A sweep reads 50,000–130,000 rows holding a few hundred distinct dates; the driver's
    per-row date conversion was most of the time of those reads.
    """

    def __missing__(self, key: str) -> dt.date:
        value = self[key] = dt.date.fromisoformat(key[:10])
        return value


def _fetch(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """All rows of ``sql``, as the DB-API driver's plain tuples, in the session's transaction.

    The sweep's two big reads skip SQLAlchemy's result rows (54,000 candidates, 130,000
    fired rungs).  ``sql`` names its parameters ``{name}``; the driver's own placeholder is
    put in (``:name`` for sqlite3, ``%(name)s`` for psycopg).  Dates go in as ISO text on
    SQLite, which is how SQLAlchemy stores them there.
    """
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    values = {k: _sqlite_value(v) if sqlite else v for k, v in params.items()}
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql.format(**{k: f":{k}" if sqlite else f"%({k})s" for k in params}), values)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite storage formats: dates as ISO text, datetimes as naive text with
    # microseconds (the tzinfo is dropped, the fields kept).
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# Whether an entry may climb above 催办: a seed/confirmed date of a reporting unit (1) or not (0).
ENFORCEABLE_SQL = "CASE WHEN m.source = 'assumed' OR u.role = 'task-only' THEN 0 ELSE 1 END"
_ENTRY_JOINS = "FROM ledger_entry e JOIN milestone m ON m.id = e.milestone_id LEFT JOIN unit u ON u.id = e.unit_id"


@dataclass(frozen=True)
class Pending:
    """The entries that may fire today: due in a range where some rung is reached today
    (``Ladder.reached_ranges``) and without an escalation row for that rung.

    Any other open entry has a row for every rung it reaches, so it fires nothing; reading
    it (and its rows) only to find that was most of a sweep the day after a catch-up.
    """

    ranges: tuple[tuple[bool, str, dt.date | None, dt.date], ...]

    def sql(self, params: dict[str, Any], *, postgresql: bool = False) -> str:
        """The WHERE clause on ``e`` (ledger_entry, with ``m`` and ``u``); parameters go into ``params``.

        A rung reached over the same dates whether or not the entry is enforceable gets one
        clause without the enforceable test; the cheap date tests come first.  On PostgreSQL
        each rung's clause is its own subquery, which it runs as one anti-join against the
        escalation rows: an OR of correlated NOT EXISTS ran as a subplan per entry and per
        rung (the national next day's server CPU 0.35 → 0.98 s).
        """
        flags: dict[tuple[str, dt.date | None, dt.date], set[bool]] = {}
        for enforceable, rung_id, after, through in self.ranges:
            flags.setdefault((rung_id, after, through), set()).add(enforceable)
        clauses = []
        for n, ((rung_id, after, through), which) in enumerate(flags.items()):
            params[f"rung{n}"], params[f"through{n}"] = rung_id, through
            clause = f"e.due <= {{through{n}}}"
            if after is not None:
                params[f"after{n}"] = after
                clause += f" AND e.due > {{after{n}}}"
            if len(which) == 1:
                clause += f" AND {ENFORCEABLE_SQL} = {1 if True in which else 0}"
            clauses.append(f"({clause} AND NOT EXISTS (SELECT 1 FROM escalation x "
                           f"WHERE x.entry_id = e.id AND x.rung_id = {{rung{n}}}))")
        if not clauses:
            return " AND 1 = 0"
        if postgresql:
            branches = [f"SELECT e.id {_ENTRY_JOINS} WHERE {clause}" for clause in clauses]
            return f" AND e.id IN ({' UNION ALL '.join(branches)})"
        return f" AND ({' OR '.join(clauses)})"


# Entries not submitted (as of today), not waived, due by the horizon; milestones tied to a
# report follow their report's entry.  Columns: Candidate's, with the due date as ISO text.
CANDIDATES_SQL = """
SELECT e.id, e.unit_id, e.milestone_id, m.title, m.task_number, CAST(e.due AS VARCHAR),
       """ + ENFORCEABLE_SQL + """,
       CASE WHEN m.source = 'assumed' THEN 1 ELSE 0 END
""" + _ENTRY_JOINS + """
WHERE e.archived_at IS NULL AND m.archived_at IS NULL AND m.report_id IS NULL AND e.status <> 'waived'
  AND (e.submitted_on IS NULL OR e.submitted_on > {today}) AND e.due <= {horizon}
"""


def open_candidates(session: Session, *, today: dt.date, horizon: dt.date,
                    unvouched: bool = False, pending: Pending | None = None) -> list[Candidate]:
    """Entries not submitted (as of today), not waived, due by ``horizon`` (and, with
    ``unvouched``, without a basis row that vouches for them today; with ``pending``, with a
    reached rung not recorded yet).

    Milestones tied to a report are left out: they follow their report's entry.  Each row
    says whether the entry is enforceable (a seed/confirmed date of a reporting unit).
    """
    params: dict[str, Any] = {"today": today, "horizon": horizon}
    postgresql = session.connection().dialect.name == "postgresql"
    sql = (CANDIDATES_SQL + (UNVOUCHED_SQL.format(enforceable=ENFORCEABLE_SQL) if unvouched else "")
           + (pending.sql(params, postgresql=postgresql) if pending else ""))
    if (pending or unvouched) and postgresql:
        # In entry order, as PostgreSQL's scan returns them without the filters: escalation
        # rows are inserted (and numbered) in the order their entries are read.
        sql += " ORDER BY e.id"
    dates = IsoDates()
    return [Candidate(entry_id, unit_id, milestone_id, title, task, dates[due], bool(enforceable), bool(assumed))
            for entry_id, unit_id, milestone_id, title, task, due, enforceable, assumed
            in _fetch(session, sql, params)]


def count_open(session: Session, *, today: dt.date, horizon: dt.date) -> int:
    """How many entries :func:`open_candidates` returns without a filter (what a run reports
    as checked, whichever of them it had to read)."""
    sql = "SELECT COUNT(*) FROM (" + CANDIDATES_SQL + ") AS open_entries"
    return int(_fetch(session, sql, {"today": today, "horizon": horizon})[0][0])


# The recorded rungs of the entries in {ids} (open_candidates' entries).
FIRED_SQL = ("SELECT x.entry_id, x.rung_id, x.kind, CAST(x.fired_on AS VARCHAR), x.message_key "
             "FROM escalation x WHERE {within}")
# The messages' states are read once per message, not once per escalation row: an outbox
# row stores its content before ``state``, so joining it to every escalation made SQLite
# walk each message's overflow pages ~120 times (49 s of a 50 s next-day sweep at 200k).
SENT_SQL = (f"SELECT o.key FROM outbox o WHERE o.state IN ({', '.join(repr(s) for s in SENT_STATES)}) AND o.key IN "
            "(SELECT DISTINCT x.message_key FROM escalation x WHERE {within})")


def fired_rungs(session: Session, entry_ids: Sequence[int]) -> dict[int, dict[str, FiredRung]]:
    """The recorded rungs of the entries ``entry_ids``, with whether each one's message went out.

    "Sent" means: the escalation row names an outbox message (the one to the unit, else the
    first recipient's) whose state is queued, sending or sent; a failed message does not
    count, and neither does a row without a message.  The ladder cites a row only when it
    fired on an earlier run date than today.  The ids go in as one parameter, a JSON array
    (SQLite's ``json_each`` reads it, PostgreSQL's ``json_array_elements_text``), whatever
    their number: as an array parameter on PostgreSQL, 52,000 ids took 0.04–0.07 s a query
    to send and parse, as JSON 0.01 s.
    """
    if not entry_ids:
        return {}
    if session.connection().dialect.name == "sqlite":
        within = "x.entry_id IN (SELECT value FROM json_each({ids}))"
    else:
        within = "x.entry_id IN (SELECT CAST(value AS bigint) FROM json_array_elements_text(CAST({ids} AS json)))"
    params = {"ids": json.dumps(list(entry_ids))}
    # {within} is filled in here; the parameters' own {names} stay for _fetch.
    sent_keys = {key for (key,) in _fetch(session, SENT_SQL.replace("{within}", within), params)}
    rows = _fetch(session, FIRED_SQL.replace("{within}", within), params)
    fired: dict[int, dict[str, FiredRung]] = {}
    dates = IsoDates()
    # 130,000 rows the day after a catch-up, but only a few thousand distinct (kind, run date,
    # message): each FiredRung is built once and shared (it is immutable).
    shared: dict[tuple[str, str, str | None], FiredRung] = {}
    for entry_id, rung_id, kind, fired_on, message_key in rows:
        found = shared.get((kind, fired_on, message_key))
        if found is None:
            found = shared[kind, fired_on, message_key] = FiredRung(kind, dates[fired_on], message_key in sent_keys)
        recorded = fired.get(entry_id)
        if recorded is None:
            recorded = fired[entry_id] = {}
        recorded[rung_id] = found
    return fired


def latest_run_date(session: Session) -> dt.date | None:
    """The latest date the ladder recorded anything for (an escalation or a queued notice)."""
    fired = session.execute(select(func.max(col(Escalation.fired_on)))).scalar()
    queued = session.execute(select(func.max(col(OutboxMessage.run_date)))
                             .where(col(OutboxMessage.kind) != "digest")).scalar()
    days = [d for d in (fired, queued) if d is not None]
    return max(days) if days else None


def check_run_date(session: Session, *, plan: Plan, today: dt.date) -> None:
    """Refuse a run that would rewrite history or act outside the plan's period.

    A run dated before the latest recorded run would remind units of items that are
    already under 督办; a run after the period would report absurd lateness.
    """
    period = plan.meta.period
    if not period.start <= today <= period.end:
        raise DubanError(
            f"{today.year}年{cn_month_day(today)}不在方案执行期（{period.start.year}年{cn_month_day(period.start)}"
            f"至{period.end.year}年{cn_month_day(period.end)}）内，不提醒、不催办、不发送",
            "检查 --today；确需按这一天运行，加 --force")
    latest = latest_run_date(session)
    if latest is not None and today < latest:
        raise DubanError(
            f"{today.year}年{cn_month_day(today)}早于已记录的最近一次运行（{latest.year}年{cn_month_day(latest)}），"
            "按这一天运行会对已催办、督办的事项重新发送提醒",
            "检查 --today；确需补跑这一天，加 --force（不会重复提醒已升级的事项）")


MARK = "sweep"
# Bump when the firing rules in plan/ladder.py change: a mark (and basis rows) left by other
# rules is not used.  2: basis rows (models.sweep_basis) replaced the changed-since window.
RULES_VERSION = "2"


def rules_fingerprint(session: Session, plan: Plan) -> str:
    """What, besides an entry's own row and today's date, decides which of its rungs fire:
    the ladder, the calendar, each milestone's source/archived/report link and each unit's
    role.  A sweep after a mark with another fingerprint looks at every open entry."""
    digest = hashlib.sha256(RULES_VERSION.encode())
    digest.update(repr([(r.id, r.kind, r.offset, tuple(r.to), tuple(r.cc)) for r in plan.escalation.rungs]).encode())
    digest.update(plan.calendar.model_dump_json().encode())
    rows = _fetch(session, "SELECT id, source, archived_at IS NULL, report_id FROM milestone ORDER BY id", {})
    digest.update(repr([(i, s, bool(a), r) for i, s, a, r in rows]).encode())
    digest.update(repr(_fetch(session, "SELECT id, role FROM unit ORDER BY id", {})).encode())
    return digest.hexdigest()


def fire_rungs(session: Session, *, plan: Plan, today: dt.date, lock: bool = True,
               unmatched: Sequence[UnmatchedFile] = (), undelivered: Sequence[UndeliveredMail] = (),
               attach_sheets: bool = False,
               writer: SweepWriter | None = None) -> SweepResult:
    """Fire due rungs as of ``today``: record the escalation rows and return the notices.

    The caller queues the notices (``flows.sweep.run_sweep``) in the same transaction and
    commits (or, for a preview, rolls back).  ``unmatched`` (files intake could not place)
    are listed in the coordinator's notice, which is made for them alone when nothing else
    is due; so is ``undelivered`` (mail the server refused for good).  With
    ``attach_sheets`` each 督办 notice says its printable 督办单 travels with it.

    The examined entries' basis rows (models.sweep_basis) are known once the entries are
    read, the escalation rows once the firings are routed, before the notices are built:
    each is handed to ``writer`` then (``flows.sweep`` gives a threaded :class:`SweepWriter`,
    so the database inserts them while the firings are routed and the notices built; without
    one they are written at once).  After handing over the basis rows this does not touch
    the session again.
    """
    calendar = WorkCalendar(plan.calendar)
    result = SweepResult(today=today, working_day=calendar.sends_on(today))
    if not result.working_day:
        return result
    if lock:
        take_lock(session, "sweep")
    ladder = Ladder(plan, calendar, today)
    horizon = ladder.horizon()
    began, fingerprint = utcnow(), rules_fingerprint(session, plan)
    mark = session.get(SweepMark, MARK)
    current = mark is not None and mark.fingerprint == fingerprint
    if not current:  # the basis rows' next days were worked out by other rules (or none yet)
        drop_basis(session)
    # Same rules, a later run date: only entries whose basis rows do not vouch for them.  A
    # back-dated run (--force) or new rules: every open entry with a reached rung not yet
    # recorded (Pending).  Before the first sweep (no mark) there is nothing recorded to
    # leave out: the probes and the count of open entries would only cost (0.09 s of the
    # national catch-up).
    unvouched = current and mark is not None and mark.swept_on <= today
    ranges = ladder.reached_ranges() if mark is not None and not unvouched else None
    pending = None if ranges is None else Pending(tuple(ranges))
    if mark is None or mark.swept_on <= today:  # a back-dated run (--force) leaves the mark
        # Merged (and read, if new) now: once the writer has the connection, this does not touch it.
        session.merge(SweepMark(name=MARK, swept_on=today, fingerprint=fingerprint, at=began))
    candidates = open_candidates(session, today=today, horizon=horizon, unvouched=unvouched, pending=pending)
    result.entries_checked = (len(candidates) if not unvouched and pending is None
                              else count_open(session, today=today, horizon=horizon))
    fired = fired_rungs(session, [c.entry_id for c in candidates])
    writer = writer or SweepWriter(session, fired_on=today, threaded=False)
    if candidates:  # every entry read is examined: its basis row says so
        writer.basis(basis_rows(candidates, ladder, fresh=not current))
    firings = ladder.firings(candidates, fired)
    router = Router(plan, today, calendar)
    router.route(firings)
    # Each row names the message that told the unit, when one did, and every address told.
    told = router.told
    nobody: tuple[None, list[str]] = (None, [])
    rows: list[EscalationRow] = []
    for f in firings:
        entry_id, rung = f.candidate.entry_id, f.rung
        # nobody: a firing outranked in every message, or one that told nobody
        message_key, recipients = told.get(id(f), nobody)
        rows.append((entry_id, rung.id, rung.kind, recipients, message_key))
    writer.escalations(rows)
    result.notices = with_unmatched(router.build(), plan=plan, today=today, unmatched=unmatched,
                                    undelivered=undelivered)
    if attach_sheets:
        result.notices = [replace(n, sheet_attached=True) if n.sheet else n for n in result.notices]
    sequence = router.sequence  # the plan's order of units, as the sheets' numbers follow it
    result.sheets = sorted(router.sheets, key=lambda sheet: sequence.get(sheet.unit_id, len(sequence) + 1))
    result.undeliverable = sorted(router.undeliverable)
    result.fired = firings
    return result


class SweepWriter:
    """A sweep's rows written in the order handed over: its basis rows, then its escalation
    rows, by a thread while the caller goes on (or at once, with ``threaded`` off).

    The catch-up day's insert is 123,000 escalation rows: about half a second of SQLite's own
    work, and seconds of the PostgreSQL server's CPU; its basis rows are 52,000.  The basis
    rows are known once the entries are read: they go in while the firings are worked out
    and routed.  The escalation rows go in while the notices and their outbox rows are built
    (pure Python, no database).  On PostgreSQL the server does the work in its own process;
    on SQLite each statement is one call into SQLite (:func:`insert_escalations_sqlite`,
    ``models.sweep_basis``), during which the thread holds no GIL.  The thread uses the
    session's DB-API connection alone (psycopg's connections are thread-safe; SQLAlchemy
    opens a SQLite file with ``check_same_thread`` off, and the caller leaves the connection
    alone meanwhile): :meth:`finish` must be called before the session is used again.  After
    an error the later rows are not written; :meth:`finish` raises it.
    """

    def __init__(self, session: Session, *, fired_on: dt.date, threaded: bool = True) -> None:
        self.error: BaseException | None = None
        self._session = session
        self._fired_on = fired_on
        self._threaded = threaded
        self._jobs: queue.SimpleQueue[Callable[[Any], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def basis(self, basis: BasisRows) -> None:
        postgresql = self._session.connection().dialect.name == "postgresql"
        self._submit(lambda cursor: write_basis(cursor, basis, postgresql=postgresql))

    def escalations(self, rows: list[EscalationRow], *, created_at: dt.datetime | None = None) -> None:
        """Insert the day's escalation rows, skipping (entry, rung) pairs already recorded.

        The rows bypass SQLAlchemy's per-row parameter processing, which cost more than the
        database's own insert: SQLite takes them as JSON arrays, a statement each
        (:func:`insert_escalations_sqlite`); PostgreSQL by ``COPY`` (:func:`copy_escalations`).
        The values are converted with the columns' own bind processors, so the stored bytes
        are what the ORM path stores.  ``created_at``: now, unless given.
        """
        if rows:
            self._submit(_batch_writer(self._session, rows, fired_on=self._fired_on,
                                       created_at=created_at or utcnow()))

    def _submit(self, job: Callable[[Any], None]) -> None:
        dbapi = self._session.connection().connection
        if not self._threaded:
            self._run_one(dbapi, job)
            if self.error is not None:
                raise self.error
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(dbapi,), name="sweep-rows")
            self._thread.start()
        self._jobs.put(job)

    def _run(self, dbapi: Any) -> None:
        while (job := self._jobs.get()) is not None:
            if self.error is None:  # after an error, nothing more goes in
                self._run_one(dbapi, job)

    def _run_one(self, dbapi: Any, job: Callable[[Any], None]) -> None:
        try:
            cursor = dbapi.cursor()
            try:
                job(cursor)
            finally:
                cursor.close()
        except BaseException as error:  # handed to finish(), in the caller's thread
            self.error = error

    def wait(self) -> None:
        """Wait for the rows (whether or not they went in)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

    def finish(self) -> None:
        """Wait for the rows; raise what writing them raised."""
        self.wait()
        if self.error is not None:
            raise self.error


# (entry id, rung id, rung kind, recipients, message key): one escalation row of a run.
EscalationRow = tuple[int, str, str, list[str], str | None]
ESCALATION_COLUMNS = ("entry_id", "rung_id", "kind", "fired_on", "created_at", "recipients", "message_key")


def _batch_writer(session: Session, rows: list[EscalationRow], *, fired_on: dt.date,
                  created_at: dt.datetime) -> Callable[[Any], None]:
    """What writes ``rows`` on a DB-API cursor of the session's connection, their values
    already converted (in the caller's thread: this reads the session's dialect)."""
    if session.connection().dialect.name == "postgresql":
        values = escalation_values(session, rows, fired_on=fired_on, created_at=created_at)
        return lambda cursor: copy_escalations(cursor, values)
    batch = escalation_batch(session, rows, fired_on=fired_on, created_at=created_at)
    return lambda cursor: insert_escalations_sqlite(cursor, batch)


# Escalation rows name their ledger entry without a foreign key (migration 0017): a batch is
# checked at once before it goes in (what the key checked row by row, on PostgreSQL taking a
# lock on each entry's row), and a trigger keeps entries from being deleted.
_UNKNOWN_ENTRIES = ("SELECT DISTINCT {ids} FROM {source} LEFT JOIN ledger_entry e ON e.id = {ids} "
                    "WHERE e.id IS NULL LIMIT 5")


def refuse_unknown_entries(unknown: Sequence[int]) -> None:
    """Raise if escalation rows about to be written name ledger entries that do not exist."""
    if unknown:
        raise ValueError(f"escalation rows for ledger entries that do not exist: {sorted(unknown)}")


def escalation_values(session: Session, rows: list[EscalationRow], *, fired_on: dt.date,
                      created_at: dt.datetime) -> list[tuple[Any, ...]]:
    """The driver's parameters for ``rows``, in :data:`ESCALATION_COLUMNS` order."""
    day, now, recipients_of = _converters(session, fired_on=fired_on, created_at=created_at)
    return [(entry_id, rung_id, kind, day, now, recipients_of(recipients), message_key)
            for entry_id, rung_id, kind, recipients, message_key in rows]


def _converters(session: Session, *, fired_on: dt.date,
                created_at: dt.datetime) -> tuple[Any, Any, Callable[[list[str]], Any]]:
    """The run date and creation time as the driver takes them, and the recipients' converter."""
    dialect = session.connection().dialect
    table = Escalation.__table__  # type: ignore[attr-defined]

    def processor(name: str) -> Any:
        return table.c[name].type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)

    to_json = processor("recipients")
    # A handful of distinct recipient lists for 123,000 rows: each is encoded once.
    encoded: dict[tuple[str, ...], Any] = {}

    def recipients_of(recipients: list[str]) -> Any:
        key = tuple(recipients)
        found = encoded.get(key)
        if found is None:
            found = encoded[key] = to_json(recipients)
        return found

    # One run date and one creation time per sweep: converted once.
    return processor("fired_on")(fired_on), processor("created_at")(created_at), recipients_of


# SQLite: escalation rows go in as JSON arrays of [entry id, rung id, kind, recipients'
# stored JSON text, message key] rows, read by json_each in one INSERT per array.  A
# statement is one call into SQLite, during which the calling thread holds no GIL, so a
# thread can write the catch-up day's rows while the notices are built (``executemany``
# takes the GIL back for every row, 123,000 times); it binds 3 values, not 7 per row.
_SQLITE_INSERT = (f"INSERT INTO escalation ({', '.join(ESCALATION_COLUMNS)}) "
                  "SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), "
                  "json_extract(j.value, '$[2]'), ?, ?, json_extract(j.value, '$[3]'), "
                  "json_extract(j.value, '$[4]') FROM json_each(?) j "
                  # WHERE true: SQLite would read the upsert's ON as the join's ON without it.
                  "WHERE true ON CONFLICT (entry_id, rung_id) DO NOTHING")


# Rows per JSON array: SQLite parses each whole (about 100 bytes a row), so a catch-up day's
# 123,000 rows in one array took 70 MB more at peak than in arrays of this size.
SQLITE_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class SqliteBatch:
    """One SQLite insert: the run date and creation time as stored, and the rows, turned
    into JSON arrays of at most :data:`SQLITE_BATCH_ROWS` rows as they go in (by the writer's
    thread, so the caller does not wait for it, and only one array is held at a time)."""

    fired_on: str
    created_at: str
    rows: list[EscalationRow]
    recipients_of: Callable[[list[str]], Any]

    def chunks(self) -> Iterator[str]:
        recipients_of = self.recipients_of
        for at in range(0, len(self.rows), SQLITE_BATCH_ROWS):
            yield dumps([(entry_id, rung_id, kind, recipients_of(recipients), message_key)
                         for entry_id, rung_id, kind, recipients, message_key in self.rows[at:at + SQLITE_BATCH_ROWS]])


def escalation_batch(session: Session, rows: list[EscalationRow], *, fired_on: dt.date,
                     created_at: dt.datetime) -> SqliteBatch:
    """``rows`` as :func:`insert_escalations_sqlite` takes them (SQLite)."""
    day, now, recipients_of = _converters(session, fired_on=fired_on, created_at=created_at)
    return SqliteBatch(day, now, rows, recipients_of)


def insert_escalations_sqlite(cursor: Any, batch: SqliteBatch) -> None:
    """SQLite: insert ``batch`` in its rows' order, skipping the (entry, rung) pairs already
    recorded; refused whole, before any row goes in, if a row names an unknown entry.  A
    statement per array of rows, no Python per row but making the arrays."""
    ids = json.dumps(sorted({row[0] for row in batch.rows}))
    cursor.execute(_UNKNOWN_ENTRIES.format(ids="j.value", source="json_each(?) j"), (ids,))
    refuse_unknown_entries([found for (found,) in cursor.fetchall()])
    for chunk in batch.chunks():
        cursor.execute(_SQLITE_INSERT, (batch.fired_on, batch.created_at, chunk))


# A scratch table with escalation's own column types (so COPY parses and checks each value
# as the INSERT would) and the rows' order, dropped at the end of the insert (or with the
# transaction, if that fails first).  The run date and creation time are the same for every
# row: they are bound once in the INSERT, as ``executemany`` binds them.
_BATCH = "escalation_batch"
_BATCH_COLUMNS = ("entry_id", "rung_id", "kind", "recipients", "message_key")
_BATCH_SQL = (f"CREATE TEMPORARY TABLE {_BATCH} ON COMMIT DROP AS "
              f"SELECT CAST(0 AS bigint) AS ord, {', '.join(_BATCH_COLUMNS)} FROM escalation WITH NO DATA")
# Enough for the ORDER BY of a catch-up day's batch (123,000 rows) to sort in memory, not on disk.
_BATCH_WORK_MEM = "64MB"


def copy_text(value: str | None) -> str:
    """``value`` as a field of COPY's text format (``\\N`` for NULL)."""
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_escalations(cursor: Any, values: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: insert ``values`` (as :func:`escalation_values` makes them) with COPY.

    COPY cannot skip a conflicting row, so the rows go into a temporary table and from there
    into ``escalation`` with the same ``ON CONFLICT DO NOTHING``, in the order given (the
    ids come out as ``executemany`` gives them).  Each distinct value is turned into COPY
    text once: a catch-up day has 123,000 rows but a few thousand distinct message keys and
    a handful of recipient lists, rung ids and kinds.  A recipient list's JSON is made by the
    connection's own dumper, the text ``executemany`` sends.
    """
    from psycopg.adapt import PyFormat

    if not values:
        return
    days = {(row[3], row[4]) for row in values}
    if len(days) != 1:
        raise ValueError("one run date and creation time per batch")
    (day, now), = days
    # str / None → its COPY text, and a shared Json wrapper's id → its COPY text: plain dict
    # lookups in the loop below (a function call per field was a third of its time).
    fields = {value: copy_text(value) for value in {v for row in values for v in (row[1], row[2], row[6])}}
    wrappers = {id(row[5]): row[5] for row in values}
    json_fields = {key: copy_text(bytes(cursor.adapters.get_dumper(type(value), PyFormat.TEXT)(type(value), cursor)
                                        .dump(value)).decode())
                   for key, value in wrappers.items()}
    lines = [f"{n}\t{int(entry_id)}\t{fields[rung_id]}\t{fields[kind]}\t{json_fields[id(recipients)]}\t"
             f"{fields[message_key]}\n"
             for n, (entry_id, rung_id, kind, _, _, recipients, message_key) in enumerate(values)]
    columns = ", ".join(_BATCH_COLUMNS)
    cursor.execute("SELECT current_setting('work_mem')")
    work_mem = cursor.fetchone()[0]
    cursor.execute(_BATCH_SQL)
    with cursor.copy(f"COPY {_BATCH} (ord, {columns}) FROM STDIN") as copy:
        for at in range(0, len(lines), 10_000):
            copy.write("".join(lines[at:at + 10_000]))
    cursor.execute(_UNKNOWN_ENTRIES.format(ids="b.entry_id", source=f"{_BATCH} b"))
    refuse_unknown_entries([entry_id for (entry_id,) in cursor.fetchall()])
    cursor.execute("SELECT set_config('work_mem', %s, true)", (_BATCH_WORK_MEM,))
    cursor.execute(f"INSERT INTO escalation ({', '.join(ESCALATION_COLUMNS)}) "
                   f"SELECT entry_id, rung_id, kind, %s, %s, recipients, message_key FROM {_BATCH} ORDER BY ord "
                   "ON CONFLICT (entry_id, rung_id) DO NOTHING", (day, now))
    cursor.execute("SELECT set_config('work_mem', %s, true)", (work_mem,))
    cursor.execute(f"DROP TABLE {_BATCH}")


@dataclass(frozen=True)
class SupervisedEntry:
    entry_id: int
    unit_id: str
    milestone_id: str
    due: dt.date
    rung_kind: str
    fired_on: dt.date


def supervision_list(session: Session, *, today: dt.date,
                     kinds: tuple[str, ...] = ("supervise", "interview")) -> list[SupervisedEntry]:
    """Entries still open today that reached the 督导检查 (or 约谈) rung: the current list.

    Only enforceable entries: a row recorded before a date became assumed or a unit became
    task-only (an older ledger) is left out, so such an entry is never on the list.
    """
    e = LedgerEntry
    rows = session.execute(
        select(col(e.id), col(e.unit_id), col(e.milestone_id), col(e.due), col(Escalation.kind),
               func.min(col(Escalation.fired_on)))
        .join(Escalation, and_(col(Escalation.entry_id) == col(e.id), col(Escalation.kind).in_(kinds)))
        .join(Milestone, col(Milestone.id) == col(e.milestone_id))
        .outerjoin(Unit, col(Unit.id) == col(e.unit_id))
        .where(col(Milestone.source) != "assumed", or_(col(Unit.role).is_(None), col(Unit.role) != "task-only"),
               col(e.archived_at).is_(None), col(e.status) != "waived", col(Escalation.fired_on) <= today,
               or_(col(e.submitted_on).is_(None), col(e.submitted_on) > today))
        .group_by(col(e.id), col(e.unit_id), col(e.milestone_id), col(e.due), col(Escalation.kind))
        .order_by(in_code_order(session, col(e.unit_id)), col(e.due))
    )
    return [SupervisedEntry(*row) for row in rows]


def supervision_sheets(session: Session, *, plan: Plan, today: dt.date) -> list[SupervisionSheet]:
    """The 督办单 issued on ``today`` (supervise rows fired that day), rebuilt from the ledger:
    the same sheets the sweep built, for writing the printable .docx after the run.

    Two queries: the day's supervise rows with their entries, then every recorded rung of
    those entries (for the earlier rungs each sheet item cites).
    """
    e = LedgerEntry
    rows = session.execute(
        select(col(e.id), col(e.unit_id), col(e.milestone_id), col(Milestone.title),
               col(Milestone.task_number), col(e.due))
        .join(Escalation, and_(col(Escalation.entry_id) == col(e.id), col(Escalation.kind) == "supervise",
                               col(Escalation.fired_on) == today))
        .join(Milestone, col(Milestone.id) == col(e.milestone_id))
        .outerjoin(Unit, col(Unit.id) == col(e.unit_id))
        .where(col(Milestone.source) != "assumed", or_(col(Unit.role).is_(None), col(Unit.role) != "task-only"),
               col(e.archived_at).is_(None))
    ).all()
    if not rows:
        return []
    sent = case((col(OutboxMessage.state).in_(SENT_STATES), True), else_=False)
    recorded: dict[int, dict[str, FiredRung]] = {}
    for entry_id, rung_id, kind, fired_on, was_sent in session.execute(
            select(col(Escalation.entry_id), col(Escalation.rung_id), col(Escalation.kind),
                   col(Escalation.fired_on), sent)
            .outerjoin(OutboxMessage, col(OutboxMessage.key) == col(Escalation.message_key))
            .where(col(Escalation.entry_id).in_([row[0] for row in rows]))):
        recorded.setdefault(entry_id, {})[rung_id] = FiredRung(kind, fired_on, bool(was_sent))
    calendar = WorkCalendar(plan.calendar)
    milestones = {m.id: m for m in plan.milestones()}
    by_unit: dict[str, list[NoticeItem]] = {}
    for entry_id, unit_id, milestone_id, title, task_number, due in rows:
        milestone = milestones.get(milestone_id)
        if unit_id not in plan.units:
            continue
        by_unit.setdefault(unit_id, []).append(NoticeItem(
            entry_id=entry_id, unit_id=unit_id, unit_name=plan.units[unit_id].name,
            milestone_id=milestone_id, title=title, task_number=task_number, task_title=None, due=due,
            rung_id="supervise", rung_kind="supervise", days=calendar.between(due, today),
            formats=plan.formats_for(milestone, unit_id) if milestone else (),
            stats_table=milestone.stats_table if milestone else False,
            earlier=earlier_rungs(recorded.get(entry_id, {}), today, "supervise")))
    sequence = unit_sequence(plan)
    return [build_sheet(plan, calendar, unit_id=unit_id, items=by_unit[unit_id], today=today,
                        milestones=milestones, sequence=sequence)
            for unit_id in sorted(by_unit, key=sequence.__getitem__)]
