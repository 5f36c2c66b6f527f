"""What ``duban run`` says about delivery, and its exit code, from the deliver report.

The exit code tells cron and schedulers what a person would want to know: 0 when every
message went; :data:`DELIVERY_EXIT` (4) when a message failed this run or mail is still
waiting (a server outage, a 4xx, a backoff).  1 stays "the input is wrong", 3 "a bug".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.clock import SHANGHAI

DELIVERY_EXIT = 4


def delivery_lines(deliver: dict[str, Any], queued: int) -> list[str]:
    """The summary lines (Chinese, rich markup) for one run's delivery."""
    waiting = int(deliver.get("waiting", deliver.get("retrying", 0)) or 0)
    line = (f"邮件：新排队 {queued} 封；发送 {deliver.get('sent', 0)} 封，"
            f"等待重试 {waiting} 封，失败 {deliver.get('failed', 0)} 封。")
    lines = [line]
    if waiting:
        when = deliver.get("next_attempt_at")
        due = (f"最早 {dt.datetime.fromisoformat(when).astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
               "（北京时间）之后" if when else "下一次运行时")
        partial = deliver.get("partial", 0)
        extra = f"（其中 {partial} 封已发给部分收件人，只重发给其余收件人）" if partial else ""
        lines.append(f"[yellow]有 {waiting} 封邮件等待重试{extra}[/]：{due}再次发送；"
                     "运行 duban outbox --state queued 查看原因。")
    if deliver.get("failed"):
        lines.append("[red]有邮件发送失败[/]：运行 duban outbox --state failed 查看原因，"
                     "修复后 duban outbox retry --state failed 全部重发。")
    return lines


def delivery_exit_code(deliver: dict[str, Any]) -> int:
    waiting = int(deliver.get("waiting", deliver.get("retrying", 0)) or 0)
    return DELIVERY_EXIT if deliver.get("failed") or waiting else 0
