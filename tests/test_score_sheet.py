"""The 评分明细 workbook, written by notifications/xlsx_stream: every reason line is in it,
in the layout the XlsxWriter version had, and real spreadsheet software opens it."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import openpyxl

from notifications.score_sheet import HEADERS, write_score_sheet
from notifications.xlsx_stream import excel_width
from plan.evaluation import Reason, UnitScore

MISSING = "「节点{n}」（截止 2024-05-21）截至 2024-07-22 仍未报送，已逾期 43 个工作日，扣 30 分"


def scores() -> list[UnitScore]:
    many = [Reason("missing", -30.0, MISSING.format(n=n)) for n in range(250)]
    return [
        UnitScore("a", "第1号单位", 0.0, rank=2, proposed="criticise", final="criticise",
                  reasons=[*many, Reason("on-time-item", 0, "不列入明细"),
                           Reason("list", 0, "列入通报批评建议名单：得分 0")]),
        UnitScore("b", "徐汇区<市场监管局>&", 97.5, rank=1, proposed="commend", final="none",
                  reasons=[Reason("on-time", 0, "按时报送 3 项，合计提前 4 个工作日"),
                           Reason("override", 0,
                                  "测试员 于 2024-07-22 10:00 将其移出通报表扬名单，理由：控\x07制字符")]),
        UnitScore("c", "无依据单位", 100.0, rank=3),
    ]


def test_every_scored_line_is_a_row_with_the_unit_columns_on_its_first(tmp_path: Path) -> None:
    path = write_score_sheet(scores(), tmp_path / "scores-draft.xlsx", title="2024年半年评估评分明细（草稿）")
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None and sheet.title == "评分明细"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "2024年半年评估评分明细（草稿）" and sheet["A1"].font.b and sheet["A1"].font.sz == 14
    assert rows[1] == HEADERS and all(c.font.b for c in sheet[2])
    # 250 deductions + the list line of unit a (the on-time item has no points: left out),
    # 2 lines of unit b, one empty line for unit c.
    assert len(rows) == 2 + 251 + 2 + 1
    assert rows[2] == (2, "第1号单位", 0, "通报批评", "通报批评", MISSING.format(n=0), -30)
    assert rows[251][:5] == (None,) * 5 and rows[251][5] == MISSING.format(n=249)
    assert rows[252] == (None, None, None, None, None, "列入通报批评建议名单：得分 0", None)
    assert rows[253] == (1, "徐汇区<市场监管局>&", 97.5, "通报表扬", "—", "按时报送 3 项，合计提前 4 个工作日", None)
    assert rows[254][5] == "测试员 于 2024-07-22 10:00 将其移出通报表扬名单，理由：控制字符"
    assert rows[255] == (3, "无依据单位", 100, "—", "—", None, None)
    assert sheet["F3"].alignment.wrap_text and sheet["F3"].alignment.vertical == "top"
    # widths as XlsxWriter stored them; the header stays in view and filters the lines
    assert [sheet.column_dimensions[c].width for c in "BF"] == [excel_width(28), excel_width(90)]
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:G256"
    assert sheet["B3"].data_type == "s" and sheet["C3"].data_type == "n"


def test_libreoffice_reads_the_streamed_sheet(tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed: .ci/run installs libreoffice-calc-nogui"
    path = write_score_sheet(scores(), tmp_path / "scores.xlsx", title="评分明细")
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation={profile.as_uri()}", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path / "out"), str(path)],
                   check=True, capture_output=True, timeout=300)
    with (tmp_path / "out" / "scores.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 256
    assert rows[1] == list(HEADERS)
    assert rows[253][:6] == ["1", "徐汇区<市场监管局>&", "97.5", "通报表扬", "—", "按时报送 3 项，合计提前 4 个工作日"]
