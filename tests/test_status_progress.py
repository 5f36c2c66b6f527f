"""`duban status --unit U` shows what the unit reported in its ledger workbook, under each entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.status_scenario import fill_ledger_row

NOTE = "已完成初稿，待局长办公会审议 [草稿] 后报送 PDF 盖章版"




@pytest.fixture
def reported(synced, cli, workdir: Path):
    book = workdir / "huangpu.xlsx"
    cli("ledger", "export", "--unit", "huangpu", "-o", str(book), "--today", "2024-07-08", ok=True)
    fill_ledger_row(book, "half-year-summary", {"责任部门": "综合科", "责任人": "李四", "进展状态": "推进中",
                                      "完成比例": 0.6, "进展说明": NOTE})
    cli("ledger", "import", str(book), "--today", "2024-07-08", ok=True)
    return synced


def test_status_of_one_unit_shows_its_progress_under_the_entry(reported, cli) -> None:
    text = cli("status", "--today", "2024-07-10", "--unit", "黄浦", ok=True).stdout
    lines = text.splitlines()
    title = next(i for i, line in enumerate(lines) if "半年度工作总结" in line)
    after = [line.strip() for line in lines[title + 1: title + 4]]
    assert after[:2] == ["责任部门：综合科　责任人：李四", "完成情况：推进中，60%（2024-07-08 单位台账报送）"]
    assert "".join(after[2:]).replace(" ", "") == f"进展说明：{NOTE}".replace(" ", "")
    assert lines[title + 1].startswith("    责任部门")  # indented under its entry, not a column
    for line in lines:
        assert cell_len(line) <= 80, line
    for word in ("[草稿]", "PDF"):  # whole, and the note's brackets are not rich markup
        assert word in text
    # entries without reported progress add nothing
    assert text.count("完成情况：") == 1


def test_status_json_carries_the_progress(reported, cli) -> None:
    result = cli("status", "--today", "2024-07-10", "--unit", "huangpu", "--json", ok=True)
    entries = {e["milestone"]: e for e in json.loads(result.stdout)["entries"]}
    assert entries["half-year-summary"]["progress"] == {
        "department": "综合科", "person": "李四", "state": "in-progress", "state_label": "推进中",
        "percent": 60, "note": NOTE, "reported_on": "2024-07-08"}
    assert entries["work-plan"]["progress"] is None


def test_status_without_unit_keeps_progress_out_of_the_table(reported, cli) -> None:
    text = cli("status", "--today", "2024-07-10", ok=True).stdout
    assert "完成情况：" not in text


def test_ids_with_all_keep_the_state_column_readable(synced, cli) -> None:
    text = cli("status", "--today", "2024-07-08", "--all", "--ids", ok=True).stdout
    lines = text.splitlines()
    assert "    pudong  half-year-summary" in lines
    assert any("已逾期 1 个工作日" in line for line in lines)  # not folded into 2-character pieces
    assert any("按时报送" in line or "未到期" in line for line in lines)
