"""Transaction-scoped run locks shared by every dialect we support."""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlmodel import Session

from models.tables import RunLock, utcnow


def upsert(session: Session, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    # Imported here: sqlalchemy.dialects.postgresql imports every PostgreSQL driver module
    # (asyncpg, psycopg, pg8000…), ~30 ms that a read-only command or a SQLite run never needs (#13).
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def take_lock(session: Session, name: str) -> None:
    """Write a lock row first, so a concurrent holder of ``name`` waits for this
    transaction to end (SQLite's write lock; a row lock on PostgreSQL)."""
    holder = f"{socket.gethostname()}:{os.getpid()}"
    statement = upsert(session, RunLock.__table__).values(name=name, holder=holder, at=utcnow())  # type: ignore[attr-defined]
    session.execute(statement.on_conflict_do_update(index_elements=["name"],
                                                    set_={"holder": holder, "at": utcnow()}))
