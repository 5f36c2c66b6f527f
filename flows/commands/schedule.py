"""Scheduling commands: ``duban serve``, ``duban jobs``, ``duban deploy``, ``duban replay``.

``jobs`` and ``replay`` never import Prefect; ``serve`` warms it before jobs start;
``deploy`` talks to the Prefect server in ``PREFECT_API_URL``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.clock import SHANGHAI
from flows.commands.app import app
from flows.commands.console import (
    JsonOption,
    Steps,
    TodayOption,
    out,
    parse_date,
    print_json,
    resolve_today,
)
from models.db import database_url, get_engine, session_scope, var_dir
from plan import load_plan
from plan.errors import DubanError

PlanOption = Annotated[str, typer.Option("--plan", help="方案文件路径。")]
WEEKDAY = "一二三四五六日"
OUTCOMES = {"ok": "成功", "failed": "失败", "skipped-holiday": "跳过（非工作日）",
            "skipped-done": "跳过（今天已运行）", "skipped-later": "跳过（今天稍后按时运行）",
            "skipped-removed": "跳过（已从 plan.yaml 删除）"}
STATES = {"ok": "成功", "failed": "失败", "running": "运行中"}


def _local(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(SHANGHAI)
    return f"{local:%Y-%m-%d %H:%M} 周{WEEKDAY[local.weekday()]}"


def _serve_logging() -> None:
    """Job outcomes go to var/log/serve.log; the terminal gets warnings and errors only."""
    path = var_dir() / "log" / "serve.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("duban")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    # APScheduler's own notes (missed runs, job added) belong in the file, not the terminal.
    apscheduler = logging.getLogger("apscheduler")
    apscheduler.setLevel(logging.INFO)
    apscheduler.addHandler(handler)
    apscheduler.propagate = False


@app.command()
def serve(
    once: Annotated[bool, typer.Option(
        "--once", help="只运行此刻到期的作业（含错过的补跑），然后退出；供 cron 使用。")] = False,
    today: TodayOption = None,
    plan: PlanOption = "plan.yaml",
) -> None:
    """按 plan.yaml 的 schedules 定时运行 cycle / digest / evaluate（APScheduler，单进程）。

    同一数据库只能运行一个 serve；非工作日跳过标明“仅工作日”的作业；错过的作业在启动时补跑一次，
    同一天不会运行两次。SIGTERM / Ctrl-C 会等正在运行的作业结束后退出。
    使用 Prefect 服务器和 worker（duban deploy）时，不要再运行 serve。
    """
    from flows.scheduling import serve as scheduler

    if today is not None and not once:
        raise typer.BadParameter("--today 只能与 --once 一起使用", param_hint="--today")
    loaded = load_plan(plan)  # a broken plan is refused before anything starts
    runtime = scheduler.Runtime(plan_path=Path(plan).resolve(), engine=get_engine(),
                                clock=lambda: dt.datetime.now(SHANGHAI),
                                mode="once" if once else "serve")
    _serve_logging()
    if not once:
        out.print(f"duban serve：{len(loaded.schedules.jobs)} 个作业，日志写入 "
                  f"{var_dir() / 'log' / 'serve.log'}；Ctrl-C 停止。", markup=False)
        scheduler.serve_forever(runtime)
        return
    if today is not None:
        outcomes = scheduler.run_day(runtime, resolve_today(today))
    else:
        scheduler.serve_once(runtime)
        outcomes = runtime.outcomes
    if not outcomes:
        out.print("没有到期的作业。")
    for job_id, outcome in outcomes.items():
        out.print(f"{job_id}：{OUTCOMES.get(outcome, outcome)}", markup=False)
    if "failed" in outcomes.values():
        raise typer.Exit(1)


@app.command()
def api() -> None:
    """在本机常驻一个 Prefect API（127.0.0.1 的空闲端口），免去 run / digest / evaluate 每次启动 Prefect 本地服务器。

    地址写入 var/prefect/api.json，本目录的 duban run / digest / evaluate 发现它能应答就使用它，
    否则照常使用临时的本地服务器；自己设置的 PREFECT_API_URL 始终优先。duban serve 运行时会自己
    启动一个，不必另开。SIGTERM / Ctrl-C 停止。
    """
    from flows.prefect_api import serve_api

    serve_api(lambda line: out.print(line, markup=False))


@app.command()
def jobs(plan: PlanOption = "plan.yaml", today: TodayOption = None, as_json: JsonOption = False) -> None:
    """列出 plan.yaml 中的定时作业：下次运行时间、上次运行结果，以及 serve 是否在运行。"""
    from flows.scheduling import triggers
    from models.lite import sqlite_reader

    loaded = load_plan(plan)
    if today is None:
        now = dt.datetime.now(SHANGHAI)
    else:
        now = dt.datetime.combine(resolve_today(today), dt.time(), tzinfo=SHANGHAI)
    with sqlite_reader() as conn:
        if conn is not None:  # a SQLite ledger at the current schema: no SQLAlchemy to import
            from models.schedule_read import last_runs_sqlite, lease_holder_sqlite

            last = last_runs_sqlite(conn)
            holder = lease_holder_sqlite(conn, now=dt.datetime.now(dt.UTC))
    if conn is None:
        from models.schedule import last_runs, lease_holder

        with session_scope() as session:
            last = last_runs(session)
            holder = lease_holder(session)
    rows: list[dict[str, Any]] = []
    for job in loaded.schedules.jobs:
        run = last.get(job.id)
        rows.append({
            "id": job.id, "flow": job.flow, "schedule": triggers.describe(job),
            "cron": job.cron, "at": job.at.isoformat() if job.at else None,
            "working_days_only": job.working_days_only, "params": job.params,
            "next_run": _iso(triggers.next_fire(job, loaded, now)),
            "last_run": ({"date": run.run_date.isoformat(), "state": run.state, "error": run.error}
                         if run else None),
        })
    serving = ({"host": holder.host, "pid": holder.pid, "since": holder.since.isoformat()}
               if holder else None)
    if as_json:
        print_json({"timezone": loaded.schedules.timezone, "serve": serving, "jobs": rows})
        return
    for row in rows:
        last_run = row["last_run"]
        nxt = _local(dt.datetime.fromisoformat(row["next_run"])) if row["next_run"] else "无"
        previous = (f"{last_run['date']} {STATES.get(last_run['state'], last_run['state'])}"
                    if last_run else "无")
        # two short lines rather than one that an 80-column terminal would break mid-date
        out.print(f"{row['id']}（{row['flow']}）：{row['schedule']}\n    下次 {nxt}；上次 {previous}",
                  markup=False)
    if holder:
        out.print(f"duban serve 正在运行：主机 {holder.host}，进程 {holder.pid}，"
                  f"自 {_local(holder.since)} 起。", markup=False)
    else:
        out.print("duban serve 未运行。")


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


@app.command()
def deploy(
    pool: Annotated[str, typer.Option("--pool", help="Prefect 工作池（process 类型）。")] = "duban",
    plan: PlanOption = "plan.yaml",
    workdir: Annotated[Path | None, typer.Option(
        "--workdir", help="worker 运行流程的工作目录（含 plan.yaml 和 var/），默认方案文件所在目录。",
        show_default=False)] = None,
    write_prefect_yaml: Annotated[bool, typer.Option(
        "--write-prefect-yaml", help="不连接服务器，把同样的部署写入工作目录的 prefect.yaml。")] = False,
    today: TodayOption = None,
    as_json: JsonOption = False,
) -> None:
    """按 plan.yaml 的 schedules 在 Prefect 服务器（PREFECT_API_URL）上注册部署，由 worker 执行。

    每个作业一个部署，时间与 duban serve 完全一致（按 schedules.timezone 的时区，
    仅工作日的作业跳过节假日、含调休上班日）。
    数据库地址取 worker 环境中的 DUBAN_DATABASE_URL；SMTP 密码取 worker 环境，或 Prefect
    Secret 块 duban-smtp-password。部署后请停止 duban serve，避免同一作业被运行两次。
    """
    from flows.scheduling import deploy as deployments

    loaded = load_plan(plan)
    folder = (workdir or Path(plan).resolve().parent).resolve()
    since = resolve_today(today)
    if write_prefect_yaml:
        import yaml

        specs = deployments.deployment_specs(loaded, workdir=folder, since=since)
        target = folder / "prefect.yaml"
        target.write_text("# 由 duban deploy --write-prefect-yaml 按 plan.yaml 生成；请勿手改，"
                          "改 plan.yaml 后重新生成。\n"
                          + yaml.safe_dump(deployments.prefect_yaml(specs, pool=pool, workdir=folder),
                                           allow_unicode=True, sort_keys=False), encoding="utf-8")
        out.print(f"已写入 {target}：{len(specs)} 个部署。在该目录运行 prefect deploy --all 注册。",
                  markup=False)
        return
    if not os.environ.get("PREFECT_API_URL"):
        raise DubanError("没有设置 PREFECT_API_URL，不知道把部署注册到哪个 Prefect 服务器",
                         "先运行 prefect server start，再 export PREFECT_API_URL=http://127.0.0.1:4200/api")
    from flows.prefect_env import configure_prefect

    configure_prefect()
    _check_pool(pool)
    specs = deployments.deployment_specs(loaded, workdir=folder, since=since,
                                         smtp_secret=deployments.smtp_secret_exists())
    ids = deployments.apply(specs, pool=pool)
    summary = [{"deployment": spec.full_name, "id": ident, "parameters": spec.parameters,
                "schedules": [s.as_yaml() for s in spec.schedules]}
               for spec, ident in zip(specs, ids, strict=True)]
    if as_json:
        print_json({"pool": pool, "workdir": str(folder), "deployments": summary})
        return
    for spec in specs:
        count = sum(s.rrule.count(",") + 1 for s in spec.schedules if s.rrule)
        when = (f"cron {spec.schedules[0].cron}" if spec.schedules and spec.schedules[0].cron
                else f"{count} 个运行时间" if count else "无（仅手动运行）")
        out.print(f"{spec.full_name}：{when}", markup=False)
    out.print(f"已在工作池 {pool} 注册 {len(specs)} 个部署（工作目录 {folder}）。"
              f"启动 worker：prefect worker start --pool {pool}", markup=False)


def _check_pool(pool: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        failure = client.api_healthcheck()
        if failure is not None:
            raise DubanError(f"无法连接 Prefect 服务器 {os.environ['PREFECT_API_URL']}：{failure}",
                             "确认 prefect server start 正在运行、PREFECT_API_URL 地址正确")
        try:
            work_pool = client.read_work_pool(pool)
        except ObjectNotFound:
            raise DubanError(f"Prefect 工作池「{pool}」不存在",
                             f"先运行 prefect work-pool create {pool} --type process") from None
    if work_pool.type != "process":
        raise DubanError(f"工作池「{pool}」的类型是 {work_pool.type}，不是 process",
                         f"新建一个：prefect work-pool create {pool}-process --type process")


@app.command()
def replay(
    from_: Annotated[str, typer.Option("--from", help="开始日期 YYYY-MM-DD。", show_default=False)],
    to: Annotated[str, typer.Option("--to", help="结束日期 YYYY-MM-DD（含）。", show_default=False)],
    plan: PlanOption = "plan.yaml",
    details: Annotated[bool, typer.Option("--details", help="列出每封邮件的收件人和主题。")] = False,
    as_json: JsonOption = False,
) -> None:
    """回放：按当前 plan.yaml，逐个工作日重算 cycle 会发出哪些邮件（不发送、不改动台账）。

    在临时数据库中同步方案、带入真实台账的报送记录（按报送日期生效），然后逐日扫描；
    与真实发件箱当天实际发出的数量并列显示。用于查看修改方案后会有什么不同。
    """
    from flows.replay import replay as run_replay

    start, end = parse_date(from_), parse_date(to)
    assert start is not None and end is not None
    if end < start:
        raise typer.BadParameter(f"结束日期 {end} 早于开始日期 {start}", param_hint="--to")
    loaded = load_plan(plan)
    with Steps("回放") as steps:
        result = run_replay(loaded, start=start, end=end, source_url=_source_ledger(),
                            progress=lambda days, total: steps.track(days, total, "工作日"))
    if as_json:
        print_json(result.as_json())
        return
    from plan.ladder import rung_labels as labels_for

    rung_labels = labels_for(loaded.escalation.rungs)
    _print_replay(result, details, rung_labels)


def _source_ledger() -> str | None:
    """The real ledger to read submissions from, if there is one (never created here)."""
    url = database_url()
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[-1])
        return url if path.is_file() else None
    return url


def _print_replay(result: Any, details: bool, rung_labels: dict[str, str]) -> None:
    for day in result.days:
        if not day.messages and not day.escalations and not day.actually_sent:
            continue
        fired = "，".join(f"{rung_labels.get(k, k)} {v} 条" for k, v in day.escalations.items()) or "无"
        sent = "" if day.actually_sent is None else f"；实际发出 {day.actually_sent} 封"
        out.print(f"{day.day} 周{WEEKDAY[day.day.weekday()]}：未完成 {day.entries_checked} 条，"
                  f"新触发 {fired}；回放邮件 {len(day.messages)} 封{sent}", markup=False)
        if details:
            from flows.commands.outbox import KIND_LABELS as MAIL_KINDS

            for message in day.messages:
                kind = MAIL_KINDS.get(message["kind"], message["kind"])
                out.print(f"    [{kind}] {', '.join(message['to'])}：{message['subject']}",
                          markup=False)
    out.print(f"{result.start} 至 {result.end}：{len(result.days)} 个工作日，回放邮件 {result.messages} 封；"
              f"带入报送/免报记录 {result.submissions_copied} 条；用时 {result.seconds:.1f} 秒。"
              "（未发送任何邮件，真实台账未改动）", markup=False)
