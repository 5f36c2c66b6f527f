"""``duban mail fetch``: read the contact mailbox, record what units sent, queue 回执."""

from __future__ import annotations

import typer

from flows.commands.app import DubanGroup, app
from flows.commands.console import JsonOption, PlanOption, TodayOption, actor, err, out, print_json, resolve_today
from models.db import get_engine, migrate
from plan import load_plan
from plan.errors import DubanError

mail_app = typer.Typer(cls=DubanGroup, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
                       help="联系邮箱（IMAP）：读取各单位发到联系邮箱的材料。")
app.add_typer(mail_app, name="mail")

OUTCOME_LABELS = {"recorded": "已登记", "partial": "部分登记", "unplaced": "未能登记"}


@mail_app.command("fetch")
def fetch(today: TodayOption = None, plan: PlanOption = "plan.yaml", as_json: JsonOption = False) -> None:
    """读取联系邮箱的新邮件：按发件地址认单位、按主题和附件认材料并登记，已登记的移到「duban-已登记」文件夹，向报送单位发回执。"""
    from flows.mail_fetch import fetch_mail
    from flows.receipts import mail_acknowledgements, queue_receipts

    loaded = load_plan(plan)
    day = resolve_today(today)
    migrate(get_engine())
    report = fetch_mail(plan=loaded, today=day, actor=actor())
    acks, senders = mail_acknowledgements(today=day)
    receipts = queue_receipts(loaded, today=day, acks=acks, senders=senders)
    new_unplaced = report.by("unplaced", "partial")
    if as_json:
        print_json({**report.as_json(), "receipts": receipts})
    else:
        for m in report.messages:
            if m.outcome == "seen":
                continue
            who = loaded.units[m.unit].name if m.unit in loaded.units else m.sender
            out.print(f"{OUTCOME_LABELS[m.outcome]}：{who}「{m.subject or '（无主题）'}」", markup=False)
            for f in m.files:
                if f["outcome"] != "unmatched":
                    out.print(f"  {f['name']} — {f['detail']}", markup=False)
            if m.reason:
                out.print(f"  原因：{m.reason}", markup=False)
        for name in receipts["unreachable"]:
            err.print(f"警告：{name} 没有联系邮箱，无法发送回执。", markup=False)
        seen = len(report.by("seen"))
        out.print(f"联系邮箱 {report.mailbox}：新邮件 {len(report.messages) - seen} 封"
                  f"（登记 {len(report.by('recorded', 'partial'))} 封，未能登记 {len(report.by('unplaced'))} 封），"
                  f"以前已读 {seen} 封；归档 {report.filed} 封；新排队回执 {len(receipts['queued'])} 封。",
                  markup=False)
    if new_unplaced:
        raise DubanError(f"有 {len(new_unplaced)} 封邮件未能（全部）登记，已留在邮箱中或列入协调人每日邮件",
                         "原因见上；核实后把附件放入 var/inbox/<单位编号>/，或把发件地址加入该单位的 contacts")
