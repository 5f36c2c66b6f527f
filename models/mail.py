"""The contact mailbox's state: which messages were read, what became of them.

Keyword-only query functions taking a session, like the other models/ modules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from models.mail_tables import MailMessage
from models.tables import utcnow

__all__ = ["MailMessage", "UnplacedMessage", "filed", "find", "record_message", "unfiled_uids",
           "unplaced_messages"]


def find(session: Session, *, message_id: str, folder: str, uidvalidity: int, uid: int) -> MailMessage | None:
    """The row for this message, by Message-ID or by its place on the server."""
    m = MailMessage
    return session.scalars(select(m).where(or_(
        col(m.message_id) == message_id,
        (col(m.folder) == folder) & (col(m.uidvalidity) == uidvalidity) & (col(m.uid) == uid)))).first()


def known_uids(session: Session, *, folder: str, uidvalidity: int) -> dict[int, MailMessage]:
    m = MailMessage
    rows = session.scalars(select(m).where(col(m.folder) == folder, col(m.uidvalidity) == uidvalidity))
    return {row.uid: row for row in rows}


def record_message(session: Session, **values: Any) -> MailMessage:
    row = MailMessage(**values)
    session.add(row)
    session.flush()
    return row


def move_key(session: Session, *, row_id: int, folder: str, uidvalidity: int, uid: int) -> None:
    """The same Message-ID met at another place (UIDs renumbered, or moved back): follow it."""
    session.execute(update(MailMessage).where(col(MailMessage.id) == row_id)
                    .values(folder=folder, uidvalidity=uidvalidity, uid=uid))


def unfiled_uids(session: Session, *, folder: str, uidvalidity: int) -> list[int]:
    """Messages recorded but not yet moved on the server (a crash came in between)."""
    m = MailMessage
    return list(session.scalars(select(col(m.uid)).where(
        col(m.folder) == folder, col(m.uidvalidity) == uidvalidity, col(m.filed_at).is_(None),
        col(m.outcome).in_(("recorded", "partial"))).order_by(col(m.uid))))


def filed(session: Session, *, folder: str, uidvalidity: int, uids: list[int]) -> None:
    if uids:
        m = MailMessage
        session.execute(update(m).where(col(m.folder) == folder, col(m.uidvalidity) == uidvalidity,
                                        col(m.uid).in_(uids)).values(filed_at=utcnow()))


@dataclass(frozen=True)
class UnplacedMessage:
    sender: str
    subject: str
    date: dt.datetime | None
    reason: str
    fetched_on: dt.date
    outcome: str  # unplaced | partial (some attachments recorded, some not)


def unplaced_messages(session: Session, *, since: dt.date | None = None) -> list[UnplacedMessage]:
    """Mail that could not be (fully) placed, oldest first: for the coordinator's daily email."""
    m = MailMessage
    query = select(m).where(col(m.outcome).in_(("unplaced", "partial"))).order_by(col(m.fetched_on), col(m.id))
    if since is not None:
        query = query.where(col(m.fetched_on) >= since)
    return [UnplacedMessage(r.sender, r.subject, r.sent_at, r.reason or "", r.fetched_on, r.outcome)
            for r in session.scalars(query)]


def recorded_on(session: Session, *, day: dt.date) -> list[MailMessage]:
    """Messages fetched on ``day`` that recorded something (for that day's 回执)."""
    m = MailMessage
    return list(session.scalars(select(m).where(col(m.fetched_on) == day, col(m.unit_id).is_not(None),
                                                col(m.outcome).in_(("recorded", "partial")))
                                .order_by(col(m.id))))
