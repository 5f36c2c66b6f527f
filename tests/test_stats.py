"""The case statistics table: template, import, show, export, history (real .xlsx files)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from models import intake
from models.db import session_scope
from plan import stats_table as st
from tests.conftest import table_snapshot
from tests.test_stats_support import HALF_YEAR, as_decimal_figures, fill


@pytest.fixture
def template(synced, workdir: Path, cli) -> Path:
    path = workdir / "pudong-template.xlsx"
    cli("stats", "template", "--unit", "pudong", "--period", "half-year", "-o", str(path), ok=True)
    return path


def test_template_is_laid_out_like_the_attachment(template: Path) -> None:
    wb = openpyxl.load_workbook(template)
    ws = wb["统计表"]
    assert ws["A1"].value == "行政保护案件统计表"
    assert (ws["A2"].value, ws["B2"].value) == ("填报单位", "浦东新区知识产权局")
    assert (ws["A3"].value, ws["B3"].value) == ("统计期间", "2024年上半年")
    assert (ws["A4"].value, ws["C4"].value) == ("案件类别", "数量（金额）")
    labels = [(ws[f"A{r}"].value, ws[f"B{r}"].value) for r in range(5, 22)]
    assert labels[:3] == [("假冒专利案件", "案件数（件）"), (None, "案值（万元）"), (None, "罚没款（万元）")]
    assert labels[-2:] == [("专利侵权纠纷行政裁决案件", "案件数（件）"), (None, "结案数（件）")]
    assert [b for _, b in labels].count("案件数（件）") == 6
    assert ws["A22"].value == "注：上述案件是指知识产权部门指导、裁决或者参与查办的案件。"
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"A1:C1", "A4:B4", "A5:A7", "A8:A10", "A11:A13", "A14:A16", "A17:A19", "A20:A21",
            "A22:C22"} <= merged
    # input cells validated: whole ≥ 0 for counts, decimal ≥ 0 for amounts
    rules = {(dv.type, dv.operator, dv.formula1): str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert set(rules[("whole", "greaterThanOrEqual", "0")].split()) == {
        "C5", "C8", "C11", "C14", "C17", "C20", "C21"}
    assert "C6" in rules[("decimal", "greaterThanOrEqual", "0")].split()
    # print: A4, one page wide; protected with the inputs unlocked
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.protection.sheet
    assert ws["C5"].protection.locked is False and ws["B5"].protection.locked is True
    meta = wb["duban"]
    assert meta.sheet_state == "hidden"
    assert [meta.cell(i, 2).value for i in range(1, 6)] == ["duban-stats-table", 1, "pudong", "half-year", 2024]


def test_blank_template_lets_the_unit_choose(synced, workdir: Path, cli) -> None:
    path = workdir / "blank.xlsx"
    cli("stats", "template", "-o", str(path), ok=True)
    ws = openpyxl.load_workbook(path)["统计表"]
    assert ws["B2"].value is None and ws["B2"].protection.locked is False
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert lists["B3"] == '"2024年上半年,2024年全年"'
    assert lists["B2"].startswith("=duban!$D$1")


def test_fill_import_show_and_export(template: Path, workdir: Path, cli, db_url: str) -> None:
    filled = fill(template, workdir / "浦东-统计表.xlsx")
    result = cli("stats", "import", str(filled), "--today", "2024-07-03")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "已导入：浦东新区知识产权局 2024年上半年统计表，第 1 版。\n"
        "注意：只收到统计表，工作总结（Word 及盖章 PDF）尚未登记，该总结仍按未报送处理。\n")
    # a second unit, from a blank template filled in the header
    cli("stats", "template", "-o", str(workdir / "blank.xlsx"), ok=True)
    xuhui = fill(workdir / "blank.xlsx", workdir / "xuhui.xlsx",
                 values={"trademark-infringement.value": 0.5433, "patent-dispute.closed": 9},
                 header={"B2": "徐汇区知识产权局", "B3": "2024年上半年"})
    cli("stats", "import", str(xuhui), "--today", "2024-07-04", ok=True)

    shown = json.loads(cli("stats", "show", "--period", "half-year", "--json", ok=True).stdout)
    assert shown["totals"]["trademark-infringement.value"] == 124.0  # 123.4567 + 0.5433, exact
    assert shown["totals"]["trademark-infringement.cases"] == 80
    assert shown["totals"]["official-marks.value"] == 0.0002
    assert shown["reported"] == ["xuhui", "pudong"]
    assert "huangpu" in shown["missing"] and len(shown["missing"]) == 20
    assert shown["units"]["pudong"]["figures"]["patent-dispute.closed"] == 7
    assert shown["units"]["huangpu"] is None
    text = cli("stats", "show", "--today", "2024-07-08", ok=True).stdout
    assert "全市合计 2024年上半年（2/22 个单位已报送）" in text and "124" in text

    out = workdir / "全市.xlsx"
    result = cli("stats", "export", "--period", "half-year", "-o", str(out))
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "全市汇总" and "浦东新区知识产权局" in wb.sheetnames
    assert wb.sheetnames[-1] == "未报送单位"
    total = wb["全市汇总"]
    assert total["A1"].value == "行政保护案件统计表" and total["B2"].value == "全市合计（2 个单位）"
    assert total["C9"].value == 124 and total["C5"].value == 6 and total["C21"].value == 16
    assert wb["浦东新区知识产权局"]["C9"].value == 123.4567
    missing = [r[1] for r in wb["未报送单位"].iter_rows(min_row=2, values_only=True)]
    assert "黄浦区知识产权局" in missing and "浦东新区知识产权局" not in missing and len(missing) == 20


def test_table_alone_does_not_mark_the_summary_submitted(template: Path, workdir: Path, cli) -> None:
    cli("stats", "import", str(fill(template, workdir / "t.xlsx")), "--today", "2024-07-03", ok=True)
    with session_scope() as session:
        entry = intake.summary_entry(session, unit_id="pudong", period="half-year")
        flags = intake.progress_flags(session)
    assert entry.submitted_on is None and entry.status == "open"
    assert flags[entry.id] == "已收到统计表，总结未报送"
    status = json.loads(cli("status", "--unit", "pudong", "--today", "2024-07-08", "--json", ok=True).stdout)
    summary = next(e for e in status["entries"] if e["milestone"] == "half-year-summary")
    assert summary["state"] == "overdue"
    # the Word/PDF recorded: now submitted, and the flag is gone
    cli("record", "--unit", "pudong", "--milestone", "half-year-summary", "--date", "2024-07-04", ok=True)
    with session_scope() as session:
        assert entry.id not in intake.progress_flags(session)


def test_reimport_replaces_and_keeps_history(template: Path, workdir: Path, cli, db_url: str) -> None:
    first = fill(template, workdir / "v1.xlsx")
    cli("stats", "import", str(first), "--today", "2024-07-03", ok=True)
    before = table_snapshot(db_url)
    again = cli("stats", "import", str(first), "--today", "2024-07-05")
    assert again.exit_code == 0
    assert again.stdout.startswith("浦东新区知识产权局 2024年上半年统计表与已登记的第 1 版相同，未重复登记。")
    assert table_snapshot(db_url) == before

    second = fill(template, workdir / "v2.xlsx", values={"trademark-infringement.cases": 41})
    result = cli("stats", "import", str(second), "--today", "2024-07-05")
    assert result.stdout.startswith(
        "已导入：浦东新区知识产权局 2024年上半年统计表，第 2 版，替换第 1 版（旧版保留在历史中）。")
    with session_scope() as session:
        history = intake.stats_history(session, period="half-year")
        current = intake.current_figures(session, unit_id="pudong", period="half-year")
        totals = intake.citywide_totals(session, "half-year")
    assert [(r.version, r.is_current, r.received_on.isoformat()) for r in history] == [
        (1, False, "2024-07-03"), (2, True, "2024-07-05")]
    assert history[0].superseded_at is not None
    assert current is not None and current["trademark-infringement.cases"] == 41
    assert totals.figures["trademark-infringement.cases"] == 41  # only the current version counts


def test_annual_lower_than_half_year_is_a_warning(synced, workdir: Path, cli) -> None:
    cli("stats", "template", "--unit", "pudong", "--period", "half-year", "-o", "h.xlsx", ok=True)
    cli("stats", "template", "--unit", "pudong", "--period", "annual", "-o", "a.xlsx", ok=True)
    cli("stats", "import", str(fill(Path("h.xlsx"), Path("h1.xlsx"))), "--today", "2024-07-03", ok=True)
    result = cli("stats", "import", str(fill(Path("a.xlsx"), Path("a1.xlsx"),
                                             values={"trademark-infringement.cases": 30})),
                 "--today", "2024-12-02")
    assert result.exit_code == 0
    assert result.stderr == "警告：商标侵权案件·案件数（件）：全年 30 小于上半年 40（全年数字应包含上半年），请核对\n"
    with session_scope() as session:
        status = intake.stats_status(session, "annual")
    assert status["pudong"] is not None and status["pudong"]["trademark-infringement.cases"] == 30


def test_stats_api_for_the_digest(template: Path, workdir: Path, cli) -> None:
    cli("stats", "import", str(fill(template, workdir / "t.xlsx")), "--today", "2024-07-03", ok=True)
    with session_scope() as session:
        status = intake.stats_status(session, "half-year")
        totals = intake.citywide_totals(session, "half-year")
        empty = intake.citywide_totals(session, "annual")
    assert status["pudong"] == as_decimal_figures(HALF_YEAR)
    assert status["huangpu"] is None and "protection-division" not in status
    assert totals.figures["trademark-infringement.value"] == Decimal("123.4567")
    assert totals.reported == ["pudong"] and len(totals.missing) == 21
    assert set(empty.figures) == {row.key for row in st.ROWS} and not any(empty.figures.values())
    assert totals.as_json()["figures"]["trademark-infringement.value"] == 123.4567


def test_rules_are_data() -> None:
    assert len(st.ROWS) == 17
    assert [r.label for r in st.ROWS if r.category.id == "patent-dispute"] == ["案件数（件）", "结案数（件）"]
    assert {r.item.unit for r in st.ROWS} == {"件", "万元"}
    assert st.parse_period_label("2024年上半年", 2024) == "half-year"
    assert st.parse_period_label("2023年全年", 2024) is None
    count, amount = st.ROW_BY_KEY["counterfeit-patent.cases"], st.ROW_BY_KEY["counterfeit-patent.value"]
    assert st.check_value("12", count)[0] == 12  # a number stored as text is still the number
    assert st.check_value(3.0, count)[0] == 3
    assert st.check_value(0.1 + 0.2, amount)[1] == "0.30000000000000004 超过 4 位小数"
    assert st.check_value(True, count)[1] == "「True」不是数字"
