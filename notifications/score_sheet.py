"""评分明细: the scores and every deduction of an evaluation run, as an .xlsx beside the drafts.

The public 通报 carries no scores; leadership reads them here.  Internal record lines
(overrides with who and why) belong here too, never in the notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from notifications.xlsx_stream import PLAIN, WRAP, XlsxStream
from plan.evaluation import LIST_LABELS, Reason, UnitScore

HEADERS = ("名次", "单位", "得分", "建议名单", "调整后名单", "评分依据", "分值")
WIDTHS = (6, 28, 8, 12, 12, 90, 8)


def _rows(book: XlsxStream, scores: Iterable[UnitScore]) -> Iterator[str]:
    """One string of cells per reason line; the unit's columns on its first line only."""
    blank_head = book.cell(None) * 5
    for s in scores:
        lines: list[Reason | None] = [r for r in s.reasons
                                      if r.points != 0 or r.rule in ("list", "override", "on-time")]
        head = "".join(book.cell(v, PLAIN) for v in (s.rank, s.name, s.score, LIST_LABELS[s.proposed],
                                                      LIST_LABELS[s.final]))
        for n, r in enumerate(lines or [None]):
            yield ((head if n == 0 else blank_head) + book.cell(r.text if r else "", WRAP)
                   + book.cell(r.points if r and r.points else None))


def write_score_sheet(scores: Iterable[UnitScore], path: Path, *, title: str) -> Path:
    """Streamed, one string per row (notifications/xlsx_stream): a national evaluation has
    ~100,000 lines, and XlsxWriter's per-cell calls were a third of the evaluation's time.
    Text is written as text, so a unit name or reason starting with "=" stays text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = XlsxStream(path, fills=())
    book.write_sheet("评分明细", HEADERS, WIDTHS, _rows(book, scores), caption=title)
    book.close()
    return path
