"""Ids are ordered by code point on both backends (``models.db.in_code_order``).

SQLite compares text byte-wise.  PostgreSQL follows the column's collation, which on most
servers is a locale's (en_US.UTF-8, zh_CN.UTF-8…) that skips hyphens and folds case at first:
the same ledger would list its rows in another order.  The PostgreSQL side is checked on a
column with an ICU locale collation, whatever the test database's own collation is.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import column, select, table, text
from sqlmodel import Session

from models.db import get_engine, in_code_order

IDS = ["ab", "a-c", "aB", "a_b", "Ab", "a c", "a0", "淮安", "huangpu", "half-year-summary", "halfyear"]


def test_ids_come_in_code_point_order_whatever_the_collation(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "var").mkdir(exist_ok=True)
    postgresql = db_url.startswith("postgresql")
    with Session(get_engine()) as session:
        collate = ' COLLATE "en-US-x-icu"' if postgresql else ""
        session.execute(text(f"CREATE TEMPORARY TABLE code_order_probe (id VARCHAR{collate})"))
        session.execute(text("INSERT INTO code_order_probe (id) VALUES (:id)"), [{"id": i} for i in IDS])
        probe = table("code_order_probe", column("id"))
        ordered = list(session.execute(select(probe.c.id).order_by(in_code_order(session, probe.c.id))).scalars())
        assert ordered == sorted(IDS)
        if postgresql:  # the locale's own order differs, or this test would show nothing
            plain = list(session.execute(select(probe.c.id).order_by(probe.c.id)).scalars())
            assert plain != sorted(IDS)
        session.rollback()
