"""Send what the outbox holds: claim a batch, send each message, record each result.

A message's state is committed right after the server accepted it.  The window that
remains: if the process dies after the server accepted a message but before that commit,
the row stays ``sending``; once its lease expires the next run sends it again, with the
same Message-ID, so receivers and MTAs that deduplicate on Message-ID drop the copy.  No
other message can be sent twice, and none is lost: a claimed message always ends as
``sent``, ``failed`` or back in the queue (or, after a crash, ``sending`` until its lease
expires and it is claimed again).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import outbox
from notifications.build_ahead import Builder, Built
from notifications.compose import address_problem  # noqa: F401  (its old home)
from notifications.failures import (
    DeliveryFailure,
    PermanentFailure,
    ServerUnavailable,
    Transport,
)
from notifications.mime import Outgoing

LEASE = dt.timedelta(minutes=10)
BACKOFF = dt.timedelta(minutes=5)

SessionFactory = Callable[[], Session]

# What rendering and building a claimed row reads (notifications.compose.outgoing).
_COLUMNS = ("id", "key", "message_id", "sender", "to", "cc", "subject", "body_text",
            "body_html", "created_at", "attempts", "attachments", "content", "notice",
            "template_version")


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # failed for good this run (permanent, or out of attempts)
    retrying: int = 0  # failed temporarily, back in the queue with a backoff
    skipped: int = 0  # still queued and not tried this run (backoff, or server down)
    # Not compared: what the outbox holds after the run, for the run summary.
    partial: int = field(default=0, compare=False)  # sent to some, others retry later
    waiting: int = field(default=0, compare=False)  # still queued after this run
    next_attempt_at: str | None = field(default=None, compare=False)  # earliest, ISO UTC

    def as_json(self) -> dict[str, int | str | None]:
        return asdict(self)


@dataclass(frozen=True)
class PendingOutgoing(Outgoing):
    """A message sent again to only the recipients still waiting (same bytes and
    Message-ID; the envelope lists only ``pending``)."""

    pending: tuple[str, ...] = ()

    @property
    def recipients(self) -> list[str]:
        return list(self.pending)


class _Clock:
    """``now`` as given, advanced by the real time elapsed (so leases stay honest)."""

    def __init__(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        self.start = now
        self._t0 = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self._t0)


@contextmanager
def _run_session(source: Engine | SessionFactory) -> Iterator[Session]:
    """One session (and, from an engine, one connection) for the whole run.

    Each message's state is still its own short transaction; reusing the session and
    connection only saves setting them up again for every message (~2 ms each).
    """
    if isinstance(source, Engine):
        with source.connect() as conn, Session(bind=conn, expire_on_commit=False) as session:
            yield session
    else:
        with source() as session:
            yield session


class _Run:
    def __init__(self, session: Session, transport: Transport, clock: _Clock,
                 max_attempts: int, lease: dt.timedelta, backoff: dt.timedelta) -> None:
        self.session = session
        self.transport = transport
        self.clock = clock
        self.max_attempts = max_attempts
        self.lease = lease
        self.backoff = backoff
        self.report = DeliveryReport()
        self.tracked: dict[int, dict[str, dict[str, str]]] = {}  # id → recipient states
        self.mark_sent = outbox.SentRecorder(session)
        self.builder = Builder()

    @contextmanager
    def tx(self) -> Iterator[Session]:
        try:
            yield self.session
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    def claim(self, batch: int) -> list[SimpleNamespace] | None:
        """The next batch to send, as detached copies of the rows (the helper process that
        builds ahead gets them pickled): None when the queue is empty.  A message that
        cannot be rendered or whose address is invalid fails when its turn comes
        (:func:`notifications.build_ahead.build`), alone; the rest of the run goes on."""
        with self.tx() as session:
            rows = outbox.claim(session, now=self.clock(), lease=self.lease, limit=batch,
                                max_attempts=self.max_attempts)
        if not rows:
            return None
        for row in rows:
            if row.recipient_states:
                self.tracked[row.id or 0] = dict(row.recipient_states)
        return [SimpleNamespace(**{name: getattr(row, name) for name in _COLUMNS}) for row in rows]

    def ready(self, built: Built) -> Outgoing:
        """The message to send for one built row: to the recipients still waiting if an
        earlier attempt reached some of them."""
        message = built.message
        assert message is not None
        states = self.tracked.get(message.id)
        if not states:
            return message
        pending = outbox.unsettled_recipients(states, message.recipients)
        fields = {name: getattr(message, name) for name in message.__dataclass_fields__}
        return PendingOutgoing(**fields, pending=tuple(pending))

    def record(self, message: Outgoing, refused: dict[str, str]) -> None:
        """The server took the message, perhaps refusing some recipients."""
        if not refused and message.id not in self.tracked:
            self.mark_sent(message.id, self.clock())  # the common case: one driver UPDATE
            self.report.sent += 1
            return
        results = {a: {"state": "sent", "reply": "250"} for a in message.recipients
                   if a not in refused}
        for address, reply in refused.items():
            temporary = reply[:1] == "4"
            results[address] = {"state": "retrying" if temporary else "failed", "reply": reply}
        with self.tx() as session:
            state = outbox.settle(session, id=message.id, results=results, now=self.clock(),
                                  max_attempts=self.max_attempts, backoff=self.backoff)
        if state == "queued":
            self.report.partial += 1
            self.report.retrying += 1
        elif state == "failed":
            self.report.failed += 1
        else:
            self.report.sent += 1

    def fail(self, ids: list[int], failure: DeliveryFailure) -> None:
        with self.tx() as session:
            states = outbox.mark_failed(session, ids=ids, error=failure.message,
                                        permanent=failure.permanent, now=self.clock(),
                                        max_attempts=self.max_attempts, backoff=self.backoff)
        for state in states.values():
            if state == "failed":
                self.report.failed += 1
            else:
                self.report.retrying += 1

    def send_batch(self, rows: list[SimpleNamespace]) -> bool:
        """Send a claimed batch.  Returns False when the server is down (stop the run).

        Messages are rendered and built in claim order by :class:`Builder`: in this process
        for a small batch, ahead in a helper process for a large one, so that building the
        next message overlaps the wait for the server's reply to this one (issue #13).
        """
        lease_end = self.clock() + self.lease
        for index, built in enumerate(self.builder.built(rows)):
            if self.clock() > lease_end - self.lease / 2:
                # A slow batch: keep our claim so no other run takes these messages.
                lease_end = self.clock() + self.lease
                with self.tx() as session:
                    outbox.renew(session, ids=[r.id for r in rows[index:]], until=lease_end)
            if built.data is None or built.message is None:
                self.fail([built.row_id], PermanentFailure(built.failure or "邮件无法生成"))
                continue
            message = self.ready(built)
            try:
                accepted = self.transport.send(message, built.data)
            except ServerUnavailable as failure:
                self.fail([r.id for r in rows[index:]], failure)
                return False
            except DeliveryFailure as failure:
                mixed = len({r[:1] for r in failure.refused.values()}) > 1
                if failure.refused and (mixed or message.id in self.tracked):
                    # Some recipients wait (4xx), others failed for good (5xx), or
                    # earlier ones were already delivered: settle each on its own.
                    self.record(message, failure.refused)
                else:
                    self.fail([message.id], failure)
                continue
            except BaseException:
                # Not this message's fault (a bad setting, a bug, Ctrl-C): hand the rest
                # back untried, then let the error surface.
                with self.tx() as session:
                    outbox.release(session, ids=[r.id for r in rows[index:]],
                                   now=self.clock())
                raise
            self.record(message, accepted.refused)
        return True


def deliver_pending(*, engine_or_session_factory: Engine | SessionFactory | None = None,
                    engine: Engine | None = None, transport: Transport, now: dt.datetime,
                    max_attempts: int = 5, batch: int = 500, lease: dt.timedelta = LEASE,
                    backoff: dt.timedelta = BACKOFF) -> DeliveryReport:
    """Send every due message in the outbox through ``transport``; returns the counts.

    Temporary failures wait ``backoff × 2^(attempts-1)`` before the next try and fail for
    good after ``max_attempts`` attempts; a permanent failure fails the message at once.
    When the server cannot be reached the run stops: the batch in hand counts an attempt
    and every other message stays queued for the next run.  ``engine`` is accepted as
    another name for ``engine_or_session_factory``.
    """
    source = engine_or_session_factory or engine
    if source is None:
        raise TypeError("deliver_pending needs engine_or_session_factory (or engine)")
    with _run_session(source) as session:
        run = _Run(session, transport, _Clock(now), max_attempts, lease, backoff)
        try:
            while True:
                messages = run.claim(batch)
                if messages is None:
                    break
                if messages and not run.send_batch(messages):
                    break
        finally:
            run.builder.close()
            transport.close()
        with run.tx():
            queued = outbox.count_by_state(session).get("queued", 0)
            waiting, earliest = outbox.waiting_summary(session)
    run.report.skipped = max(queued - run.report.retrying, 0)
    run.report.waiting = waiting
    run.report.next_attempt_at = earliest.isoformat() if earliest else None
    return run.report
