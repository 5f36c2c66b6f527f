"""`duban status` shows what a unit reported in its ledger workbook but has not evidenced."""

from __future__ import annotations

import json

import openpyxl

from models.ledger_read import DONE_WITHOUT_EVIDENCE
from plan.ledger_sheet import COLUMNS, FIRST_ROW, SHEET


def _mark_done(path, milestone: str) -> None:
    """Fill the workbook as a unit would: 已完成, 100%, department and person."""
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    col = {name: i + 1 for i, name in enumerate(COLUMNS)}
    for row in range(FIRST_ROW, ws.max_row + 1):
        if ws.cell(row, col["节点编号"]).value == milestone:
            ws.cell(row, col["责任部门"]).value = "执法科"
            ws.cell(row, col["责任人"]).value = "张三"
            ws.cell(row, col["进展状态"]).value = "已完成"
            ws.cell(row, col["完成比例"]).value = 1
            break
    else:
        raise AssertionError(f"{milestone} not in the workbook")
    wb.save(path)


def _entries(cli, day: str) -> dict[str, dict]:
    result = cli("status", "--today", day, "--unit", "huangpu", "--json", ok=True)
    return {e["milestone"]: e for e in json.loads(result.output)["entries"]}


def test_done_without_evidence_is_flagged_until_a_submission_is_recorded(synced, cli, workdir):
    book = workdir / "huangpu.xlsx"
    cli("ledger", "export", "--unit", "huangpu", "-o", str(book), "--today", "2024-07-08", ok=True)
    _mark_done(book, "half-year-summary")
    cli("ledger", "import", str(book), "--today", "2024-07-08", ok=True)

    entry = _entries(cli, "2024-07-08")["half-year-summary"]
    assert entry["flag"] == DONE_WITHOUT_EVIDENCE
    assert entry["state"] == "overdue"  # a unit's word alone does not close the entry
    text = cli("status", "--today", "2024-07-08", "--unit", "huangpu", ok=True).output
    assert f"⚑ 黄浦区知识产权局 · 半年度工作总结：{DONE_WITHOUT_EVIDENCE}" in text

    cli("record", "--unit", "huangpu", "--milestone", "half-year-summary", "--date", "2024-07-09",
        "--today", "2024-07-09", ok=True)
    entry = _entries(cli, "2024-07-09")["half-year-summary"]
    assert entry["flag"] is None
    assert entry["state"] == "late"
