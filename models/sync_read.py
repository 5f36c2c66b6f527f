"""Whether the ledger already holds a plan file, without SQLAlchemy or parsing the plan.

Sync records the fingerprint of what it applied (table ``sync_state``): the plan file's
bytes and the code that turns them into ledger rows.  The same fingerprint again means the
same rows, so ``duban sync`` of an unchanged plan can say so from one sqlite3 read, and a
sync inside ``duban run`` skips the diff.  Anything else (an edited plan.yaml, another
file, an upgraded duban, pydantic or chinesecalendar, a plan built in code) gives a
different fingerprint or none, and the full diff runs.
"""

from __future__ import annotations

import hashlib
import sqlite3
from functools import cache
from importlib import metadata
from pathlib import Path

PLAN_ROW = "plan"
_ROOT = Path(__file__).resolve().parents[1]
# The code between plan.yaml's bytes and the ledger's rows.
_CODE = (*sorted((_ROOT / "plan").glob("*.py")), _ROOT / "models" / "sync.py", _ROOT / "models" / "tables.py")
_LIBRARIES = ("pydantic", "chinesecalendar", "PyYAML")


@cache
def _code_digest() -> bytes:
    digest = hashlib.sha256()
    for path in _CODE:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=-\0".encode())
    return digest.digest()


def plan_fingerprint(source_sha256: str) -> str:
    """What sync records for a plan parsed from bytes with this SHA-256."""
    return hashlib.sha256(_code_digest() + source_sha256.encode()).hexdigest()


def stored_fingerprint_sqlite(conn: sqlite3.Connection) -> str | None:
    """:func:`models.sync.stored_fingerprint` in sqlite3."""
    row = conn.execute("SELECT fingerprint FROM sync_state WHERE name = ?", (PLAN_ROW,)).fetchone()
    return None if row is None else str(row[0])
