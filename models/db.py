"""Engine, sessions and migrations.

The default ledger is a SQLite file under ``var/`` in the working directory, in WAL
mode; ``DUBAN_DATABASE_URL`` selects another database (PostgreSQL is supported).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plan.errors import DubanError

if TYPE_CHECKING:  # SQLAlchemy/SQLModel cost ~0.5 s to import: only commands that use the ledger pay it
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

MIGRATIONS = Path(__file__).with_name("migrations")


def var_dir() -> Path:
    """duban's working folder (database, outbox, files, reports): ``$DUBAN_VAR`` or ./var."""
    return Path(os.environ.get("DUBAN_VAR", "var"))


def database_url() -> str:
    url = os.environ.get("DUBAN_DATABASE_URL")
    if not url:
        return f"sqlite:///{var_dir() / 'duban.db'}"
    # Accept the plain libpq form; we ship psycopg 3.
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url in _ENGINES:
        return _ENGINES[url]
    from sqlalchemy import event
    from sqlmodel import create_engine

    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _ENGINES[url] = engine
    return engine


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def current_revisions(engine: Engine) -> set[str]:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def head_revisions(engine: Engine) -> set[str]:
    # Feature branches may add their own heads; "heads" upgrades them all.
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Only one process migrates a database at a time (two first runs may start together)."""
    from sqlalchemy import text

    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(720823)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(720823)"))
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.*)$", re.MULTILINE)
_HEADS_CACHE: dict[tuple[tuple[str, int], ...], frozenset[str] | None] = {}


def _script_heads() -> frozenset[str] | None:
    """The migration heads read from the version files' ``revision``/``down_revision`` lines.

    Building alembic's ScriptDirectory imports every migration (~0.2 s per command); this
    reads a few lines instead.  None when a file does not parse plainly: the caller then
    asks alembic, so an unusual migration file can never make us skip a needed upgrade.
    """
    files = sorted(p for p in (MIGRATIONS / "versions").glob("*.py") if p.name != "__init__.py")
    key = tuple((p.name, p.stat().st_mtime_ns) for p in files)
    if key in _HEADS_CACHE:
        return _HEADS_CACHE[key]
    revisions: set[str] = set()
    parents: set[str] = set()
    heads: frozenset[str] | None = None
    for path in files:
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1:
            break
        revisions.add(revision[0])
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down[0]))
    else:
        heads = frozenset(revisions - parents) if len(revisions) == len(files) else None
    _HEADS_CACHE[key] = heads
    return heads


def _stored_revisions(engine: Engine) -> set[str] | None:
    """The revisions recorded in ``alembic_version``; None when the table is not there yet."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except DBAPIError:
        return None


def migrate(engine: Engine | None = None) -> bool:
    """Bring the schema to the newest version. Returns True when something was applied."""
    from sqlalchemy.exc import OperationalError

    engine = engine or get_engine()
    try:
        # Fast path, every command: one SELECT against the heads read from the files; alembic
        # is imported only when they differ (a first run or an upgrade).
        heads = _script_heads()
        if heads is not None and _stored_revisions(engine) == set(heads):
            return False
        from alembic import command

        if current_revisions(engine) == head_revisions(engine):
            return False
        with _migration_lock(engine):
            if current_revisions(engine) == head_revisions(engine):
                return False  # another process migrated while we waited
            with engine.begin() as conn:
                config = _alembic_config(engine)
                config.attributes["connection"] = conn
                command.upgrade(config, "heads")
    except OperationalError as err:
        raise DubanError(f"无法连接数据库 {engine.url.render_as_string(hide_password=True)}：{err.orig}",
                         "检查 DUBAN_DATABASE_URL 和数据库服务是否启动") from err
    return True


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error."""
    from sqlmodel import Session

    engine = engine or get_engine()
    migrate(engine)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def in_code_order(session: Session, column: Any) -> Any:
    """``column`` to ORDER BY as SQLite orders text (by code point), on either backend.

    PostgreSQL compares text by the database's collation (a locale such as en_US.UTF-8, which
    skips hyphens at first): ids such as ``half-year-summary`` sorted differently there, and
    the same ledger listed a unit's entries in another order on each backend.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


# PostgreSQL plans queries from statistics that autovacuum refreshes only about a minute after
# a bulk write; until then a freshly loaded 200,000-entry ledger looks empty to the planner,
# which picked nested loops for the evaluation's read (1.46 s instead of 0.2 s).
BULK_ROWS = 500


def refresh_statistics(session: Session, tables: tuple[str, ...], *, rows_written: int) -> None:
    """ANALYZE ``tables`` in the session's transaction after a bulk write on PostgreSQL (the
    way its manual advises after loading data); SQLite plans well enough without."""
    if rows_written < BULK_ROWS or session.get_bind().dialect.name != "postgresql":
        return
    from sqlalchemy import text

    session.execute(text("ANALYZE " + ", ".join(tables)))
