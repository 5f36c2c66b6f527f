"""Plain ``sqlite3`` reads for the read-only commands, without SQLAlchemy.

Importing SQLAlchemy and the SQLModel tables costs more CPU than a read-only command's whole
budget (~0.3 s of ~0.4 s).  When the ledger is a SQLite file already at the migration heads,
a command that only reads may open it with the standard library instead.  Anything else
(PostgreSQL, no file yet, a schema to upgrade, a file that cannot be opened) gives None and
the caller takes the ordinary path through :func:`models.db.session_scope`, which migrates.

The queries live beside the SQLAlchemy ones they mirror (``models/*_read.py``) and tests
compare the two on the same database, so the table definitions stay in one place.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from models.db import _script_heads, database_url

# How SQLModel's UTCDateTime is stored in SQLite (UTC, no zone), and so how values compare.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


@contextmanager
def sqlite_reader() -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to the SQLite ledger at the current schema, or None."""
    url = database_url()
    conn = _open(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None
    try:
        yield conn
    finally:
        if conn is not None:
            conn.close()


def _open(path: str) -> sqlite3.Connection | None:
    if not path or path == ":memory:" or not Path(path).is_file():
        return None
    heads = _script_heads()
    if heads is None:
        return None
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        stored = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:
        return None
    if stored != set(heads):
        conn.close()
        return None
    return conn


def to_datetime(value: str | None) -> dt.datetime | None:
    """A stored UTCDateTime as the ORM returns it: aware, in UTC."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value)
    return moment.replace(tzinfo=dt.UTC) if moment.utcoffset() is None else moment.astimezone(dt.UTC)


def db_datetime(value: dt.datetime) -> str:
    """An aware ``value`` as UTCDateTime writes it into SQLite, for comparisons."""
    return value.astimezone(dt.UTC).strftime(SQLITE_DATETIME)


class Days(dict[Any, Any]):
    """A cell's date as the ORM gives it, one shared object per distinct value:
    ``days[value]`` for ISO text (SQLite), a ``date`` (PostgreSQL) or None."""

    def __missing__(self, key: Any) -> Any:
        value = key if key is None or isinstance(key, dt.date) else dt.date.fromisoformat(key)
        self[key] = value
        return value
