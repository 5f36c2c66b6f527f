"""评分明细: the scores and every deduction of an evaluation run, as an .xlsx beside the drafts.

The public 通报 carries no scores; leadership reads them here.  Internal record lines
(overrides with who and why) belong here too, never in the notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from notifications.workbook import open_workbook
from plan.evaluation import LIST_LABELS, Reason, UnitScore

HEADERS = ("名次", "单位", "得分", "建议名单", "调整后名单", "评分依据", "分值")
WIDTHS = (6, 28, 8, 12, 12, 90, 8)


def write_score_sheet(scores: Iterable[UnitScore], path: Path, *, title: str) -> Path:
    """Streamed (XlsxWriter constant-memory, as the ledger workbook): a national evaluation has
    ~100,000 lines, and openpyxl's normal mode spent most of the evaluation's time here.
    Text is written as text, so a unit name or reason starting with "=" stays text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = open_workbook(path)
    sheet = book.add_worksheet("评分明细")
    for column, width in enumerate(WIDTHS):
        sheet.set_column(column, column, width)
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet.write_string(0, 0, title, book.add_format({"bold": True, "font_size": 14}))
    bold = book.add_format({"bold": True})
    for column, header in enumerate(HEADERS):
        sheet.write_string(1, column, header, bold)
    row = 2
    for s in scores:
        lines: list[Reason | None] = [r for r in s.reasons
                                      if r.points != 0 or r.rule in ("list", "override", "on-time")]
        for n, r in enumerate(lines or [None]):
            if n == 0:
                sheet.write_number(row, 0, s.rank)
                sheet.write_string(row, 1, s.name)
                sheet.write_number(row, 2, s.score)
                sheet.write_string(row, 3, LIST_LABELS[s.proposed])
                sheet.write_string(row, 4, LIST_LABELS[s.final])
            sheet.write_string(row, 5, r.text if r else "", wrap)
            if r and r.points:
                sheet.write_number(row, 6, r.points)
            row += 1
    book.close()
    return path
