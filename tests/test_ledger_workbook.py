"""The unit ledger workbook (台账): export → fill → import, with real .xlsx files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from models import intake
from models.db import session_scope
from tests.conftest import table_snapshot


@pytest.fixture
def exported(synced, workdir: Path, cli) -> Path:
    path = workdir / "pudong-台账.xlsx"
    cli("ledger", "export", "--unit", "pudong", "-o", str(path), "--today", "2024-07-08", ok=True)
    return path


def _rows(path: Path) -> dict[str, int]:
    """milestone id → its row number in the 台账 sheet."""
    ws = openpyxl.load_workbook(path)["台账"]
    return {ws.cell(r, 3).value: r for r in range(4, ws.max_row + 1)}


def _edit(path: Path, target: Path, cells: dict[str, Any]) -> Path:
    wb = openpyxl.load_workbook(path)
    ws = wb["台账"]
    for cell, value in cells.items():
        ws[cell] = value
    wb.save(target)
    return target


def test_export_is_prefilled_protected_and_has_drop_downs(exported: Path, synced) -> None:
    wb = openpyxl.load_workbook(exported)
    ws = wb["台账"]
    assert ws["A1"].value == "工作台账：浦东新区知识产权局"
    assert [c.value for c in ws[3]] == ["条目编号", "任务", "节点编号", "节点名称", "截止日期", "当前状态",
                                        "责任部门", "责任人", "进展状态", "完成比例", "进展说明"]
    rows = _rows(exported)
    owed = {o.milestone for o in synced.obligations() if o.unit == "pudong"}
    assert set(rows) == owed
    plan_row = rows["work-plan"]
    assert ws.cell(plan_row, 5).value.date().isoformat() == "2024-06-05"
    assert ws.cell(plan_row, 6).value == "已逾期"
    assert ws.protection.sheet
    assert ws.cell(plan_row, 1).protection.locked and ws.cell(plan_row, 6).protection.locked
    assert all(ws.cell(plan_row, c).protection.locked is False for c in range(7, 12))
    lists = {dv.type: dv for dv in ws.data_validations.dataValidation}
    assert lists["list"].formula1 == '"未启动,推进中,已完成"'
    assert (lists["decimal"].formula1, lists["decimal"].formula2) == ("0", "1")
    assert ws.cell(plan_row, 10).number_format == "0%"
    assert wb["duban"].sheet_state == "hidden" and wb["duban"]["B3"].value == "pudong"


def test_round_trip_without_edits_changes_nothing(exported: Path, cli, db_url: str) -> None:
    before = table_snapshot(db_url)
    result = cli("ledger", "import", str(exported), "--today", "2024-07-08")
    assert result.stdout == "浦东新区知识产权局 的工作台账与已登记的进展相同，没有变化。\n"
    assert table_snapshot(db_url) == before


def test_edits_are_recorded_and_survive_the_next_round_trip(exported: Path, workdir: Path, cli,
                                                           db_url: str) -> None:
    rows = _rows(exported)
    done, busy = rows["t08-cste"], rows["t05-annual"]
    filled = _edit(exported, workdir / "filled.xlsx", {
        f"G{done}": "执法大队", f"H{done}": "张三", f"I{done}": "已完成", f"J{done}": 1,
        f"K{done}": "驻展三天\n=处理投诉 5 件",  # text that looks like a formula stays text
        f"G{busy}": "商标科", f"I{busy}": "推进中", f"J{busy}": 0.6})
    result = cli("ledger", "import", str(filled), "--today", "2024-07-09")
    assert result.exit_code == 0, result.output
    assert result.stdout == ("已导入 浦东新区知识产权局 的工作台账：2 条进展更新，34 条无变化。\n"
                             "其中 1 条标为已完成但尚未登记报送材料（已报完成，缺少佐证），仍按未完成督办。\n")
    with session_scope() as session:
        progress = intake.current_progress(session, unit_id="pudong")
        flags = intake.progress_flags(session)
        owned = {m: e for e, m in intake.owned_entries(session, unit_id="pudong").items()}
    cste = progress[owned["t08-cste"]]
    assert (cste.department, cste.person, cste.state, cste.percent, cste.note) == (
        "执法大队", "张三", "done", 100, "驻展三天\n=处理投诉 5 件")
    assert progress[owned["t05-annual"]].percent == 60
    assert flags[owned["t08-cste"]] == "已报完成，缺少佐证"
    # the entry is not closed by the workbook
    status = json.loads(cli("status", "--unit", "pudong", "--today", "2024-07-08", "--json", ok=True).stdout)
    assert next(e for e in status["entries"] if e["milestone"] == "t08-cste")["state"] == "overdue"

    # a fresh export carries the recorded progress and the flag; re-importing it changes nothing
    again = workdir / "again.xlsx"
    cli("ledger", "export", "--unit", "pudong", "-o", str(again), "--today", "2024-07-10", ok=True)
    ws = openpyxl.load_workbook(again)["台账"]
    assert ws[f"K{done}"].value == "驻展三天\n=处理投诉 5 件" and ws[f"K{done}"].data_type == "s"
    assert ws[f"F{done}"].value == "已逾期；已报完成，缺少佐证"
    before = table_snapshot(db_url)
    assert "没有变化" in cli("ledger", "import", str(again), "--today", "2024-07-10", ok=True).stdout
    assert table_snapshot(db_url) == before

    # evidence recorded: the flag goes
    cli("record", "--unit", "pudong", "--milestone", "t08-cste", "--date", "2024-07-10", ok=True)
    with session_scope() as session:
        assert owned["t08-cste"] not in intake.progress_flags(session)


def test_history_of_updates_is_kept(exported: Path, workdir: Path, cli, db_url: str) -> None:
    row = _rows(exported)["t05-annual"]
    cli("ledger", "import", str(_edit(exported, workdir / "a.xlsx", {f"I{row}": "推进中", f"J{row}": 0.3})),
        "--today", "2024-07-09", ok=True)
    cli("ledger", "import", str(_edit(exported, workdir / "b.xlsx", {f"I{row}": "推进中", f"J{row}": 0.7})),
        "--today", "2024-08-09", ok=True)
    updates = sorted(table_snapshot(db_url)["progress_update"], key=lambda r: r[0])
    assert [(u[6], u[8], str(u[9])) for u in updates] == [(30, False, "2024-07-09"), (70, True, "2024-08-09")]
    assert {u[2] for u in updates} == {"pudong"}  # the author unit


def test_export_for_all_units_writes_a_folder(synced, workdir: Path, cli) -> None:
    result = cli("ledger", "export", "-o", "ledgers", "--today", "2024-07-08")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (workdir / "ledgers").iterdir())
    assert "pudong-浦东新区知识产权局-工作台账.xlsx" in files
    assert len(files) == len({o.unit for o in synced.obligations()})


BAD: list[tuple[str, str, Any, str]] = [
    ("state", "I", "完成了",
     "错误：bad.xlsx 台账!I{row}：进展状态「完成了」无法识别\n提示：从下拉列表中选择：未启动、推进中、已完成\n"),
    ("percent-range", "J", 1.5,
     "错误：bad.xlsx 台账!J{row}：完成比例 150% 不在 0%–100% 之间\n提示：填写 0% 到 100% 之间的整数百分比，例如 60%\n"),
    ("percent-text", "J", "大半",
     "错误：bad.xlsx 台账!J{row}：完成比例「大半」不是百分比\n提示：填写 0% 到 100% 之间的整数百分比，例如 60%\n"),
    ("formula", "G", "=A1",
     "错误：bad.xlsx 台账!G{row}：是公式「=A1」，这里要直接填写内容\n提示：把公式换成文字或数值后再导入\n"),
    ("milestone-changed", "C", "work-plan",
     "错误：bad.xlsx 台账!C{row}：节点编号应为「t05-annual」，实际是「work-plan」\n"
     "提示：不要修改灰色列，也不要增加行；请重新导出台账后填写\n"),
    ("foreign-entry", "A", 1,
     "错误：bad.xlsx 台账!A{row}：条目编号 1 不是该单位的台账条目\n"
     "提示：不要修改灰色列，也不要增加行；请重新导出台账后填写\n"),
]


@pytest.mark.parametrize(("column", "value", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_workbook_is_refused(exported: Path, workdir: Path, cli, db_url: str, column: str, value: Any,
                                 expected: str) -> None:
    row = _rows(exported)["t05-annual"]
    _edit(exported, workdir / "bad.xlsx", {f"{column}{row}": value, f"I{row + 1}": "推进中"})
    before = table_snapshot(db_url)
    result = cli("ledger", "import", "bad.xlsx")
    assert (result.exit_code, result.stderr) == (1, expected.format(row=row))
    assert table_snapshot(db_url) == before  # the valid edit on the next row was not recorded either


def test_done_with_partial_percent_and_added_row_are_listed_together(exported: Path, workdir: Path, cli,
                                                                    db_url: str) -> None:
    rows = _rows(exported)
    last = max(rows.values())
    row = rows["t05-annual"]
    _edit(exported, workdir / "bad.xlsx", {f"I{row}": "已完成", f"J{row}": 0.8, f"G{last + 1}": "新增一行"})
    before = table_snapshot(db_url)
    result = cli("ledger", "import", "bad.xlsx")
    assert result.exit_code == 1
    assert result.stderr == (
        "错误：bad.xlsx 有 2 处错误，未导入任何内容：\n"
        f"  台账!J{row}：进展状态为已完成，但完成比例是 80%（已完成的填 100%，否则把进展状态改为推进中）\n"
        f"  台账!A{last + 1}：这一行没有条目编号（是新增的行？）"
        "（不要修改灰色列，也不要增加行；请重新导出台账后填写）\n"
        "提示：按每条说明改正后重新导入\n")
    assert table_snapshot(db_url) == before


def test_workbook_of_another_unit_is_refused(exported: Path, cli, db_url: str) -> None:
    before = table_snapshot(db_url)
    result = cli("ledger", "import", str(exported.name), "--unit", "xuhui")
    assert result.exit_code == 1
    assert result.stderr == (
        "错误：pudong-台账.xlsx 台账!A1：这是「浦东新区知识产权局」（pudong）的台账，"
        "但--unit 指定的单位是「徐汇区知识产权局」（xuhui）\n"
        "提示：确认台账属于哪个单位，放到该单位的文件夹后重新导入\n")
    assert table_snapshot(db_url) == before


def test_a_statistics_table_is_not_a_ledger(synced, workdir: Path, cli) -> None:
    cli("stats", "template", "--unit", "pudong", "-o", "t.xlsx", ok=True)
    result = cli("ledger", "import", "t.xlsx")
    assert (result.exit_code, result.stderr) == (
        1, "错误：t.xlsx：不是 duban 导出的工作台账（缺少「台账」表或隐藏的 duban 表）\n"
           "提示：请用 duban ledger export 导出的台账填写后再导入\n")
