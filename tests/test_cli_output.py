"""What the terminal shows is exactly what duban says: no emoji or markup substitution.

rich turns ":100:" into an emoji by default, which once rewrote "plan.yaml:100:7" in an
error location.
"""

from __future__ import annotations

import pytest


def test_colon_codes_in_messages_are_printed_verbatim(synced, cli):
    result = cli("record", "--unit", ":100:", "--milestone", "work-plan", "--today", "2024-06-01")
    assert result.exit_code == 1
    assert "错误：--unit：找不到单位「:100:」" in result.output
    assert "💯" not in result.output


def test_square_brackets_in_messages_are_not_markup(synced, cli):
    result = cli("record", "--unit", "[red]x[/red]", "--milestone", "work-plan", "--today", "2024-06-01")
    assert result.exit_code == 1
    assert "错误：--unit：找不到单位「[red]x[/red]」" in result.output


@pytest.mark.parametrize("args, hint", [
    (["status", "--today", "2024-07-08"], "提示：先运行 duban sync"),
    (["ledger", "export", "--unit", "pudong", "-o", "x.xlsx"], "提示：先运行 duban sync"),
    (["inbox"], "提示：先运行 duban sync，再处理收件文件夹"),
    (["digest", "--today", "2024-07-15", "--no-email"], "提示：先运行 duban sync"),
])
def test_every_command_refuses_an_empty_ledger_the_same_way(workdir, db_url, cli, args, hint):
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert "错误：台账是空的，还没有同步方案" in result.output
    assert hint in result.output
