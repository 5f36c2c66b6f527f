"""The progress display of long work: steps and counts at a terminal, silence elsewhere."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from flows.commands.console import Steps


def test_steps_are_counted_and_silent_without_a_terminal() -> None:
    sink = io.StringIO()
    with Steps("回放", console=Console(file=sink, width=80)) as steps:
        assert steps.live is False
        days = list(steps.track(["2024-07-08", "2024-07-09"], 2, "工作日"))
        steps("发送邮件")  # the step is also the callback long work can be given
    assert days == ["2024-07-08", "2024-07-09"]
    assert steps.shown == ["回放：工作日 2024-07-08（0/2）", "回放：工作日 2024-07-09（1/2）",
                           "回放：工作日完成（2/2）", "回放：发送邮件"]
    assert sink.getvalue() == ""


def test_steps_are_drawn_at_a_terminal() -> None:
    sink = io.StringIO()
    terminal = Console(file=sink, width=80, force_terminal=True, color_system=None)
    with Steps("督办周期", console=terminal, live=True) as steps:
        steps.step("扫描台账", 3, 10)
    assert "督办周期：扫描台账（3/10）" in sink.getvalue()


def test_inbox_under_a_pipe_prints_only_its_summary(synced, cli, workdir: Path) -> None:
    result = cli("inbox", "--today", "2024-07-08", ok=True)
    assert result.stderr == ""
    assert "收件文件夹：登记" not in result.stdout
    assert result.stdout.startswith("收件文件夹 ")
