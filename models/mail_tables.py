"""The contact mailbox's messages: one row per message, whatever became of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import utcnow


class MailMessage(SQLModel, table=True):
    """A message read from the contact mailbox.

    Keyed twice: by Message-ID (the same message in another folder, or after the server
    renumbered its UIDs, is not recorded again) and by (folder, UIDVALIDITY, UID).
    """

    __tablename__ = "mail_message"
    __table_args__ = (UniqueConstraint("folder", "uidvalidity", "uid", name="uq_mail_message_uid"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=998, unique=True)
    folder: str = Field(max_length=255)
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))  # up to 2³²−1
    uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    sender: str = Field(max_length=320)
    subject: str
    sent_at: dt.datetime | None = None
    unit_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=16)  # recorded | partial | unplaced
    reason: str | None = None  # Chinese: why (part of) it could not be placed
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fetched_on: dt.date
    actor: str = Field(max_length=128)
    recorded_at: dt.datetime = Field(default_factory=utcnow)
    filed_at: dt.datetime | None = None  # moved to the done folder on the server
