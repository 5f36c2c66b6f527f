"""What the terminal shows is exactly what duban says: no emoji or markup substitution.

rich turns ":100:" into an emoji by default, which once rewrote "plan.yaml:100:7" in an
error location.
"""

from __future__ import annotations


def test_colon_codes_in_messages_are_printed_verbatim(synced, cli):
    result = cli("record", "--unit", ":100:", "--milestone", "work-plan", "--today", "2024-06-01")
    assert result.exit_code == 1
    assert "错误：没有编号为「:100:」的单位" in result.output
    assert "💯" not in result.output


def test_square_brackets_in_messages_are_not_markup(synced, cli):
    result = cli("record", "--unit", "[red]x[/red]", "--milestone", "work-plan", "--today", "2024-06-01")
    assert result.exit_code == 1
    assert "没有编号为「[red]x[/red]」的单位" in result.output
