"""Benchmark: render + queue N notices, then deliver them to a local SMTP server (issue #3).

Usage (from the repo root):
    .venv/bin/python bench/bench_delivery.py [--n 10000] [--database-url URL]

The SMTP server is aiosmtpd's Sink handler in its own process on a free loopback port.
Reports wall time and peak memory (RSS of this process) per phase.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="duban-bench-"))
    os.environ["DUBAN_VAR"] = str(work / "var")
    os.environ["DUBAN_DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'var' / 'duban.db'}"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c",
                               "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"])
    try:
        from sqlalchemy import text

        from models import outbox
        from models.db import get_engine, session_scope
        from notifications.compose import outbox_row
        from notifications.delivery import deliver_pending
        from notifications.render import render_notice
        from notifications.smtp import SmtpTransport
        from notifications.smtp_settings import SmtpSettings
        from plan.notice import Notice, NoticeItem, PlanInfo

        engine = get_engine()
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        info = PlanInfo("2024年上海市知识产权行政保护工作实施方案", "沪知局保〔2024〕15号",
                        "上海市知识产权局", "shszcj@126.com", "知识产权保护处",
                        (("凌捷", "23170402"), ("胡中鹤", "23170413")))
        run_date = dt.date(2024, 7, 15)
        notices = [Notice(
            kind="unit-notice", run_date=run_date, to=(f"u{i}@example.org",), cc=("lead@example.org",),
            recipient_name=f"第{i}单位", unit_id=f"u{i}", plan=info,
            items=tuple(NoticeItem(entry_id=i * 10 + j, unit_id=f"u{i}", unit_name=f"第{i}单位",
                                   milestone_id=f"m{j}", title=f"节点{j}", task_number=j + 1,
                                   task_title="任务", due=dt.date(2024, 7, 5), rung_id="overdue",
                                   rung_kind="chase", days=6, formats=("word", "pdf-stamped"),
                                   stats_table=True) for j in range(3)))
            for i in range(args.n)]
        t0 = time.perf_counter()
        rows = [outbox_row(n, render_notice(n), sender='"督办" <shszcj@126.com>') for n in notices]
        t1 = time.perf_counter()
        with session_scope() as session:
            outbox.queue(session, rows)
        t2 = time.perf_counter()
        print(f"render {args.n} notices: {t1 - t0:.2f} s; queue: {t2 - t1:.2f} s; "
              f"peak RSS {peak_mb():.0f} MB")
        settings = SmtpSettings("127.0.0.1", port, None, None, False, False, 30.0)
        t3 = time.perf_counter()
        report = deliver_pending(engine_or_session_factory=engine, transport=SmtpTransport(settings),
                                 now=dt.datetime.now(dt.UTC))
        t4 = time.perf_counter()
        print(f"deliver: {report.as_json()} in {t4 - t3:.2f} s "
              f"({args.n / (t4 - t3):.0f} messages/s) on {engine.dialect.name}; "
              f"peak RSS {peak_mb():.0f} MB")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
