"""The unit ledger workbook (工作台账): written pre-filled, read back as progress rows.

Sheet 台账, one row per ledger entry: grey columns A–F are duban's (entry id, task,
milestone, due date, state) and stay locked; yellow columns G–K are the unit's
(责任部门, 责任人, 进展状态, 完成比例, 进展说明).  A hidden sheet ``duban`` names the
unit.  Reading is keyed by the entry id, checked against the milestone id beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plan.intake_errors import CellProblem, FileRefused, refuse
from plan.xlsx_text import keep_text

if TYPE_CHECKING:
    from openpyxl import Workbook

SHEET = "台账"
META_SHEET = "duban"
KIND = "duban-ledger-workbook"
VERSION = 1
HEADER_ROW, FIRST_ROW = 3, 4
COLUMNS = ("条目编号", "任务", "节点编号", "节点名称", "截止日期", "当前状态",
           "责任部门", "责任人", "进展状态", "完成比例", "进展说明")
WIDTHS = (10, 6, 22, 40, 12, 12, 16, 12, 12, 10, 48)
INPUT_FIRST = 7  # column G
PROGRESS = {"not-started": "未启动", "in-progress": "推进中", "done": "已完成"}
PROGRESS_CODES = {label: code for code, label in PROGRESS.items()}



@dataclass(frozen=True)
class Progress:
    """What a unit says about one entry; equality decides whether an import changes it."""

    department: str | None = None
    person: str | None = None
    state: str | None = None  # not-started | in-progress | done
    percent: int | None = None
    note: str | None = None

    def is_empty(self) -> bool:
        return self == Progress()


@dataclass(frozen=True)
class LedgerLine:
    entry_id: int
    task: int | None
    milestone_id: str
    milestone_title: str
    due: dt.date
    state_label: str
    progress: Progress


def build_ledger(*, unit_id: str, unit_name: str, plan_title: str, exported_on: dt.date,
                 lines: Sequence[LedgerLine], mailbox: str | None = None) -> Workbook:
    # openpyxl is imported here, not at the top: reading progress (duban status) needs this
    # module's dataclasses but not openpyxl, which costs a fifth of a second to import (#13).
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    thin = Side(style="thin", color="FF999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    grey = PatternFill("solid", fgColor="FFEDEDED")
    yellow = PatternFill("solid", fgColor="FFFFF2CC")
    wrap = Alignment(vertical="top", wrap_text=True)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    ws.cell(1, 1, f"工作台账：{unit_name}").font = Font(name="宋体", size=14, bold=True)
    # Units cannot reach the server: they email the file back, as they do their reports.
    send_back = f"填好后把整份文件发至联系邮箱 {mailbox}" if mailbox else "填好后把整份文件发回协调处室"
    ws.cell(2, 1, f"{plan_title} · 导出日期 {exported_on.isoformat()} · 灰色列由督办系统填写，请只填写黄色列；"
                  f"{send_back}（文件名请保留单位名称）。")
    for col, (title, width) in enumerate(zip(COLUMNS, WIDTHS, strict=True), start=1):
        cell = ws.cell(HEADER_ROW, col, title)
        cell.font = Font(bold=True)
        cell.fill = grey if col < INPUT_FIRST else yellow
        cell.border = box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[cell.column_letter].width = width
    for i, line in enumerate(lines):
        row = FIRST_ROW + i
        p = line.progress
        values: list[Any] = [line.entry_id, line.task, line.milestone_id, line.milestone_title, line.due,
                             line.state_label, p.department, p.person, PROGRESS.get(p.state or ""),
                             None if p.percent is None else p.percent / 100, p.note]
        for col, value in enumerate(values, start=1):
            cell = keep_text(ws.cell(row, col, value))
            cell.border = box
            cell.alignment = wrap
            if col < INPUT_FIRST:
                cell.fill = grey
            else:
                cell.fill = yellow
                cell.protection = Protection(locked=False)
        ws.cell(row, 5).number_format = "yyyy-mm-dd"
        ws.cell(row, 10).number_format = "0%"
    last = FIRST_ROW + max(len(lines), 1) - 1
    states = DataValidation(type="list", formula1='"' + ",".join(PROGRESS.values()) + '"', allow_blank=True,
                            showErrorMessage=True, errorTitle="进展状态",
                            error="请从下拉列表中选择：未启动、推进中、已完成。")
    states.add(f"I{FIRST_ROW}:I{last}")
    percent = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True,
                             showErrorMessage=True, errorTitle="完成比例", error="请填写 0% 到 100% 之间的百分比。")
    percent.add(f"J{FIRST_ROW}:J{last}")
    ws.add_data_validation(states)
    ws.add_data_validation(percent)
    ws.freeze_panes = f"A{FIRST_ROW}"
    ws.protection.sheet = True  # no password: guards the grey columns against slips
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    meta = wb.create_sheet(META_SHEET)
    for i, (key, value) in enumerate((("kind", KIND), ("version", VERSION), ("unit", unit_id),
                                      ("exported_on", exported_on.isoformat())), start=1):
        meta.cell(i, 1, key)
        meta.cell(i, 2, value)
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    return wb


def is_ledger_workbook(wb: Any) -> bool:
    return META_SHEET in wb.sheetnames and wb[META_SHEET]["B1"].value == KIND


def ledger_unit(wb: Any, *, name: str, units: Mapping[str, str], unit: str | None = None,
                unit_from: str = "") -> str:
    """The unit the workbook was exported for; must agree with ``unit`` when given."""
    if not is_ledger_workbook(wb) or SHEET not in wb.sheetnames:
        raise refuse(name, "不是 duban 导出的工作台账（缺少「台账」表或隐藏的 duban 表）",
                     "请用 duban ledger export 导出的台账填写后再导入")
    found = str(wb[META_SHEET]["B3"].value or "")
    if found not in units:
        raise refuse(name, f"台账中记录的单位编号「{found}」不在 plan.yaml 中", "请重新导出该单位的台账")
    if unit and unit != found:
        raise refuse(name, f"这是「{units[found]}」（{found}）的台账，"
                           f"但{unit_from}是「{units.get(unit, unit)}」（{unit}）",
                     "确认台账属于哪个单位，放到该单位的文件夹后重新导入", cell=f"{SHEET}!A1")
    return found


def read_ledger(wb: Any, *, name: str, owned: Mapping[int, str]) -> dict[int, Progress]:
    """entry id → the unit's progress, for every row; ``owned`` maps the unit's entry ids
    to their milestone ids.  Raises :class:`FileRefused` naming every bad cell."""
    ws = wb[SHEET]
    for col, title in enumerate(COLUMNS, start=1):
        cell = ws.cell(HEADER_ROW, col)
        if str(cell.value or "").strip() != title:
            raise refuse(name, f"表头应为「{title}」，实际是「{cell.value or ''}」：列被移动、删除或改动了",
                         "不要增删或移动列；请重新导出台账后填写", cell=f"{SHEET}!{cell.coordinate}")
    problems: list[CellProblem] = []
    out: dict[int, Progress] = {}
    for row in range(FIRST_ROW, ws.max_row + 1):
        cells = [ws.cell(row, col) for col in range(1, len(COLUMNS) + 1)]
        if all(c.value is None or str(c.value).strip() == "" for c in cells):
            continue
        entry_id = _entry_id(cells[0], cells[2], owned=owned, seen=out, problems=problems)
        progress = _progress(cells, problems)
        if entry_id is not None and progress is not None:
            out[entry_id] = progress
    if problems:
        raise FileRefused(name, problems)
    return out


def _where(cell: Any) -> str:
    return f"{SHEET}!{cell.coordinate}"


def _entry_id(id_cell: Any, milestone_cell: Any, *, owned: Mapping[int, str], seen: Mapping[int, Progress],
              problems: list[CellProblem]) -> int | None:
    hint = "不要修改灰色列，也不要增加行；请重新导出台账后填写"
    raw = id_cell.value
    if raw is None:
        problems.append(CellProblem(_where(id_cell), "这一行没有条目编号（是新增的行？）", hint))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
        problems.append(CellProblem(_where(id_cell), f"条目编号「{raw}」不是整数", hint))
        return None
    entry_id = int(raw)
    if entry_id not in owned:
        problems.append(CellProblem(_where(id_cell), f"条目编号 {entry_id} 不是该单位的台账条目", hint))
        return None
    if str(milestone_cell.value or "") != owned[entry_id]:
        problems.append(CellProblem(_where(milestone_cell),
                                    f"节点编号应为「{owned[entry_id]}」，实际是「{milestone_cell.value or ''}」", hint))
        return None
    if entry_id in seen:
        problems.append(CellProblem(_where(id_cell), f"条目编号 {entry_id} 出现了两次", hint))
        return None
    return entry_id


def _progress(cells: Sequence[Any], problems: list[CellProblem]) -> Progress | None:
    before = len(problems)
    for cell in cells[INPUT_FIRST - 1:]:
        if cell.data_type == "f":
            problems.append(CellProblem(_where(cell), f"是公式「{cell.value}」，这里要直接填写内容",
                                        "把公式换成文字或数值后再导入"))
    if len(problems) > before:
        return None
    department, person, state_cell, percent_cell, note = cells[6:11]
    state_text = _clean(state_cell.value)
    state = PROGRESS_CODES.get(state_text) if state_text else None
    if state_text and state is None:
        problems.append(CellProblem(_where(state_cell), f"进展状态「{state_text}」无法识别",
                                    "从下拉列表中选择：未启动、推进中、已完成"))
    percent = _percent(percent_cell, problems)
    if state == "done" and percent is not None and percent != 100:
        problems.append(CellProblem(_where(percent_cell), f"进展状态为已完成，但完成比例是 {percent}%",
                                    "已完成的填 100%，否则把进展状态改为推进中"))
    if state == "not-started" and percent:
        problems.append(CellProblem(_where(percent_cell), f"进展状态为未启动，但完成比例是 {percent}%",
                                    "未启动的填 0% 或留空，否则把进展状态改为推进中"))
    if len(problems) > before:
        return None
    return Progress(_clean(department.value), _clean(person.value), state, percent, _clean(note.value))


def _clean(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _percent(cell: Any, problems: list[CellProblem]) -> int | None:
    raw = cell.value
    hint = "填写 0% 到 100% 之间的整数百分比，例如 60%"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        text = raw.strip().rstrip("%％").strip()
        try:
            value = float(text) / 100 if raw.strip().endswith(("%", "％")) else None
        except ValueError:
            value = None
        if value is None:
            problems.append(CellProblem(_where(cell), f"完成比例「{raw}」不是百分比", hint))
            return None
    elif isinstance(raw, bool) or not isinstance(raw, int | float):
        problems.append(CellProblem(_where(cell), f"完成比例「{raw}」不是百分比", hint))
        return None
    else:
        value = float(raw)
    if not 0 <= value <= 1:
        problems.append(CellProblem(_where(cell), f"完成比例 {value * 100:g}% 不在 0%–100% 之间", hint))
        return None
    percent = round(value * 100)
    if abs(value * 100 - percent) > 1e-6:
        problems.append(CellProblem(_where(cell), f"完成比例 {value * 100:g}% 不是整数百分比", hint))
        return None
    return percent
