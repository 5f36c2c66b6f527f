"""The whole ledger as an Excel workbook: a summary sheet, a sheet per section of the plan
and one for obligations outside the tasks (reports, 整改, 约谈, 请示); filters on every
sheet, lights as cell colours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
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


def _fill(light: Light) -> PatternFill:
    return PatternFill("solid", start_color=FILLS[light], end_color=FILLS[light])


def _finish(ws: Any, widths: Iterable[int]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def write_workbook(path: Path, *, digest: Digest, plan: Plan,
                   days_overdue: Callable[[dt.date], int]) -> Path:
    wb = Workbook()
    summary = wb.active
    summary.title = "汇总"
    summary.append(["部分", "任务", "任务名称", "灯", "条目", "已完成", "完成比例", "按时", "逾期报送",
                    "逾期未报", "即将到期", "未到期", "已豁免"])
    for n, progress in digest.tasks.items():
        plan_task = plan.tasks[n]
        data = progress.as_json()
        light = Light(data["light"])
        summary.append([plan_task.section, n, plan_task.title, LIGHT_LABELS[light], data["total"], data["done"],
                        data["share"], data["on_time"], data["late"], data["overdue"], data["due_soon"],
                        data["not_due"], data["waived"]])
        summary.cell(summary.max_row, 4).fill = _fill(light)
        summary.cell(summary.max_row, 7).number_format = "0%"
    _finish(summary, [6, 6, 30, 6, 8, 8, 10, 8, 10, 10, 10, 8, 8])
    sheets: dict[int | None, Any] = {}
    for number, section in plan.sections.items():
        ws = wb.create_sheet(_sheet_title(f"{number}.{section.title}"))
        ws.append(HEADER)
        sheets[number] = ws
    other = wb.create_sheet("其他事项（报告、整改、约谈、请示）"[:31])
    other.append(HEADER)
    # Row counters of our own: openpyxl's max_row scans every cell, which made this quadratic.
    rows_in: dict[int, int] = {id(ws): 1 for ws in [*sheets.values(), other]}
    for row, state, worst in digest.entries:
        task = plan.tasks.get(row.task_number) if row.task_number is not None else None
        ws = (sheets.get(task.section) if task else None) or other
        light = LIGHTS[state]
        submitted = row.submitted_on if state in (State.ON_TIME, State.LATE) else None
        ws.append([row.task_number, task.title if task else "", row.milestone_id, row.milestone_title,
                   row.unit_name, row.due, LIGHT_LABELS[light], STATE_LABELS[state], submitted,
                   days_overdue(row.due) if state is State.OVERDUE else None,
                   RUNG_LABELS.get(worst or "", "")])
        rows_in[id(ws)] += 1
        r = rows_in[id(ws)]
        ws.cell(r, 7).fill = _fill(light)
        ws.cell(r, 6).number_format = "yyyy-mm-dd"
        ws.cell(r, 9).number_format = "yyyy-mm-dd"
    for ws in [*sheets.values(), other]:
        _finish(ws, WIDTHS)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
