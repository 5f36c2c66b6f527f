"""Text written to a workbook stays text.

openpyxl stores any string that starts with ``=`` as a live formula.  Titles, unit names and
the progress notes units write themselves end up in the workbooks duban exports, so one of
them starting with ``=`` (``=HYPERLINK(…)``) would run in a leader's Excel.  Every writer
passes its cells through :func:`keep_text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def keep_text(cell: Any) -> Any:
    """Store a string cell as text even when it looks like a formula; returns the cell."""
    if isinstance(cell.value, str) and cell.data_type == "f":
        cell.data_type = "s"
    return cell


def keep_row_text(cells: Iterable[Any]) -> None:
    for cell in cells:
        keep_text(cell)
