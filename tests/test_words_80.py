"""What a coordinator reads at an 80-column terminal (#14): names instead of ids, and long
messages and mail bodies folded for the screen without cutting a word, id or path."""

from __future__ import annotations

import json
import re

from rich.cells import cell_len
from typer.testing import CliRunner

from flows.cli import app
from tests.chinese_text import flat
from tests.conftest import PLAN

WIDTH = 80
ASCII_RUN = re.compile(r"[\x21-\x7e]+")


def _run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(WIDTH)}, catch_exceptions=False)


def _fits(text: str) -> None:
    wide = [line for line in text.splitlines() if cell_len(line) > WIDTH]
    assert not wide, wide


def _whole(original: str, printed: str) -> None:
    """Every id, key, path and command of ``original`` is on one printed line."""
    for run in ASCII_RUN.findall(original):
        assert run in printed, run


def test_record_and_waive_name_the_milestone_by_its_title(synced) -> None:
    done = _run("record", "--unit", "徐汇区", "--milestone", "半年度", "--date", "2024-07-04",
                "--today", "2024-07-08")
    assert done.exit_code == 0, done.output
    assert flat(done.stdout).startswith(flat("已登记：徐汇区知识产权局 · 半年度工作总结，报送日期 2024-07-04"))
    assert "half-year-summary" not in done.stdout and "xuhui" not in done.stdout
    _fits(done.stdout)

    as_json = json.loads(_run("record", "--unit", "浦东", "--milestone", "半年度", "--today", "2024-07-08",
                              "--json").stdout)
    assert (as_json["unit"], as_json["milestone"]) == ("pudong", "half-year-summary")  # scripts keep ids

    waived = _run("waive", "--unit", "huangpu", "--milestone", "t11-paris-2024", "--reason", "不承担")
    assert waived.exit_code == 0, waived.output
    assert "t11-paris-2024" not in waived.stdout and "奥林匹克标志保护" in waived.stdout


def test_check_folds_every_problem_at_80_columns(monkeypatch) -> None:
    from plan import load_plan

    monkeypatch.chdir(PLAN.parent)
    plan = load_plan("plan.yaml")  # as check names it: plan.yaml:44:5
    result = _run("check", "--verbose")
    assert result.exit_code == 0, result.output
    _fits(result.stderr)
    lines = result.stderr.splitlines()
    assert any(cell_len(str(w).split("\n")[0]) > WIDTH for w in plan.warnings)  # there was folding to do
    for warning in plan.warnings:
        head, *hint = str(warning).split("\n")
        assert any(line.startswith(head.split(": ", 2)[0] + f": 警告: {warning.path}:") for line in lines)
        if hint:  # the 提示 starts its own indented line
            assert any(line.startswith("    提示：" + hint[0].strip()[3:6]) for line in lines)
        _whole(str(warning), result.stderr)
    assert flat("".join(map(str, plan.warnings))) in flat(result.stderr)


def test_preview_folds_the_body_for_the_screen_only(synced) -> None:
    shown = _run("preview", "--today", "2024-07-08", "--unit", "pudong")
    assert shown.exit_code == 0, shown.output
    _fits(shown.stdout)
    [mail] = json.loads(_run("preview", "--today", "2024-07-08", "--unit", "pudong", "--json").stdout)[:1]
    assert max(cell_len(line) for line in mail["text"].splitlines()) > WIDTH  # the mail is not folded
    assert flat(mail["text"]) in flat(shown.stdout)
    _whole(mail["text"], shown.stdout)


def test_request_list_keeps_its_dates_whole_at_80_columns(synced) -> None:
    added = _run("request", "add", "--unit", "政策法规处", "--today", "2024-07-08",
                 "--title", "关于在重大展会期间开展知识产权保护专项行动的请示")
    assert added.exit_code == 0, added.output
    _fits(added.stdout)
    listed = _run("request", "list")
    assert listed.exit_code == 0, listed.output
    _fits(listed.stdout)
    assert "…" not in listed.stdout  # was "2024-07-…": a date cut to fit
    assert "请示办理（2024 年）" in listed.stdout and "07-22" in listed.stdout and "政策法规处" in listed.stdout
