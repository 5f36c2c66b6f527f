"""Transaction-scoped run locks shared by every dialect we support."""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models.tables import RunLock, utcnow


def upsert(session: Session, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def take_lock(session: Session, name: str) -> None:
    """Write a lock row first, so a concurrent holder of ``name`` waits for this
    transaction to end (SQLite's write lock; a row lock on PostgreSQL)."""
    holder = f"{socket.gethostname()}:{os.getpid()}"
    statement = upsert(session, RunLock.__table__).values(name=name, holder=holder, at=utcnow())  # type: ignore[attr-defined]
    session.execute(statement.on_conflict_do_update(index_elements=["name"],
                                                    set_={"holder": holder, "at": utcnow()}))
