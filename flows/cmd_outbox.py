"""``duban outbox`` (list the outbox) and ``duban outbox retry KEY`` — issue #3.

Neither starts Prefect: they only read or flip one row.
"""

from __future__ import annotations

import datetime as dt
from email.utils import getaddresses
from typing import Annotated, Any

import typer
from rich.table import Table

from flows.cli import app
from flows.console import SHANGHAI, JsonOption, actor, out, print_json
from models import outbox
from models.db import session_scope
from models.ledger import audit
from models.tables import OutboxMessage

STATE_LABELS = {"queued": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}
KIND_LABELS = {"unit-notice": "单位通知", "coordinator-list": "督导检查名单",
               "interview-proposal": "约谈建议", "digest": "进度简报"}

# No DubanGroup here: errors go up to the top-level group, which reports them once.
outbox_app = typer.Typer(
    help="发件箱：查看待发送、已发送和发送失败的邮件；重发失败的邮件。",
    invoke_without_command=True,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(outbox_app, name="outbox")

StateOption = Annotated[str | None, typer.Option(
    "--state", show_default=False,
    help="只列出这一状态的邮件：queued（待发送）| sending（发送中）"
         "| sent（已发送）| failed（发送失败）。")]


def _local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str | None:
    return value.astimezone(SHANGHAI).strftime(fmt) if value else None


def _addresses(values: list[str]) -> str:
    return "，".join(addr for _, addr in getaddresses(values))


def _as_json(row: OutboxMessage) -> dict[str, Any]:
    return {
        "key": row.key, "message_id": row.message_id, "kind": row.kind,
        "run_date": row.run_date.isoformat(), "unit": row.unit_id, "sender": row.sender,
        "to": row.to, "cc": row.cc, "subject": row.subject, "state": row.state,
        "attempts": row.attempts, "last_error": row.last_error,
        "created_at": _local(row.created_at), "next_attempt_at": _local(row.next_attempt_at),
        "sent_at": _local(row.sent_at), "timezone": "Asia/Shanghai",
    }


@outbox_app.callback(invoke_without_command=True)
def outbox_list(ctx: typer.Context, state: StateOption = None, as_json: JsonOption = False) -> None:
    """发件箱：每封邮件的键、类型、收件人、主题、状态、尝试次数和最近一次错误（时间为北京时间）。"""
    if ctx.invoked_subcommand is not None:
        return
    if state is not None and state not in outbox.STATES:
        raise typer.BadParameter(f"「{state}」不是有效的状态，可选：{' | '.join(outbox.STATES)}",
                                 param_hint="--state")
    with session_scope() as session:
        rows = outbox.list_messages(session, state=state)
    if as_json:
        print_json([_as_json(r) for r in rows])
        return
    if not rows:
        out.print("发件箱里没有邮件。" if state is None else f"发件箱里没有状态为 {state} 的邮件。")
        return
    table = Table(show_lines=False)
    for column in ("键", "类型", "收件人", "主题", "状态", "尝试", "最近错误", "时间（北京时间）"):
        table.add_column(column, overflow="fold")
    for row in rows:
        short = "%Y-%m-%d %H:%M"
        when = (f"发送于 {_local(row.sent_at, short)}" if row.sent_at
                else f"下次 {_local(row.next_attempt_at, short)}" if row.next_attempt_at
                else f"入队 {_local(row.created_at, short)}")
        table.add_row(row.key, KIND_LABELS.get(row.kind, row.kind), _addresses(row.to + row.cc),
                      row.subject,
                      STATE_LABELS.get(row.state, row.state), str(row.attempts),
                      row.last_error or "", when, style="red" if row.state == "failed" else None)
    out.print(table)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    out.print("合计：" + "，".join(f"{STATE_LABELS[s]} {counts[s]}" for s in outbox.STATES
                                if s in counts))


KeyArgument = Annotated[str, typer.Argument(help="邮件的键（见 duban outbox 的「键」列）。")]


@outbox_app.command("retry")
def outbox_retry(key: KeyArgument) -> None:
    """把一封发送失败的邮件放回待发送队列；下一次 deliver 或 run 时重新发送。"""
    with session_scope() as session:
        row = outbox.retry(session, key=key)
        audit(session, actor=actor(), action="outbox.retry", object_type="outbox",
              object_id=key, detail={"attempts": row.attempts, "last_error": row.last_error})
    out.print(f"已放回待发送队列：{key}（已尝试 {row.attempts} 次）。下一次 duban run 时重新发送。")
