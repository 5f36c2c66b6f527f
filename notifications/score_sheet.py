"""评分明细: the scores and every deduction of an evaluation run, as an .xlsx beside the drafts.

The public 通报 carries no scores; leadership reads them here.  Internal record lines
(overrides with who and why) belong here too, never in the notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from plan.evaluation import LIST_LABELS, Reason, UnitScore
from plan.xlsx_text import keep_row_text

HEADERS = ("名次", "单位", "得分", "建议名单", "调整后名单", "评分依据", "分值")


def write_score_sheet(scores: Iterable[UnitScore], path: Path, *, title: str) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "评分明细"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(HEADERS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for s in scores:
        lines: list[Reason | None] = [r for r in s.reasons
                                      if r.points != 0 or r.rule in ("list", "override", "on-time")]
        first = True
        for r in lines or [None]:
            head = [s.rank, s.name, s.score, LIST_LABELS[s.proposed], LIST_LABELS[s.final]] if first \
                else [None] * 5
            sheet.append([*head, r.text if r else "", r.points if r and r.points else None])
            first = False
    for column, width in zip("ABCDEFG", (6, 28, 8, 12, 12, 90, 8), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=1):
        keep_row_text(row)  # a unit name or reason starting with "=" stays text
    for row in sheet.iter_rows(min_row=3, min_col=6, max_col=6):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path
