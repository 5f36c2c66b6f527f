"""The whole ledger as an Excel workbook: a summary sheet, a sheet per section of the plan
and one for obligations outside the tasks (reports, 整改, 约谈, 请示); filters on every
sheet, lights as cell colours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter

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


def _styles(wb: Any) -> dict[str, str]:
    """The handful of named styles every cell uses, registered once.

    openpyxl's normal mode made a PatternFill per row and de-duplicated styles per cell; a
    write-only workbook with named styles streams rows at constant cost (issue #13).
    """
    date = "yyyy-mm-dd"
    styles = {f"light-{light.value}": NamedStyle(name=f"duban-light-{light.value}",
                                                 fill=PatternFill("solid", start_color=FILLS[light],
                                                                  end_color=FILLS[light]))
              for light in Light}
    styles.update(header=NamedStyle(name="duban-header", font=Font(bold=True), alignment=Alignment(vertical="center")),
                  date=NamedStyle(name="duban-date", number_format=date),
                  share=NamedStyle(name="duban-share", number_format="0%"))
    for style in styles.values():
        wb.add_named_style(style)
    return {key: style.name for key, style in styles.items()}


class _Sheet:
    """A write-only sheet with its header, column widths, frozen first row and a filter over
    the rows written (write-only sheets take widths and panes before the first row)."""

    def __init__(self, wb: Any, title: str, header: list[str], widths: Iterable[int], styles: dict[str, str]) -> None:
        self.ws = wb.create_sheet(title)
        self.styles = styles
        self.columns = len(header)
        for i, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        self.ws.freeze_panes = "A2"
        self.rows = 0
        self.append(header, {i: "header" for i in range(len(header))})

    def append(self, values: list[Any], styled: dict[int, str]) -> None:
        """``styled`` maps a 0-based column to a style key of :func:`_styles`."""
        row: list[Any] = list(values)
        for column, key in styled.items():
            cell = WriteOnlyCell(self.ws, value=values[column])
            cell.style = self.styles[key]
            row[column] = cell
        self.ws.append(row)
        self.rows += 1

    def close(self) -> None:
        self.ws.auto_filter.ref = f"A1:{get_column_letter(self.columns)}{self.rows}"


def write_workbook(path: Path, *, digest: Digest, plan: Plan,
                   days_overdue: Callable[[dt.date], int]) -> Path:
    wb = Workbook(write_only=True)
    styles = _styles(wb)
    summary = _Sheet(wb, "汇总", ["部分", "任务", "任务名称", "灯", "条目", "已完成", "完成比例", "按时", "逾期报送",
                                "逾期未报", "即将到期", "未到期", "已豁免"],
                     [6, 6, 30, 6, 8, 8, 10, 8, 10, 10, 10, 8, 8], styles)
    for n, progress in digest.tasks.items():
        plan_task = plan.tasks[n]
        data = progress.as_json()
        light = Light(data["light"])
        summary.append([plan_task.section, n, plan_task.title, LIGHT_LABELS[light], data["total"], data["done"],
                        data["share"], data["on_time"], data["late"], data["overdue"], data["due_soon"],
                        data["not_due"], data["waived"]], {3: f"light-{light.value}", 6: "share"})
    sheets: dict[int | None, _Sheet] = {}
    for number, section in plan.sections.items():
        sheets[number] = _Sheet(wb, _sheet_title(f"{number}.{section.title}"), HEADER, WIDTHS, styles)
    other = _Sheet(wb, "其他事项（报告、整改、约谈、请示）"[:31], HEADER, WIDTHS, styles)
    for row, state, worst in digest.entries:
        task = plan.tasks.get(row.task_number) if row.task_number is not None else None
        sheet = (sheets.get(task.section) if task else None) or other
        light = LIGHTS[state]
        submitted = row.submitted_on if state in (State.ON_TIME, State.LATE) else None
        sheet.append([row.task_number, task.title if task else "", row.milestone_id, row.milestone_title,
                      row.unit_name, row.due, LIGHT_LABELS[light], STATE_LABELS[state], submitted,
                      days_overdue(row.due) if state is State.OVERDUE else None,
                      RUNG_LABELS.get(worst or "", "")],
                     {5: "date", 6: f"light-{light.value}", 8: "date"})
    for sheet in [summary, *sheets.values(), other]:
        sheet.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
