"""The whole ledger as an Excel workbook: a summary sheet, a sheet per section of the plan
and one for obligations outside the tasks (reports, 整改, 约谈, 请示); filters on every
sheet, lights as cell colours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import xlsxwriter

from plan.digest_rules import Digest
from plan.evaluation import RUNG_LABELS
from plan.model import Plan
from plan.status import LIGHT_LABELS, LIGHTS, STATE_LABELS, Light, State

FILLS = {Light.GREEN: "C8E6C9", Light.AMBER: "FFE082", Light.RED: "EF9A9A", Light.GREY: "E0E0E0"}
HEADER = ["任务", "任务名称", "节点编号", "节点", "单位", "截止日期", "灯", "状态", "报送日期",
          "逾期（工作日）", "最高升级"]
WIDTHS = [6, 28, 22, 44, 26, 12, 6, 10, 12, 12, 10]
_BAD_SHEET_CHARS = str.maketrans({c: "" for c in "[]:*?/\\"})


def _sheet_title(text: str) -> str:
    return text.translate(_BAD_SHEET_CHARS)[:31]


class _Sheet:
    """One worksheet: header, column widths, frozen first row, a filter over the rows written."""

    def __init__(self, wb: Any, title: str, header: list[str], widths: Iterable[int], bold: Any) -> None:
        self.ws = wb.add_worksheet(title)
        self.columns = len(header)
        for i, width in enumerate(widths):
            self.ws.set_column(i, i, width)
        self.ws.freeze_panes(1, 0)
        self.ws.write_row(0, 0, header, bold)
        self.rows = 1

    def append(self, values: list[Any], formats: dict[int, Any]) -> None:
        """``formats`` maps a 0-based column to its cell format (a fill, a date format)."""
        row, ws = self.rows, self.ws
        # The typed writers directly: XlsxWriter's generic write() re-detects each value's type
        # (a third of the digest's time at 200,000 entries went through it).
        for column, value in enumerate(values):
            cell_format = formats.get(column)
            if value is None or value == "":  # as write() did: no empty string cells
                if cell_format is not None:
                    ws.write_blank(row, column, None, cell_format)
            elif isinstance(value, str):
                ws.write_string(row, column, value, cell_format)
            elif isinstance(value, dt.date):
                ws.write_datetime(row, column, value, cell_format)
            else:
                ws.write_number(row, column, value, cell_format)
        self.rows += 1

    def close(self) -> None:
        self.ws.autofilter(0, 0, self.rows - 1, self.columns - 1)


def open_workbook(path: Path) -> xlsxwriter.Workbook:
    """A streaming workbook in which text stays text: XlsxWriter would otherwise turn a title or
    note starting with "=" into a live formula and a URL-looking one into a link."""
    return xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False})


def write_workbook(path: Path, *, digest: Digest, plan: Plan,
                   days_overdue: Callable[[dt.date], int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = open_workbook(path)
    bold = wb.add_format({"bold": True, "valign": "vcenter"})
    fills = {light: wb.add_format({"pattern": 1, "bg_color": f"#{FILLS[light]}"}) for light in Light}
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    share = wb.add_format({"num_format": "0%"})
    summary = _Sheet(wb, "汇总", ["部分", "任务", "任务名称", "灯", "条目", "已完成", "完成比例", "按时", "逾期报送",
                                "逾期未报", "即将到期", "未到期", "已豁免"],
                     [6, 6, 30, 6, 8, 8, 10, 8, 10, 10, 10, 8, 8], bold)
    for n, progress in digest.tasks.items():
        plan_task = plan.tasks[n]
        data = progress.as_json()
        light = Light(data["light"])
        summary.append([plan_task.section, n, plan_task.title, LIGHT_LABELS[light], data["total"], data["done"],
                        data["share"], data["on_time"], data["late"], data["overdue"], data["due_soon"],
                        data["not_due"], data["waived"]], {3: fills[light], 6: share})
    sheets: dict[int | None, _Sheet] = {}
    for number, section in plan.sections.items():
        sheets[number] = _Sheet(wb, _sheet_title(f"{number}.{section.title}"), HEADER, WIDTHS, bold)
    other = _Sheet(wb, "其他事项（报告、整改、约谈、请示）"[:31], HEADER, WIDTHS, bold)
    for row, state, worst in digest.entries:
        task = plan.tasks.get(row.task_number) if row.task_number is not None else None
        sheet = (sheets.get(task.section) if task else None) or other
        light = LIGHTS[state]
        submitted = row.submitted_on if state in (State.ON_TIME, State.LATE) else None
        sheet.append([row.task_number, task.title if task else "", row.milestone_id, row.milestone_title,
                      row.unit_name, row.due, LIGHT_LABELS[light], STATE_LABELS[state], submitted,
                      days_overdue(row.due) if state is State.OVERDUE else None,
                      RUNG_LABELS.get(worst or "", "")],
                     {5: date, 6: fills[light], 8: date})
    for sheet in [summary, *sheets.values(), other]:
        sheet.close()
    wb.close()
    return path
