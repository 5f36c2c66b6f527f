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
from email.utils import getaddresses

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import outbox
from notifications.compose import outgoing
from notifications.failures import (
    DeliveryFailure,
    PermanentFailure,
    ServerUnavailable,
    Transport,
)
from notifications.mime import Outgoing, build_message
from notifications.render import one_line
from plan.errors import DubanError

LEASE = dt.timedelta(minutes=10)
BACKOFF = dt.timedelta(minutes=5)

SessionFactory = Callable[[], Session]


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


def address_problem(message: Outgoing) -> str | None:
    """Why this message cannot go to its To/Cc as written, or None.

    Each To/Cc entry must be exactly one mailbox with an address that passes the plan's
    address rule (``notifications.compose.check_address``): an entry such as
    ``a@b.org>,evil.x.org`` would otherwise add a recipient.
    """
    from notifications.compose import check_address

    for entry in (*message.to, *message.cc):
        found = [a for _, a in getaddresses([one_line(entry)]) if a]
        try:
            if len(found) != 1:
                raise DubanError(f"收件人「{one_line(entry)}」不是一个有效的邮箱地址",
                                 "在 plan.yaml 中改正这个单位的联系邮箱")
            check_address(found[0], where="收件人")
        except DubanError as exc:
            return f"{exc.message}（{exc.hint}）" if exc.hint else exc.message
    return None


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

    @contextmanager
    def tx(self) -> Iterator[Session]:
        try:
            yield self.session
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    def claim(self, batch: int) -> list[Outgoing] | None:
        """The next batch to send: None when the queue is empty.  A message whose address
        is invalid fails here, alone; the rest of the run goes on."""
        with self.tx() as session:
            rows = outbox.claim(session, now=self.clock(), lease=self.lease, limit=batch,
                                max_attempts=self.max_attempts)
        if not rows:
            return None
        messages: list[Outgoing] = []
        for row in rows:
            try:
                message = outgoing(row)  # a stored notice is rendered here, once per attempt
            except Exception as exc:  # a stored notice that cannot be rendered never will be
                self.fail([row.id or 0], PermanentFailure(f"邮件内容无法生成：{type(exc).__name__}: {exc}"))
                continue
            problem = address_problem(message)
            if problem is not None:
                self.fail([message.id], PermanentFailure(problem))
                continue
            if row.recipient_states:
                self.tracked[message.id] = dict(row.recipient_states)
                pending = outbox.unsettled_recipients(row.recipient_states, message.recipients)
                fields = {name: getattr(message, name) for name in message.__dataclass_fields__}
                message = PendingOutgoing(**fields, pending=tuple(pending))
            messages.append(message)
        return messages

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

    def send_batch(self, messages: list[Outgoing]) -> bool:
        """Send a claimed batch.  Returns False when the server is down (stop the run).

        Each message is built right before it is sent, in this thread.  A builder thread
        working ahead (until issue #13) bought nothing once building got cheap: measured
        back to back, inline and threaded sent at the same rate, and the thread made the
        sender wait for the GIL each time a server reply arrived.
        """
        lease_end = self.clock() + self.lease
        for index, message in enumerate(messages):
            if self.clock() > lease_end - self.lease / 2:
                # A slow batch: keep our claim so no other run takes these messages.
                lease_end = self.clock() + self.lease
                with self.tx() as session:
                    outbox.renew(session, ids=[m.id for m in messages[index:]], until=lease_end)
            try:
                accepted = self.transport.send(message, build_message(message))
            except ServerUnavailable as failure:
                self.fail([m.id for m in messages[index:]], failure)
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
                    outbox.release(session, ids=[m.id for m in messages[index:]],
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
            transport.close()
        with run.tx():
            queued = outbox.count_by_state(session).get("queued", 0)
            waiting, earliest = outbox.waiting_summary(session)
    run.report.skipped = max(queued - run.report.retrying, 0)
    run.report.waiting = waiting
    run.report.next_attempt_at = earliest.isoformat() if earliest else None
    return run.report
