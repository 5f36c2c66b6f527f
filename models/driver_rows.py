"""Large reads straight from the DB-API cursor, in the session's transaction.

The digest and the evaluation read every ledger entry and fired rung (200,000 and
123,000 rows at national scale).  Through SQLAlchemy's result, each row costs a Row object
and a type conversion per cell (on SQLite a regular expression per date); here the query is
compiled once with its values inline and the driver's plain tuples come back.  What the
driver returns differs by backend, so callers convert with the helpers below: SQLite gives a
date as its ISO text and a boolean as 0/1, PostgreSQL gives ``date`` and ``bool``.

Only for queries whose parameters are plain values (ids, numbers, booleans, dates).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.sql import ClauseElement
from sqlmodel import Session

from models.lite import Days

__all__ = ["Days", "driver_rows"]


def driver_rows(session: Session, query: ClauseElement) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` as the driver's tuples, read in the session's transaction."""
    connection = session.connection()
    # Bound parameters, not literals: a unit id a user typed never becomes SQL text.  The
    # drivers adapt the plain values used here (str, int, bool, date) themselves: SQLite
    # stores a date as the same ISO text SQLAlchemy's Date writes.
    compiled: Any = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args: Any = tuple(params[name] for name in compiled.positiontup or ()) if compiled.positional else params
    cursor: Any = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), args)
        while True:
            chunk = cursor.fetchmany(10_000)
            if not chunk:
                return
            yield from chunk
    finally:
        cursor.close()
