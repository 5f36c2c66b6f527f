"""One benchmark step, run in its own process so its peak memory is its own:

    python -m bench.step OP [--plan P] [--today D] [--count N] [--start D --end D]

Prints one JSON line: {"op", "seconds", "peak_mb", ...}.  ``seconds`` times the step
itself (not the interpreter start or imports); ``peak_mb`` is the process's peak RSS.
The database is ``DUBAN_DATABASE_URL`` and the working folder ``DUBAN_VAR``, as for duban.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import time
from collections.abc import Callable
from typing import Any

from models.db import get_engine, migrate, session_scope
from plan import load_plan


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def op_sync(args: argparse.Namespace) -> dict[str, Any]:
    from models.sync import sync_ledger

    migrate(get_engine())
    load_seconds, plan = timed(lambda: load_plan(args.plan))

    def sync() -> int:
        with session_scope() as session:
            diff = sync_ledger(session, plan, actor="bench")
        return len(diff.added.get("entry", []))

    seconds, added = timed(sync)
    return {"seconds": seconds, "plan_load_seconds": load_seconds, "entries": added}


def op_sweep(args: argparse.Namespace) -> dict[str, Any]:
    from flows.sweep import run_sweep

    plan = load_plan(args.plan)
    migrate(get_engine())

    server: list[float | None] = []  # the backend's CPU before and after (None on SQLite)

    def sweep() -> Any:
        with session_scope() as session:
            pid = backend_pid(session)
            server.append(backend_cpu_seconds(pid))
            result = run_sweep(session, plan=plan, today=dt.date.fromisoformat(args.today))
        server.append(backend_cpu_seconds(pid))
        return result

    cpu = time.process_time()
    seconds, result = timed(sweep)
    cpu = time.process_time() - cpu
    # On PostgreSQL much of the work is the server's: its backend's CPU is reported beside ours.
    return {"seconds": seconds, "cpu_seconds": round(cpu, 2),
            "server_cpu_seconds": server_cpu(server),
            "entries_checked": result.entries_checked, "escalations": result.escalations,
            "queued": len(result.queued)}


def server_cpu(readings: list[float | None]) -> float | None:
    """The backend's CPU seconds between the two readings (None on SQLite)."""
    before, after = readings
    return round(after - before, 2) if before is not None and after is not None else None


def backend_pid(session: Any) -> int | None:
    """The PostgreSQL backend serving ``session`` (None on SQLite, which runs in-process)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    return int(connection.connection.dbapi_connection.info.backend_pid)


def backend_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU of a local process so far, from /proc (None if it cannot be read)."""
    import os

    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:  # another host, or another user's process without permission
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def op_sweep_sheets(args: argparse.Namespace) -> dict[str, Any]:
    """``sweep`` as a real run does it (flows.steps.sweep_step): with the sheet writer, so each
    督办 message gets its printable 督办单 (.docx) written and frozen in the outbox.  The
    sheets go into a temporary folder; the time spent inside the writer is reported apart."""
    import tempfile
    from pathlib import Path

    from flows.steps import sheet_writer
    from flows.sweep import run_sweep
    from plan.supervision import SupervisionSheet

    plan = load_plan(args.plan)
    migrate(get_engine())
    spent = {"seconds": 0.0, "cpu": 0.0}
    with tempfile.TemporaryDirectory(prefix="duban-sheets-") as tmp:
        write = sheet_writer(Path(tmp))

        def write_timed(sheet: SupervisionSheet) -> Path:
            began, cpu = time.perf_counter(), time.process_time()
            path = write(sheet)
            spent["seconds"] += time.perf_counter() - began
            spent["cpu"] += time.process_time() - cpu
            return path

        def sweep() -> Any:
            with session_scope() as session:
                return run_sweep(session, plan=plan, today=dt.date.fromisoformat(args.today),
                                 sheet_writer=write_timed)

        cpu = time.process_time()
        seconds, result = timed(sweep)
        cpu = time.process_time() - cpu
        sheets = list(Path(tmp).iterdir())
        size = sum(p.stat().st_size for p in sheets)
    per_sheet = spent["cpu"] / len(sheets) if sheets else None
    return {"seconds": seconds, "cpu_seconds": round(cpu, 2), "entries_checked": result.entries_checked,
            "escalations": result.escalations, "queued": len(result.queued), "sheets": len(sheets),
            "sheets_mb": round(size / 2**20, 2), "sheet_seconds": round(spent["seconds"], 2),
            "sheet_cpu_seconds": round(spent["cpu"], 2),
            "cpu_ms_per_sheet": round(per_sheet * 1000, 2) if per_sheet is not None else None}


def op_sweep_floor(args: argparse.Namespace) -> dict[str, Any]:
    """The pure-SQL floor of ``sweep`` on the same ledger (bench/floor.py)."""
    from bench.floor import floor_sweep

    plan = load_plan(args.plan)
    engine = get_engine()
    migrate(engine)
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    pid = None if sqlite else int(raw.dbapi_connection.info.backend_pid)  # type: ignore[union-attr]
    server = backend_cpu_seconds(pid)
    cpu = time.process_time()
    try:
        seconds, result = timed(lambda: floor_sweep(raw, plan=plan, today=dt.date.fromisoformat(args.today),
                                                    placeholder="?" if sqlite else "%s"))
    finally:
        cpu = time.process_time() - cpu
        after = backend_cpu_seconds(pid)
        raw.close()
    # As for ``sweep``: this process's CPU and, on PostgreSQL, its backend's.
    return {"seconds": seconds, "cpu_seconds": round(cpu, 2),
            "server_cpu_seconds": round(after - server, 2) if server is not None and after is not None else None,
            **result}


def op_digest(args: argparse.Namespace) -> dict[str, Any]:
    import os
    from pathlib import Path

    from sqlalchemy import text

    from flows.report_jobs import run_digest

    migrate(get_engine())
    cpu = time.process_time()
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, result = timed(lambda: run_digest(plan_path=args.plan, today=dt.date.fromisoformat(args.today),
                                               email=True))
    cpu = time.process_time() - cpu
    # The PDF brief is drawn by a child process (notifications/digest_pdf.py), waited for
    # within the step: its CPU is reported beside ours.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = after.ru_utime + after.ru_stime - child.ru_utime - child.ru_stime
    # The leadership email must stay under 1 MB at any scale (capped lists, the ledger attached).
    with get_engine().connect() as conn:
        bodies = conn.execute(text("SELECT body_html, body_text FROM outbox WHERE kind = 'digest' AND run_date = :day"),
                              {"day": dt.date.fromisoformat(args.today)}).first()
    html_bytes, text_bytes = (len((b or "").encode()) for b in bodies) if bodies else (0, 0)
    return {"seconds": seconds, "cpu_seconds": round(cpu, 2), "child_cpu_seconds": round(child_cpu, 2),
            "queued": len(result.queued),
            "email_html_kb": round(html_bytes / 1024, 1), "email_text_kb": round(text_bytes / 1024, 1),
            "workbook_mb": round(os.path.getsize(result.files["workbook"]) / 2**20, 2),
            "dashboard_mb": round(sum(f.stat().st_size for f in Path(result.folder).rglob("*.html")) / 2**20, 1)}


def op_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from flows.report_jobs import run_evaluation

    migrate(get_engine())
    seconds, result = timed(lambda: run_evaluation(plan_path=args.plan, period="half-year",
                                                   today=dt.date.fromisoformat(args.today), actor="bench"))
    return {"seconds": seconds, "units_scored": len(result.scores)}


def op_deliver(args: argparse.Namespace) -> dict[str, Any]:
    """``count`` messages to a local aiosmtpd server (its own process, so it does not share
    this one's GIL), through duban's SMTP transport over one connection."""
    import os
    import socket
    import subprocess
    import sys

    from models.outbox import queue
    from notifications.delivery import deliver_pending
    from notifications.transport import transport_from_env

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                               "-l", f"127.0.0.1:{port}"])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        os.environ.update({"DUBAN_SMTP_HOST": "127.0.0.1", "DUBAN_SMTP_PORT": str(port),
                           "DUBAN_SMTP_STARTTLS": "false", "DUBAN_SMTP_FROM": "duban@bench.duban.test"})
        engine = get_engine()
        migrate(engine)
        with session_scope() as session:
            queue(session, bench_notice_rows(args.count))
        cpu = time.process_time()
        seconds, report = timed(lambda: deliver_pending(engine_or_session_factory=engine,
                                                        transport=transport_from_env(),
                                                        now=dt.datetime.now(dt.UTC)))
        cpu = time.process_time() - cpu
        helper_cpu = helpers_cpu_seconds(exclude=server.pid)
        floor_seconds, floor_cpu = raw_smtplib_floor(port)
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = report.sent / seconds if seconds else None
    floor = args.count / floor_seconds if floor_seconds else None
    return {"seconds": seconds, "sent": report.sent, "failed": report.failed,
            "messages_per_second": rate, "floor_seconds": floor_seconds,
            "floor_messages_per_second": floor,
            # CPU seconds of this process: steadier than wall time on a shared machine
            "cpu_seconds": round(cpu, 2), "floor_cpu_seconds": round(floor_cpu, 2),
            # the build-ahead helper (and the forkserver that started it), when one ran
            "helper_cpu_seconds": round(helper_cpu, 2),
            "ratio_to_floor": round(rate / floor, 2) if rate and floor else None}


def helpers_cpu_seconds(*, exclude: int) -> float:
    """CPU seconds of this process's child processes other than ``exclude`` (the sink),
    with the children they reaped: the forkserver and the build-ahead helper it forked."""
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as children:
            pids = [int(p) for p in children.read().split() if int(p) != exclude]
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def bench_notice_rows(count: int) -> list[dict[str, Any]]:
    """``count`` unit notices (three overdue items each, a Cc to the coordinators) as the
    sweep queues them: through ``outbox_row`` without bodies, so delivery renders each one
    (issue #13: measure what production sends, not pre-rendered rows)."""
    from notifications.compose import outbox_row
    from plan.notice import Notice, NoticeItem, PlanInfo

    info = PlanInfo("2024年上海市知识产权行政保护工作实施方案", "沪知局保〔2024〕15号",
                    "上海市知识产权局", "shszcj@126.com", "知识产权保护处",
                    (("凌捷", "23170402"), ("胡中鹤", "23170413")))
    run_date = dt.date(2024, 7, 8)
    rows = []
    for n in range(count):
        unit = f"u{n:05d}"
        items = tuple(NoticeItem(entry_id=n * 10 + j, unit_id=unit, unit_name=f"第{n}号单位",
                                 milestone_id=f"m{j}", title=f"2024年上半年工作总结（节点{j}）",
                                 task_number=j + 1, task_title="加强知识产权行政保护",
                                 due=dt.date(2024, 7, 5), rung_id="overdue", rung_kind="chase",
                                 days=1, formats=("word", "pdf-stamped"), stats_table=True)
                      for j in range(3))
        notice = Notice(kind="unit-notice", run_date=run_date, to=(f"{unit}@bench.duban.test",),
                        cc=("shszcj@126.com",), recipient_name=f"第{n}号单位", unit_id=unit,
                        items=items, plan=info)
        rows.append(outbox_row(notice, sender='"上海市知识产权局督办" <duban@bench.duban.test>'))
    return rows


def raw_smtplib_floor(port: int) -> tuple[float, float]:
    """The floor: the same messages, built beforehand (not timed), sent by a bare
    ``smtplib`` loop over one connection to the same sink, in the same run."""
    import smtplib

    from models.outbox import list_messages
    from notifications.compose import outgoing
    from notifications.mime import build_message

    with session_scope() as session:
        wire = [(m.from_address, m.recipients, build_message(m))
                for m in map(outgoing, list_messages(session))]
    began, cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as conn:
        for sender, recipients, data in wire:
            conn.sendmail(sender, recipients, data)
    return time.perf_counter() - began, time.process_time() - cpu


def op_replay(args: argparse.Namespace) -> dict[str, Any]:
    from flows.replay import replay

    plan = load_plan(args.plan)
    result = replay(plan, start=dt.date.fromisoformat(args.start), end=dt.date.fromisoformat(args.end),
                    source_url=None)
    return {"seconds": result.seconds, "working_days": len(result.days), "messages": result.messages}


OPS = {"sync": op_sync, "sweep": op_sweep, "sweep-sheets": op_sweep_sheets, "sweep-floor": op_sweep_floor,
       "digest": op_digest, "evaluate": op_evaluate, "deliver": op_deliver, "replay": op_replay}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.step")
    parser.add_argument("op", choices=sorted(OPS))
    parser.add_argument("--plan", default="plan.yaml")
    parser.add_argument("--today", default="2024-07-08")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--start", default="2024-05-14")
    parser.add_argument("--end", default="2024-12-31")
    args = parser.parse_args()
    result = OPS[args.op](args)
    print(json.dumps({"op": args.op, **result, "peak_mb": round(peak_mb(), 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
