"""Statistics tables as units really fill them (issue #9, part 5)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from plan import stats_table as st
from plan.stats_sheet import value_cell
from tests.office_files import made  # noqa: F401  (session fixture)
from tests.test_stats_support import fill


@pytest.fixture
def template(synced, workdir: Path, cli) -> Path:
    path = workdir / "tpl.xlsx"
    cli("stats", "template", "--unit", "pudong", "--period", "half-year", "-o", str(path), ok=True)
    return path


def _import(cli, path: Path, *extra: str):
    return cli("stats", "import", str(path), "--today", "2024-07-08", *extra)


def test_full_width_digits_and_thousands_separators_are_read_with_a_warning(template: Path, workdir: Path,
                                                                            cli) -> None:
    path = fill(template, workdir / "t.xlsx", values={"counterfeit-patent.cases": "１２",
                                                      "trademark-infringement.cases": "1,234"})
    result = _import(cli, path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"] == [
        "统计表!C5：「１２」是全角数字，已按半角读取，读作 12",
        "统计表!C8：「1,234」含千位分隔符，已去掉逗号读取，读作 1234",
    ]
    shown = json.loads(cli("stats", "show", "--unit", "pudong", "--period", "half-year", "--json").stdout)
    assert shown["units"]["pudong"]["figures"]["trademark-infringement.cases"] == 1234


@pytest.mark.parametrize(("value", "message"), [
    ("12,34", "错误：bad.xlsx 统计表!C5：假冒专利案件·案件数（件）「12,34」含逗号，但不是正确的千位分隔写法\n"
              "提示：案件数（件）请填写不小于 0 的整数；没有案件的填 0；千位分隔应为 1,234 这样每三位一个逗号\n"),
    ("十二", "错误：bad.xlsx 统计表!C5：假冒专利案件·案件数（件）「十二」不是数字\n"
            "提示：案件数（件）请填写不小于 0 的整数；没有案件的填 0，不要写文字或单位\n"),
    ("１２件", "错误：bad.xlsx 统计表!C5：假冒专利案件·案件数（件）「１２件」含全角字符，且不是数字\n"
             "提示：案件数（件）请填写不小于 0 的整数；没有案件的填 0，不要写文字或单位\n"),
])
def test_refusals_name_the_real_cause(template: Path, workdir: Path, cli, value: str, message: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    fill(template, workdir / "bad.xlsx", values={"counterfeit-patent.cases": value})
    result = _import(cli, Path("bad.xlsx"))
    assert (result.exit_code, result.stderr) == (1, message)


def test_json_refusal_goes_to_stdout(template: Path, workdir: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(workdir)
    fill(template, workdir / "bad.xlsx", values={"patent-dispute.cases": 3, "patent-dispute.closed": 5})
    result = _import(cli, Path("bad.xlsx"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"ok": False, "file": "bad.xlsx", "problems": [{
        "cell": "统计表!C21", "message": "专利侵权纠纷行政裁决案件的结案数（5）大于案件数（3）",
        "hint": "结案数不能超过案件数，请核对这两格"}]}


def test_ascii_parentheses_and_a_renamed_sheet_are_the_same_table(template: Path, workdir: Path, cli) -> None:
    def edit(ws) -> None:
        ws["B5"] = "案件数(件)"  # half-width parentheses, as typed on an English keyboard
        ws.title = "Sheet1"  # the hidden duban sheet still proves it is our template
    path = fill(template, workdir / "t.xlsx", edit=edit)
    result = _import(cli, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("已导入：浦东新区知识产权局 2024年上半年统计表，第 1 版。")


def _seed_layout(path: Path) -> Path:
    """The notice's own attachment: title, header, rows — no 填报单位/统计期间 rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws["A1"], ws["A2"], ws["C2"] = st.TITLE, st.CATEGORY_HEADER, st.VALUE_HEADER
    row = 3
    for category, items in st.CATEGORIES:
        ws.cell(row, 1, category.name)
        for item in items:
            ws.cell(row, 2, item.label)
            ws.cell(row, 3, 2 if item.id != "closed" else 1)
            row += 1
    wb.save(path)
    return path


def test_the_seeds_own_layout_needs_unit_and_period(synced, workdir: Path, cli, monkeypatch) -> None:
    monkeypatch.chdir(workdir)
    _seed_layout(workdir / "seed.xlsx")
    refused = _import(cli, Path("seed.xlsx"))
    assert (refused.exit_code, refused.stderr) == (1, (
        "错误：seed.xlsx：没有填写填报单位\n"
        "提示：这份表没有「填报单位」一行：导入时用 --unit 指定，或把文件放在单位文件夹里、文件名写明单位\n"))
    done = _import(cli, Path("seed.xlsx"), "--unit", "徐汇区", "--period", "half-year")  # a name works too
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("已导入：徐汇区知识产权局 2024年上半年统计表，第 1 版。")
    # or from the file name, as units name their attachments
    _seed_layout(workdir / "静安区2024年上半年统计表.xlsx")
    named = _import(cli, Path("静安区2024年上半年统计表.xlsx"))
    assert named.exit_code == 0, named.output
    assert named.stdout.startswith("已导入：静安区知识产权局 2024年上半年统计表，第 1 版。")


def test_a_formula_saved_by_libreoffice_is_read_from_its_cached_value(synced, made: Path, cli) -> None:  # noqa: F811
    result = _import(cli, made / "jingan-formula.xlsx", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["warnings"] == [
        f"统计表!{value_cell('counterfeit-patent.value')}：是公式「=C5*2」，按文件中保存的计算结果「6」读取"]
