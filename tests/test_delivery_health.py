"""What a run tells the operator (issue #11): the summary and exit code under a server
outage, one-command recovery, one-line errors from inside Prefect and from the database,
and a quiet end when the reader of our output goes away."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from models import outbox
from models.db import database_url, get_engine, session_scope
from notifications.delivery import DeliveryReport
from tests.chinese_text import flat
from tests.conftest import PG_URL, prefect_env, table_snapshot
from tests.test_delivery_smtp import deliver
from tests.test_notifications_samples import NOW, many_unit_notices, outbox_rows, queue_notices

if TYPE_CHECKING:
    from tests.smtp_server import SmtpServer

pytest_plugins = ["tests.smtp_server"]

OUTAGE = "421 4.3.2 Service not available"


def _duban() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]




def _run(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_duban(), *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_outage_exits_4_with_the_backlog_then_one_command_recovers(
        workdir: Path, prefect_api: str, smtp_server: SmtpServer, cli) -> None:
    smtp_server.handler.ehlo_reply = OUTAGE
    env = prefect_env(prefect_api, **smtp_server.env())
    first = _run(workdir, env, "run", "--today", "2024-07-08")
    assert first.returncode == 4, first.stderr
    assert "Traceback" not in first.stdout + first.stderr
    queued = len(outbox_rows())
    assert queued > 20
    assert f"邮件：新排队 {queued} 封；发送 0 封，等待重试 {queued} 封，失败 0 封。" in first.stdout
    # the line is folded at 80 columns: compare its words, not its layout
    assert re.search(rf"有{queued}封邮件等待重试：最早\d{{4}}-\d\d-\d\d\d\d:\d\d（北京时间）之后再次发送；"
                     r"运行dubanoutbox--statequeued查看原因。", flat(first.stdout)), first.stdout
    assert {r.last_error for r in outbox_rows()} == {
        f"连接 SMTP 127.0.0.1:{smtp_server.port}（明文）失败：{OUTAGE}"}

    # The outage lasts through every attempt: everything ends failed …
    when = dt.datetime.now(dt.UTC)  # the run above used the real clock
    for _ in range(4):
        when += dt.timedelta(days=1)
        deliver(when)
    assert {r.state for r in outbox_rows()} == {"failed"}
    # … and one command puts it all back; the next run sends each message exactly once.
    retried = cli("outbox", "retry", "--state", "failed", ok=True).stdout
    assert retried.startswith(f"已放回待发送队列：{queued} 封（编号 1、2、")
    smtp_server.handler.ehlo_reply = None
    assert deliver(when + dt.timedelta(minutes=1)) == DeliveryReport(sent=queued)
    assert sorted(smtp_server.handler.message_ids()) == sorted(r.message_id for r in outbox_rows())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_expected_error_inside_the_flow_is_one_line(workdir: Path, prefect_api: str) -> None:
    env = prefect_env(prefect_api, DUBAN_SMTP_HOST="127.0.0.1", DUBAN_SMTP_SSL="true",
                      DUBAN_SMTP_STARTTLS="true")
    result = _run(workdir, env, "run", "--today", "2024-07-08")
    assert result.returncode == 1
    assert result.stderr == ("错误：DUBAN_SMTP_SSL 和 DUBAN_SMTP_STARTTLS 不能同时为 true\n"
                             "提示：465 端口用 DUBAN_SMTP_SSL=true；587 端口用 DUBAN_SMTP_STARTTLS=true\n")
    # Prefect's traceback is kept, in the log file.
    assert "Traceback" in (workdir / "var" / "log" / "duban.log").read_text(encoding="utf-8")


def _fail_all(count: int) -> None:
    queue_notices(many_unit_notices(count))
    with session_scope() as session:
        rows = outbox.claim(session, now=NOW, lease=dt.timedelta(minutes=10), limit=count)
        outbox.mark_failed(session, ids=[r.id for r in rows], error=OUTAGE, permanent=True,
                           now=NOW, max_attempts=5, backoff=dt.timedelta(minutes=5))


def _retry_with(pragma: str, cli):
    """``duban outbox retry --state failed`` on connections that ``pragma`` limits: a real
    SQLite refusal, the one SQLite gives for a read-only file or a full disk."""
    engine = get_engine()

    def limit(conn, _record) -> None:
        if pragma.startswith("max_page_count"):
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")  # not one page more: disk full
        else:
            conn.execute(f"PRAGMA {pragma}")

    engine.dispose()
    event.listen(engine, "connect", limit)
    try:
        return cli("outbox", "retry", "--state", "failed")
    finally:
        event.remove(engine, "connect", limit)
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_read_only_database_is_one_line_and_exit_1(workdir: Path, db_url: str, cli) -> None:
    _fail_all(2)
    before = table_snapshot(db_url)
    result = _retry_with("query_only = ON", cli)
    assert result.exit_code == 1
    path = workdir / "var" / "duban.db"
    assert result.stderr == (f"错误：数据库 {path}：数据库文件只读（attempt to write a readonly database）\n"
                             "提示：让运行 duban 的用户对数据库文件和所在目录有写权限（例如 chmod u+w），"
                             "然后重新运行。本次运行未完成的步骤已回滚，没有写入一半的数据\n")
    assert table_snapshot(db_url) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_full_disk_is_one_line_and_exit_1(workdir: Path, db_url: str, cli) -> None:
    _fail_all(300)  # 300 audit rows do not fit in the pages the file already has
    before = table_snapshot(db_url)
    result = _retry_with("max_page_count", cli)
    assert result.exit_code == 1
    path = workdir / "var" / "duban.db"
    assert result.stderr == (f"错误：数据库 {path}：磁盘已满（database or disk is full）\n"
                             "提示：清理数据库所在磁盘的空间后重新运行。本次运行未完成的步骤已回滚，没有写入一半的数据\n")
    assert table_snapshot(db_url) == before


@pytest.mark.skipif(not PG_URL, reason="DUBAN_TEST_DATABASE_URL 未设置")
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_dropped_postgresql_connection_is_one_line_and_exit_1(workdir: Path, db_url: str, cli) -> None:
    """The server ends every new session (what a restart or an administrator does): the
    command names the fault, not SQL and a traceback, and leaves the ledger as it was."""
    _fail_all(2)
    before = table_snapshot(db_url)
    engine = get_engine()
    admin = create_engine(db_url, poolclass=NullPool)

    def terminate(conn, _record) -> None:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    engine.dispose()
    event.listen(engine, "connect", terminate)
    try:
        result = cli("outbox", "retry", "--state", "failed")
    finally:
        event.remove(engine, "connect", terminate)
        engine.dispose()
        admin.dispose()
    assert result.exit_code == 1, result.output
    shown = make_url(database_url()).render_as_string(hide_password=True)  # with its driver, as used
    first, hint = result.stderr.splitlines()
    assert first.startswith(f"错误：数据库 {shown}：连接中断（"), first
    assert hint.startswith("提示：") and hint.endswith("本次运行未完成的步骤已回滚，没有写入一半的数据"), hint
    assert "Traceback" not in result.output
    assert table_snapshot(db_url) == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_closed_pipe_ends_quietly(workdir: Path) -> None:
    queue_notices(many_unit_notices(300))  # more JSON than a pipe holds
    env = dict(os.environ)  # ``outbox`` never starts Prefect
    for key in [k for k in env if k.startswith("DUBAN_SMTP_")]:
        env.pop(key)
    proc = subprocess.Popen([*_duban(), "outbox", "--json"], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(1) == b"["
    proc.stdout.close()  # what `| head -1` does
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert stderr == b""
