"""A database fault (read-only file, full disk, dropped connection) as an expected error.

These are not bugs: the operator can fix them, and nothing was half-written (every step
commits in its own transaction, so the failed one is rolled back).  They get one line
naming the database and the fault, a hint, and exit 1 — not SQL text and a traceback.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from models.db import database_url
from plan.errors import DubanError

# (text in the driver's message, fault, hint), first match wins; SQLite and PostgreSQL.
_FAULTS = (
    ("readonly database", "数据库文件只读",
     "让运行 duban 的用户对数据库文件和所在目录有写权限（例如 chmod u+w），然后重新运行"),
    ("database or disk is full", "磁盘已满", "清理数据库所在磁盘的空间后重新运行"),
    ("no space left on device", "磁盘已满", "清理数据库所在磁盘的空间后重新运行"),
    ("could not extend file", "磁盘已满", "清理数据库服务器磁盘的空间后重新运行"),
    ("disk i/o error", "磁盘读写错误", "检查磁盘和文件系统（dmesg），然后重新运行"),
    ("unable to open database file", "无法打开数据库文件",
     "确认 var/ 目录存在且可写，或检查 DUBAN_VAR / DUBAN_DATABASE_URL"),
    ("database is locked", "数据库被其他进程占用", "等其他 duban 命令结束后重新运行"),
    ("server closed the connection", "连接中断", "检查数据库服务是否在运行，然后重新运行"),
    ("terminating connection", "连接中断", "数据库服务终止了连接；确认服务正常后重新运行"),
    ("connection refused", "连接中断", "检查数据库服务是否在运行、DUBAN_DATABASE_URL 是否正确"),
    ("connection is closed", "连接中断", "检查数据库服务是否在运行，然后重新运行"),
    ("the connection is lost", "连接中断", "检查数据库服务是否在运行，然后重新运行"),
    ("consuming input failed", "连接中断", "检查数据库服务是否在运行，然后重新运行"),
)


def _database_name() -> str:
    try:
        url = make_url(database_url())
    except Exception:  # a malformed URL is reported elsewhere; here only a name is wanted
        return "数据库"
    if url.get_backend_name() == "sqlite":
        return f"数据库 {url.database}"
    return f"数据库 {url.render_as_string(hide_password=True)}"


def database_fault(exc: BaseException | None) -> DubanError | None:
    """The expected error for a database fault in ``exc`` (or its causes), else None."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, DBAPIError):
            text = str(exc.orig).lower()
            for needle, fault, hint in _FAULTS:
                if needle in text:
                    return DubanError(f"{_database_name()}：{fault}（{str(exc.orig).strip()}）",
                                      f"{hint}。本次运行未完成的步骤已回滚，没有写入一半的数据")
            if exc.connection_invalidated:
                return DubanError(f"{_database_name()}：连接中断（{str(exc.orig).strip()}）",
                                  "检查数据库服务是否在运行，然后重新运行。本次运行未完成的步骤已回滚")
            return None
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
