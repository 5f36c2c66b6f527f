"""The sweep's basis rows: what the last sweep to examine an entry saw of it, so the next
one reads only the entries that may fire.

An entry examined on a run date fired every rung reached by then that it had not fired, or
skipped it for good (an outranked reminder).  With the same due date and enforceability
(and the same ladder and calendar: the sweep mark's fingerprint), it can fire again only
once its next rung is reached.  So a sweep reads an open entry only when its basis row

* is missing (never examined, or the rules changed since: the rows are then dropped),
* names another due date or enforceability than the entry has now, or
* says its next rung is reached by today.

Nothing here trusts a clock: the row records what was examined, and the comparison is made
against the entry as it is when the next sweep reads it.  A change committed after a sweep
read the entry (its due date moved, say) leaves the row naming the old date, so the next
sweep reads it.  An entry closed and reopened meanwhile (a submission corrected, a waiver
withdrawn) is read as soon as it is open again, if a rung was reached while it was closed:
its ``next_on`` is then already past.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from plan.ladder import Candidate, Ladder

# The WHERE clause, on ``e`` (ledger_entry) with ``m`` and ``u``, keeping the entries whose
# basis row does not vouch for them today.  {enforceable} is models.sweep's ENFORCEABLE_SQL.
UNVOUCHED_SQL = (" AND NOT EXISTS (SELECT 1 FROM sweep_basis b WHERE b.entry_id = e.id AND b.due = e.due"
                 " AND b.enforceable = ({enforceable} = 1) AND b.next_on > {{today}})")

# Rows go in as one JSON parameter of groups [due, enforceable, next_on, [entry ids]]: the
# next day is the same for every entry with the same due date and enforceability, so the
# catch-up day's 52,000 rows are a few hundred groups and no Python work per entry.
_UPSERT = (" ON CONFLICT (entry_id) DO UPDATE SET due = excluded.due, enforceable = excluded.enforceable,"
           " next_on = excluded.next_on")
# Each group's fields are read once, in a materialized CTE: read per entry, they re-parsed the
# group's JSON (its ids too) for every entry (10 s on PostgreSQL for the catch-up's rows).
_SQLITE_WRITE = ("WITH g AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS due, "
                 "json_extract(value, '$[1]') AS enforceable, json_extract(value, '$[2]') AS next_on, "
                 "json_extract(value, '$[3]') AS ids FROM json_each(?)) "
                 "INSERT INTO sweep_basis (entry_id, due, enforceable, next_on) "
                 "SELECT i.value, g.due, g.enforceable, g.next_on FROM g, json_each(g.ids) i "
                 # WHERE true: SQLite would read the upsert's ON as the join's ON without it.
                 "WHERE true" + _UPSERT)
_POSTGRESQL_WRITE = ("WITH g AS MATERIALIZED (SELECT CAST(value ->> 0 AS date) AS due, "
                     "CAST(value ->> 1 AS boolean) AS enforceable, CAST(value ->> 2 AS date) AS next_on, "
                     "value -> 3 AS ids FROM json_array_elements(CAST(%s AS json))) "
                     "INSERT INTO sweep_basis (entry_id, due, enforceable, next_on) "
                     "SELECT CAST(i.value AS integer), g.due, g.enforceable, g.next_on "
                     "FROM g, json_array_elements_text(g.ids) i" + _UPSERT)


@dataclass(frozen=True)
class BasisRows:
    """The basis rows of the entries a sweep examined: ``groups`` as the write statements take
    them; ``fresh`` when the sweep dropped every row first (then nothing can conflict)."""

    groups: str
    fresh: bool


def basis_rows(candidates: Iterable[Candidate], ladder: Ladder, *, fresh: bool) -> BasisRows:
    """The basis rows of the entries examined today."""
    groups: dict[tuple[dt.date, bool], list[int]] = {}
    for c in candidates:
        found = groups.get((c.due, c.enforceable))
        if found is None:
            found = groups[c.due, c.enforceable] = []
        found.append(c.entry_id)
    return BasisRows(json.dumps([[due.isoformat(), enforceable, ladder.next_reach(due, enforceable).isoformat(), ids]
                                 for (due, enforceable), ids in groups.items()]), fresh)


def write_basis(cursor: Any, basis: BasisRows, *, postgresql: bool) -> None:
    """Record (or replace) ``basis`` on a DB-API cursor.

    Into a table emptied in the same transaction (the catch-up day's 52,000 rows) the rows
    go in without the upsert, whose conflict check was 40% of the statement on PostgreSQL.
    """
    sql = _POSTGRESQL_WRITE if postgresql else _SQLITE_WRITE
    cursor.execute(sql.removesuffix(_UPSERT) if basis.fresh else sql, (basis.groups,))


def drop_basis(session: Session) -> None:
    """Forget every basis row: the ladder, the calendar or what decides enforceability
    changed (or nothing was swept yet), so no row's next day can be trusted."""
    session.execute(text("DELETE FROM sweep_basis"))
