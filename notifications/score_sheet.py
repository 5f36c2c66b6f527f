"""评分明细: the scores and every deduction of an evaluation run, as an .xlsx beside the drafts.

The public 通报 carries no scores; leadership reads them here.  Internal record lines
(overrides with who and why) belong here too, never in the notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from notifications.xlsx_stream import PLAIN, WRAP, XlsxStream
from plan.evaluation import LIST_LABELS, UnitScore

HEADERS = ("名次", "单位", "得分", "建议名单", "调整后名单", "评分依据", "分值")
WIDTHS = (6, 28, 8, 12, 12, 90, 8)


def _rows(book: XlsxStream, scores: Iterable[UnitScore]) -> Iterator[str]:
    """One string of cells per reason line; the unit's columns on its first line only.

    The reason and points cells are kept per distinct text and value: 1,000 units share a
    few thousand reason texts, and a type dispatch and shared-string lookup per cell was
    most of this sheet's time at national scale.  The first use of a text still assigns its
    shared-string index, so the file is the same."""
    blank_head = book.cell(None) * 5
    texts: dict[str, str] = {}
    points: dict[tuple[type, float], str] = {}  # by type too: -30 and -30.0 are written differently
    empty = book.cell("", WRAP) + book.cell(None)
    for s in scores:
        lines = [r for r in s.reasons if r.points != 0 or r.rule in ("list", "override", "on-time")]
        head = "".join(book.cell(v, PLAIN) for v in (s.rank, s.name, s.score, LIST_LABELS[s.proposed],
                                                      LIST_LABELS[s.final]))
        if not lines:
            yield head + empty
            continue
        for n, r in enumerate(lines):
            text = texts.get(r.text)
            if text is None:
                text = texts[r.text] = book.cell(r.text, WRAP)
            key = (type(r.points), r.points)
            value = points.get(key)
            if value is None:
                value = points[key] = book.cell(r.points or None)
            yield (head if n == 0 else blank_head) + text + value


def write_score_sheet(scores: Iterable[UnitScore], path: Path, *, title: str) -> Path:
    """Streamed, one string per row (notifications/xlsx_stream): a national evaluation has
    ~100,000 lines, and XlsxWriter's per-cell calls were a third of the evaluation's time.
    Text is written as text, so a unit name or reason starting with "=" stays text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = XlsxStream(path, fills=())
    book.write_sheet("评分明细", HEADERS, WIDTHS, _rows(book, scores), caption=title)
    book.close()
    return path
