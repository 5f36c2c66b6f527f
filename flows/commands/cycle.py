"""Supervision-cycle commands: ``duban run`` (the main job) and ``duban preview``."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.rule import Rule

from flows.commands.app import app
from flows.commands.console import (
    JsonOption,
    PlanOption,
    Steps,
    TodayOption,
    actor,
    out,
    print_json,
    resolve_today,
)
from flows.commands.run_health import delivery_exit_code, delivery_lines
from flows.commands.terminal import fold
from plan import load_plan
from plan.errors import DubanError


@app.command()
def run(
    today: TodayOption = None,
    plan: PlanOption = "plan.yaml",
    inbox: Annotated[str | None, typer.Option("--inbox", help="收件目录，默认 var/inbox/。")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="日期早于最近一次运行或不在方案执行期内时仍然运行（已升级的事项不会再提醒）。")] = False,
    as_json: JsonOption = False,
) -> None:
    """主作业：收件 → 同步方案 → 扫描台账并逐级提醒/催办/督办 → 发送邮件（Prefect 流程）。"""
    as_of = resolve_today(today)
    loaded = load_plan(plan)  # a broken plan is refused before Prefect starts, and changes nothing
    from flows.prefect_local import start_local_api

    start_local_api()  # Prefect's local server starts while the ledger is checked and the flow imported
    from sqlmodel import Session

    from models.db import get_engine, migrate
    from models.sweep import check_run_date

    engine = get_engine()
    migrate(engine)
    if not force:  # refused before anything is synced, read or queued
        with Session(engine) as session:
            check_run_date(session, plan=loaded, today=as_of)
    from flows.cycle import cycle
    from flows.prefect_env import run_in_foreground

    with Steps("督办周期") as steps:
        steps.step("联系邮箱 → 收件 → 同步方案 → 扫描台账 → 发送邮件（Prefect 流程）")
        summary = run_in_foreground(cycle, plan_path=plan, today=as_of.isoformat(), inbox=inbox, actor=actor())
    if as_json:
        print_json(summary)
    else:
        print_summary(summary)
    mail = summary.get("mail") or {}
    if mail.get("error"):
        # The sweep ran anyway (units are still chased); the exit code tells cron the mailbox was not read.
        raise DubanError(f"联系邮箱未能读取，本次已照常扫描和催办：{mail['error']}", mail.get("hint") or "")
    code = delivery_exit_code(summary["deliver"])
    if code:
        raise typer.Exit(code)  # mail failed or is waiting: schedulers must notice


def print_summary(summary: dict[str, Any]) -> None:
    sweep, deliver = summary["sweep"], summary["deliver"]
    day = summary["today"]
    mail = summary.get("mail")
    if mail and not mail.get("error"):
        out.print(f"联系邮箱：登记 {len(mail['recorded'])} 封，未能登记 {len(mail['unplaced'])} 封"
                  f"（运行 duban mail fetch 查看原因），归档 {mail['filed']} 封。", markup=False)
    intake = summary.get("intake")
    if intake:
        out.print(f"收件：{_intake_line(intake)}", markup=False)
        receipts = intake.get("receipts") or {}
        if receipts.get("queued"):
            out.print(f"回执：新排队 {len(receipts['queued'])} 封（每个登记了材料的单位一封）。")
    changes = sum(len(v) for part in summary["sync"].values() for v in part.values())
    out.print(f"同步：{'台账已与方案一致' if not changes else f'台账按方案更新 {changes} 处'}。")
    if not sweep["working_day"]:
        out.print(f"{day} 不是工作日：不提醒、不催办、不发送（plan.yaml calendar.send_on_non_working_days）。")
        return
    labels = sweep.get("rung_labels", {})
    fired = "，".join(f"{labels.get(k, k)} {v} 条" for k, v in sweep["escalations"].items() if v) or "无"
    out.print(fold(f"{day}：检查未完成台账条目 {sweep['entries_checked']} 条；新触发：{fired}。", out.width),
              markup=False)
    for line in delivery_lines(deliver, sweep["messages_queued"]):
        out.print(fold(line, out.width))  # markup tags are ASCII runs: never split, only counted
    if sweep["supervision_units"]:
        out.print(fold(f"督导检查名单：{len(sweep['supervision_units'])} 个单位（"
                       + "、".join(u["name"] for u in sweep["supervision_units"]) + "）。",
                       out.width, after="、"), markup=False)
    if sweep["undeliverable"]:
        names = "、".join(sweep["undeliverable"])
        out.print(f"[yellow]没有联系邮箱、无法通知：[/]{names}。请在 plan.yaml 中补充联系人。")
    _print_unmatched(sweep.get("unmatched") or [])


def _print_unmatched(unmatched: list[dict[str, str]]) -> None:
    if not unmatched:
        return
    out.print(f"未能自动登记的来件 {len(unmatched)} 个（已列入协调人当天的邮件；登记前相关单位仍按未报送督办）：",
              markup=False)
    for i, f in enumerate(unmatched, 1):
        out.print(f"  {i}. {f['path']}\n     原因：{f['reason']}\n     登记：{f['command']}", markup=False)


def _intake_line(intake: dict[str, Any]) -> str:
    """收件 in Chinese: counts, then each file this run could not place and why."""
    counts = [(label, len(intake.get(key) or [])) for key, label in (
        ("recorded", "登记"), ("duplicates", "重复"), ("unmatched", "未能自动登记"), ("skipped", "跳过临时文件"))]
    line = "，".join(f"{label} {n} 个" for label, n in counts if n) or "无新文件"
    for item in intake.get("unmatched") or []:
        line += f"\n  未能自动登记：{item['path']} — {str(item['detail']).splitlines()[0]}"
    for warning in intake.get("warnings") or []:
        line += f"\n  警告：{warning}"
    return line


@app.command()
def preview(
    today: TodayOption = None,
    unit: Annotated[str | None, typer.Option("--unit", show_default=False,
                                             help="只看发给这个单位的邮件（编号、名称或简称）。")] = None,
    plan: PlanOption = "plan.yaml",
    html: Annotated[bool, typer.Option("--html", help="显示 HTML 正文而不是纯文本。")] = False,
    as_json: JsonOption = False,
) -> None:
    """预览这一天会发出的邮件（已渲染），不发送、不记录任何东西，也不启动 Prefect。"""
    from sqlmodel import Session

    from flows.intake_record import resolve_unit
    from flows.sweep import run_sweep
    from models import ledger
    from models.db import get_engine, migrate
    from notifications.compose import default_sender, materialise, outbox_row

    as_of = resolve_today(today)
    loaded = load_plan(plan)
    unit = resolve_unit(loaded, unit) if unit else None
    engine = get_engine()
    migrate(engine)
    with Session(engine) as session:
        try:
            ledger.require_synced(session)
            if unit:
                ledger.get_unit(session, unit)
            result = run_sweep(session, plan=loaded, today=as_of, lock=False)
        finally:
            session.rollback()  # a preview records nothing
    notices = [n for n in result.notices
               if not unit or n.unit_id == unit or any(i.unit_id == unit for i in n.items)]
    # Rendered from the stored form, as delivery renders it: what is shown is what is sent.
    sender = default_sender(loaded.meta.mailbox, loaded.meta.issuer)
    rendered = [(n, materialise(SimpleNamespace(**outbox_row(n, sender=sender)))) for n in notices]
    if as_json:
        print_json([{"kind": n.kind, "key": n.key, "to": list(n.to), "cc": list(n.cc),
                     "subject": r.subject, "items": n.item_count, "text": r.text,
                     "html": r.html if html else None} for n, r in rendered])
        return
    if not result.working_day:
        out.print(f"{as_of} 不是工作日：不会发送任何邮件。")
        return
    if not rendered:
        out.print(f"{as_of}：没有需要发送的邮件。")
        return
    for notice, message in rendered:
        out.print(Rule(message.subject))
        out.print(fold(f"收件人：{', '.join(notice.to)}", out.width), markup=False)
        if notice.cc:
            out.print(fold(f"抄送：{', '.join(notice.cc)}", out.width), markup=False)
        # Folded for the screen only (lines run to ~240 cells); the mail itself is not changed.
        # HTML is shown as it is sent: it is for copying, not reading.
        out.print(message.html if html else fold(message.text, out.width), markup=False)
    out.print(f"共 {len(rendered)} 封邮件（预览，未发送、未记录）。")
