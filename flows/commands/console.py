"""Shared pieces of the command line: consoles, dates, JSON output, the actor."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from flows.clock import today_in_shanghai
from flows.commands.terminal import SafeConsole

out = SafeConsole(highlight=False, soft_wrap=True, emoji=False)  # "plan.yaml:100:7" must not become 💯
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        example = today_in_shanghai().isoformat()  # an example from the user's own year
        raise typer.BadParameter(f"「{value}」不是有效的日期，请写成 YYYY-MM-DD，例如 {example}") from None


def _check_date(value: str | None) -> str | None:
    """Refuse a bad --today while parsing, so click names the option (exit 2)."""
    parse_date(value)
    return value


TodayOption = Annotated[
    str | None,
    typer.Option("--today", help="按这一天运行（YYYY-MM-DD），默认今天（北京时间）。", show_default=False,
                 callback=_check_date),
]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON，供脚本读取。")]
PlanArgument = Annotated[str, typer.Argument(help="方案文件路径。")]
PlanOption = Annotated[str, typer.Option("--plan", help="方案文件路径。")]
UNIT_HELP = "单位：编号、名称或简称均可，例如 pudong、浦东新区、浦东（duban units 列出全部）。"
UnitOption = Annotated[str | None, typer.Option("--unit", help=UNIT_HELP, show_default=False)]
RequiredUnitOption = Annotated[str, typer.Option("--unit", help=UNIT_HELP, show_default=False)]
MilestoneOption = Annotated[str, typer.Option(
    "--milestone", show_default=False,
    help="节点：编号或名称（开头几个字即可），例如 half-year-summary、半年度（duban milestones 列出全部）。")]


T = TypeVar("T")


class Steps:
    """Steps and counts of long work (run, digest, evaluate, replay, inbox) on stderr, for a
    person at a terminal; silent when output goes to cron, a pipe or a test, so what a
    script reads never changes.  ``step`` is also the callback long work can be given."""

    def __init__(self, title: str, *, live: bool | None = None, console: Console | None = None) -> None:
        self.title = title
        self.console = console or err
        self.live = (self.console.is_terminal and out.is_terminal) if live is None else live
        self.shown: list[str] = []  # every line the display showed, in order
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Steps:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                                      transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=None)
        return self

    def step(self, label: str, done: int | None = None, total: int | None = None) -> None:
        text = f"{self.title}：{label}" + (f"（{done}/{total}）" if total is not None else "")
        self.shown.append(text)
        if self._progress is not None:
            self._progress.update(self._task, description=text, completed=done or 0, total=total)

    __call__ = step

    def track(self, items: Iterable[T], total: int, label: str) -> Iterator[T]:
        """Each item, counted as it is reached: 回放：2024-07-08（3/40）."""
        for done, item in enumerate(items):
            self.step(f"{label} {item}", done, total)
            yield item
        self.step(f"{label}完成", total, total)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


def resolve_today(value: str | None) -> dt.date:
    return parse_date(value) or today_in_shanghai()


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def actor() -> str:
    """Who is acting, for the audit log: $DUBAN_ACTOR, else the login name."""
    try:
        return os.environ.get("DUBAN_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
