"""Helpers for the intake tests: real workbooks written the way a unit would fill them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

from plan import stats_table as st
from plan.stats_sheet import value_cell

# A plausible half-year table: every figure filled, amounts with decimals.
HALF_YEAR: dict[str, Any] = {
    "counterfeit-patent.cases": 3, "counterfeit-patent.value": 1.25, "counterfeit-patent.fines": 0.8,
    "trademark-infringement.cases": 40, "trademark-infringement.value": 123.4567,
    "trademark-infringement.fines": 56.7,
    "trademark-violation.cases": 12, "trademark-violation.value": 8, "trademark-violation.fines": 3.5,
    "geographical-indication.cases": 0, "geographical-indication.value": 0,
    "geographical-indication.fines": 0,
    "official-marks.cases": 2, "official-marks.value": 0.0001, "official-marks.fines": 0.5,
    "patent-dispute.cases": 9, "patent-dispute.closed": 7,
}


def fill(template: Path, target: Path, values: dict[str, Any] | None = None,
         header: dict[str, Any] | None = None, edit: Any = None) -> Path:
    """Open ``template`` with openpyxl, type figures into column C as a unit would, save."""
    wb = openpyxl.load_workbook(template)
    ws = wb["统计表"]
    for key, value in {**HALF_YEAR, **(values or {})}.items():
        ws[value_cell(key)] = value
    for cell, value in (header or {}).items():
        ws[cell] = value
    if edit is not None:
        edit(ws)
    wb.save(target)
    return target


def as_decimal_figures(values: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    return {k: Decimal(repr(v)) if isinstance(v, float) else Decimal(v) for k, v in values.items()}


def rows_count() -> int:
    return len(st.ROWS)
