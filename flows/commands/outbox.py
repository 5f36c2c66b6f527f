"""``duban outbox`` (list the outbox) and ``duban outbox retry ID|--state failed`` — #3, #11.

Neither starts Prefect: they only read or flip one row.
"""

from __future__ import annotations

import datetime as dt
from email.utils import getaddresses
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from flows.clock import SHANGHAI
from flows.commands.app import app
from flows.commands.console import JsonOption, PlanOption, actor, out, parse_date, print_json
from models.db import session_scope

if TYPE_CHECKING:
    from collections.abc import Sequence

    from models.outbox_read import OutboxRow
    from models.tables import OutboxMessage

    # The listing shows ORM rows and the plain rows read with sqlite3 alike.
    Listed = OutboxRow | OutboxMessage


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


def _recipients_by_state(row: Listed) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for address, detail in (row.recipient_states or {}).items():
        grouped.setdefault(detail.get("state", ""), []).append(address)
    return grouped


def state_label(row: Listed) -> str:
    """The state, saying so when only some recipients have the message."""
    grouped = _recipients_by_state(row)
    label = STATE_LABELS.get(row.state, row.state)
    if row.state == "sent" and grouped.get("failed"):
        return f"部分送达（{len(grouped['failed'])} 个收件人被拒收）"
    if row.state in ("queued", "sending") and grouped.get("sent"):
        return f"部分已发送（已发 {len(grouped['sent'])} 个，其余待重试）"
    return label


def _as_json(row: Listed) -> dict[str, Any]:
    return {
        "id": row.id, "key": row.key, "message_id": row.message_id, "kind": row.kind,
        "run_date": row.run_date.isoformat(), "unit": row.unit_id, "sender": row.sender,
        "to": row.to, "cc": row.cc, "subject": row.subject, "state": row.state,
        "attempts": row.attempts, "last_error": row.last_error,
        "created_at": _local(row.created_at), "next_attempt_at": _local(row.next_attempt_at),
        "sent_at": _local(row.sent_at), "timezone": "Asia/Shanghai",
        "recipients": row.recipient_states or {}, "state_label": state_label(row),
    }


@outbox_app.callback(invoke_without_command=True)
def outbox_list(ctx: typer.Context, state: StateOption = None, as_json: JsonOption = False,
                wide: Annotated[bool, typer.Option(
                    "--wide", help="每封邮件列出收件人、主题和最近错误（终端较宽时用）。")] = False,
                plan: PlanOption = "plan.yaml") -> None:
    """发件箱：每封邮件一行（编号、类型、收件单位、状态、时间，北京时间）；--wide 加上收件人、主题和错误。"""
    from models.lite import sqlite_reader
    from models.outbox_read import STATES, list_messages_sqlite

    if ctx.invoked_subcommand is not None:
        return
    if state is not None and state not in STATES:
        raise typer.BadParameter(f"「{state}」不是有效的状态，可选：{' | '.join(STATES)}",
                                 param_hint="--state")
    rows: Sequence[Listed]
    with sqlite_reader() as conn:
        if conn is not None:  # a SQLite ledger at the current schema: no SQLAlchemy to import
            rows = list_messages_sqlite(conn, state=state)
    if conn is None:
        from models import outbox

        with session_scope() as session:
            rows = outbox.list_messages(session, state=state)
    if as_json:
        print_json([_as_json(r) for r in rows])
        return
    if not rows:
        out.print("发件箱里没有邮件。" if state is None
                  else f"发件箱里没有状态为「{STATE_LABELS.get(state, state)}」的邮件。")
        return
    out.print(_wide_table(rows) if wide else _narrow_table(rows, _short_names(plan)))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    out.print("合计：" + "，".join(f"{STATE_LABELS[s]} {counts[s]}" for s in STATES
                                if s in counts))
    out.print("重发：duban outbox retry 编号（或 duban outbox retry --state failed 全部重发）。")


def _when(row: Listed, fmt: str) -> str:
    return (f"发送于 {_local(row.sent_at, fmt)}" if row.sent_at
            else f"下次 {_local(row.next_attempt_at, fmt)}" if row.next_attempt_at
            else f"入队 {_local(row.created_at, fmt)}")


def _short_names(plan: str) -> dict[str, str]:
    """Unit id → short name for the 80-column list; ids when plan.yaml cannot be read
    (the outbox is about mail already composed, and must stay readable without the plan)."""
    from plan import load_plan
    from plan.errors import DubanError

    try:
        return {u.id: u.short for u in load_plan(plan).units.values()}
    except DubanError:
        return {}


ROLE_LABELS = {"coordinator-list": "协调处室", "interview-proposal": "局领导", "digest": "局领导"}


def _narrow_table(rows: Sequence[Listed], names: dict[str, str]) -> Table:
    """One line per message at 80 columns: nothing that folds (no subject, no addresses)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("编号", "类型", "收件", "状态", "尝试", "时间（北京时间）"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("编号", "尝试") else "left")
    for row in rows:
        if row.unit_id:
            to = names.get(row.unit_id, row.unit_id)
        elif row.kind in ROLE_LABELS:  # the coordinator's and the leadership's mail: say who, in Chinese
            to = ROLE_LABELS[row.kind]
        else:
            first = _addresses(row.to).split("，")[0]
            to = first.split("@")[0] + (f" 等 {len(row.to)} 人" if len(row.to) > 1 else "")
        table.add_row(str(row.id), KIND_LABELS.get(row.kind, row.kind), to, state_label(row),
                      str(row.attempts), _when(row, "%m-%d %H:%M"),
                      style="red" if row.state == "failed" else None)
    return table


def _wide_table(rows: Sequence[Listed]) -> Table:
    table = Table(show_lines=False)
    for column in ("编号", "类型", "收件人", "主题", "状态", "尝试", "最近错误", "时间（北京时间）"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), KIND_LABELS.get(row.kind, row.kind), _addresses(row.to + row.cc),
                      row.subject, state_label(row), str(row.attempts), row.last_error or "",
                      _when(row, "%Y-%m-%d %H:%M"), style="red" if row.state == "failed" else None)
    return table


KeyArgument = Annotated[str | None, typer.Argument(
    help="邮件的编号（见 duban outbox 的「编号」列）或完整的键。", show_default=False)]
RetryStateOption = Annotated[str | None, typer.Option(
    "--state", show_default=False, help="重发这一状态的全部邮件（只能是 failed）。")]
SinceOption = Annotated[str | None, typer.Option(
    "--since", show_default=False, help="与 --state failed 合用：只重发这一天（YYYY-MM-DD）及以后的邮件。")]
UnitRetryOption = Annotated[str | None, typer.Option(
    "--unit", show_default=False, help="与 --state failed 合用：只重发给这个单位的邮件（编号、名称或简称）。")]


@outbox_app.command("retry")
def outbox_retry(key: KeyArgument = None, state: RetryStateOption = None,
                 since: SinceOption = None, unit: UnitRetryOption = None,
                 plan: PlanOption = "plan.yaml") -> None:
    """把发送失败的邮件放回待发送队列：一封（编号或键），或 --state failed 全部；下一次 run 时重新发送。"""
    from models import outbox
    from models.ledger import audit

    if (key is None) == (state is None):
        raise typer.BadParameter("写一封邮件的编号，或 --state failed（全部重发），二者选一",
                                 param_hint="KEY / --state")
    if key is not None and (since or unit):
        raise typer.BadParameter("--since 和 --unit 只能与 --state failed 合用",
                                 param_hint="--since / --unit")
    if unit is not None:
        from sqlmodel import select

        from flows.intake_record import resolve_unit
        from models.tables import OutboxMessage
        from plan import load_plan

        with session_scope() as session:  # an id the outbox holds stands, even if the plan dropped it
            held = set(session.exec(select(OutboxMessage.unit_id).distinct()).all())
        if unit not in held:
            unit = resolve_unit(load_plan(plan), unit)
    with session_scope() as session:
        if key is not None:
            rows = [outbox.retry(session, key=key)]
        else:
            rows = outbox.retry_all(session, state=state or "", since=parse_date(since),
                                    unit=unit)
        for row in rows:
            audit(session, actor=actor(), action="outbox.retry", object_type="outbox",
                  object_id=row.key,
                  detail={"attempts": row.attempts, "last_error": row.last_error})
    if key is not None:
        row = rows[0]
        out.print(f"已放回待发送队列：编号 {row.id}（已尝试 {row.attempts} 次）。"
                  "下一次 duban run 时重新发送。")
    elif rows:
        out.print(f"已放回待发送队列：{len(rows)} 封（编号 "
                  + "、".join(str(r.id) for r in rows) + "）。下一次 duban run 时重新发送。")
    else:
        out.print("没有需要重发的邮件（没有符合条件的 failed 邮件）。")
