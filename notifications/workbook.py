"""The whole ledger as an Excel workbook: a summary sheet, a sheet per section of the plan
and one for obligations outside the tasks (reports, 整改, 约谈, 请示); filters on every
sheet, lights as cell colours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifications.xlsx_stream import DATE, FILL_BASE, PERCENT, PLAIN, XlsxStream, serial
from plan.digest_rules import Digest
from plan.evaluation import RUNG_LABELS
from plan.model import Plan
from plan.status import LIGHT_LABELS, LIGHTS, STATE_LABELS, Light, State

if TYPE_CHECKING:
    import xlsxwriter

FILLS = {Light.GREEN: "C8E6C9", Light.AMBER: "FFE082", Light.RED: "EF9A9A", Light.GREY: "E0E0E0"}
HEADER = ["任务", "任务名称", "节点编号", "节点", "单位", "截止日期", "灯", "状态", "报送日期",
          "逾期（工作日）", "最高升级"]
WIDTHS = [6, 28, 22, 44, 26, 12, 6, 10, 12, 12, 10]
SUMMARY_HEADER = ["部分", "任务", "任务名称", "灯", "条目", "已完成", "完成比例", "按时", "逾期报送", "逾期未报",
                  "即将到期", "未到期", "已豁免"]
SUMMARY_WIDTHS = [6, 6, 30, 6, 8, 8, 10, 8, 10, 10, 10, 8, 8]
_BAD_SHEET_CHARS = str.maketrans({c: "" for c in "[]:*?/\\"})


def _sheet_title(text: str) -> str:
    return text.translate(_BAD_SHEET_CHARS)[:31]


def open_workbook(path: Path) -> xlsxwriter.Workbook:
    """A streaming workbook in which text stays text: XlsxWriter would otherwise turn a title or
    note starting with "=" into a live formula and a URL-looking one into a link.  (The 评分明细
    uses it; the ledger has its own writer, notifications/xlsx_stream.py.)"""
    import xlsxwriter

    return xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_urls": False})


def write_workbook(path: Path, *, digest: Digest, plan: Plan,
                   days_overdue: Callable[[dt.date], int]) -> Path:
    """Every ledger entry, one sheet per section.  Rows are put together from fragments
    formatted once per milestone, unit, date and state (the streaming writer's cells carry
    no references), so 200,000 entries cost a few string joins each, not 11 cell writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lights = list(Light)
    book = XlsxStream(path, [FILLS[light] for light in lights])
    fill = {light: FILL_BASE + i for i, light in enumerate(lights)}
    summary_rows = []
    for n, progress in digest.tasks.items():
        plan_task = plan.tasks[n]
        data = progress.as_json()
        light = Light(data["light"])
        values = [plan_task.section, n, plan_task.title, LIGHT_LABELS[light], data["total"], data["done"],
                  data["share"], data["on_time"], data["late"], data["overdue"], data["due_soon"],
                  data["not_due"], data["waived"]]
        styles = {3: fill[light], 6: PERCENT}
        summary_rows.append("".join(book.cell(v, styles.get(i, PLAIN)) for i, v in enumerate(values)))
    book.write_sheet("汇总", SUMMARY_HEADER, SUMMARY_WIDTHS, summary_rows, len(summary_rows))

    # Entries bucketed by sheet first: a zip member is written whole, one sheet at a time.
    buckets: dict[int | None, list[tuple[Any, State, str | None]]] = {n: [] for n in plan.sections}
    other: list[tuple[Any, State, str | None]] = []
    for entry in digest.entries:
        task = plan.tasks.get(entry[0].task_number) if entry[0].task_number is not None else None
        bucket = buckets.get(task.section) if task else None
        (other if bucket is None else bucket).append(entry)

    cell, number = book.text_cell, book.number_cell
    milestone_cells: dict[str, str] = {}
    unit_cells: dict[str, str] = {}
    date_cells: dict[dt.date | None, str] = {None: number(None, DATE)}
    state_cells = {state: cell(LIGHT_LABELS[LIGHTS[state]], fill[LIGHTS[state]]) + cell(STATE_LABELS[state])
                   for state in State}
    rung_cells: dict[str | None, str] = {}
    tails: dict[tuple[dt.date, State, dt.date | None, str | None], str] = {}

    def day(value: dt.date | None) -> str:
        found = date_cells.get(value)
        if found is None:
            found = date_cells[value] = number(serial(value), DATE)  # type: ignore[arg-type]
        return found

    def rows(entries: list[tuple[Any, State, str | None]]) -> Iterator[str]:
        for row, state, worst in entries:
            head = milestone_cells.get(row.milestone_id)
            if head is None:
                task = plan.tasks.get(row.task_number) if row.task_number is not None else None
                head = milestone_cells[row.milestone_id] = (
                    number(row.task_number) + cell(task.title if task else "") + cell(row.milestone_id)
                    + cell(row.milestone_title))
            unit = unit_cells.get(row.unit_id)
            if unit is None:
                unit = unit_cells[row.unit_id] = cell(row.unit_name)
            # The cells after the unit (due, light, state, submitted, days, rung) repeat across
            # the units owing a milestone: formatted once per distinct combination.
            submitted_on = row.submitted_on if state in (State.ON_TIME, State.LATE) else None
            key = (row.due, state, submitted_on, worst)
            tail = tails.get(key)
            if tail is None:
                rung = rung_cells.get(worst)
                if rung is None:
                    rung = rung_cells[worst] = cell(RUNG_LABELS.get(worst or "", ""))
                days = number(days_overdue(row.due)) if state is State.OVERDUE else "<c/>"
                tail = tails[key] = f"{day(row.due)}{state_cells[state]}{day(submitted_on)}{days}{rung}"
            yield head + unit + tail

    for number_, section in plan.sections.items():
        entries = buckets[number_]
        book.write_sheet(_sheet_title(f"{number_}.{section.title}"), HEADER, WIDTHS, rows(entries), len(entries))
    book.write_sheet("其他事项（报告、整改、约谈、请示）"[:31], HEADER, WIDTHS, rows(other), len(other))
    book.close()
    return path
