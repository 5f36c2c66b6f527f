"""The statistics table as a worksheet: write the template/export, read a filled one back.

Layout (sheet 统计表), as in the seed's attachment::

    1  行政保护案件统计表                          (A1:C1)
    2  填报单位 | <unit name>                      (B2:C2)
    3  统计期间 | 2024年上半年                     (B3:C3)
    4  案件类别 (A4:B4)        | 数量（金额）
    5… category (merged in A) | 案件数（件）| <input C>
    22 注：上述案件是指…                           (A22:C22)

A hidden sheet ``duban`` carries the unit id and period for machines.  Reading checks
that every label is still where it was written, so a moved or deleted row is refused
with its cell instead of shifting figures into the wrong category.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from plan import stats_table as st
from plan.intake_errors import CellProblem, FileRefused, refuse
from plan.intake_rules import resolve_unit_text

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

SHEET = "统计表"
META_SHEET = "duban"
KIND = "duban-stats-table"
VERSION = 1
TITLE_ROW, UNIT_ROW, PERIOD_ROW, HEADER_ROW, FIRST_ROW = 1, 2, 3, 4, 5
NOTE_ROW = FIRST_ROW + len(st.ROWS)
VALUE_COLUMN = "C"


def get_column_letter(index: int) -> str:
    # openpyxl is imported when a sheet is written or read, not with this module: duban status
    # imports it on the way to the ledger and should not pay a fifth of a second for it (#13).
    from openpyxl.utils import get_column_letter as letter

    return letter(index)


@cache
def _styles() -> SimpleNamespace:
    from openpyxl.styles import Alignment, Border, PatternFill, Protection, Side

    thin = Side(style="thin")
    return SimpleNamespace(
        BOX=Border(left=thin, right=thin, top=thin, bottom=thin),
        CENTER=Alignment(horizontal="center", vertical="center", wrap_text=True),
        LEFT=Alignment(horizontal="left", vertical="center", wrap_text=True),
        INPUT_FILL=PatternFill("solid", fgColor="FFFFF2CC"),
        UNLOCKED=Protection(locked=False),
    )


def row_of(key: str) -> int:
    return FIRST_ROW + [r.key for r in st.ROWS].index(key)


def value_cell(key: str) -> str:
    return f"{VALUE_COLUMN}{row_of(key)}"


def where(key: str) -> str:
    return f"{SHEET}!{value_cell(key)}"


# -- writing ------------------------------------------------------------------------------

def write_table(ws: Worksheet, *, unit_text: str, period_text: str,
                figures: Mapping[str, Decimal] | None = None, editable: bool = False) -> None:
    """Lay the table out on ``ws``; ``editable`` adds input validation and unlocks inputs."""
    from openpyxl.styles import Alignment, Font

    style = _styles()
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 20
    ws.merge_cells(f"A{TITLE_ROW}:C{TITLE_ROW}")
    title = ws.cell(TITLE_ROW, 1, st.TITLE)
    title.font = Font(name="宋体", size=16, bold=True)
    title.alignment = style.CENTER
    ws.row_dimensions[TITLE_ROW].height = 36
    for row, label, text in ((UNIT_ROW, "填报单位", unit_text), (PERIOD_ROW, "统计期间", period_text)):
        ws.cell(row, 1, label).alignment = style.LEFT
        ws.merge_cells(f"B{row}:C{row}")
        cell = ws.cell(row, 2, text or None)
        cell.alignment = style.LEFT
        if editable and not text:
            cell.protection = style.UNLOCKED
            cell.fill = style.INPUT_FILL
    ws.merge_cells(f"A{HEADER_ROW}:B{HEADER_ROW}")
    ws.cell(HEADER_ROW, 1, st.CATEGORY_HEADER)
    ws.cell(HEADER_ROW, 3, st.VALUE_HEADER)
    for col in (1, 2, 3):
        cell = ws.cell(HEADER_ROW, col)
        cell.font = Font(name="宋体", bold=True)
        cell.alignment = style.CENTER
        cell.border = style.BOX
    row = FIRST_ROW
    for category, items in st.CATEGORIES:
        ws.cell(row, 1, category.name)
        if len(items) > 1:
            ws.merge_cells(start_row=row, start_column=1, end_row=row + len(items) - 1, end_column=1)
        for item in items:
            key = f"{category.id}.{item.id}"
            ws.cell(row, 1).alignment = style.CENTER
            ws.cell(row, 2, item.label).alignment = style.CENTER
            value = ws.cell(row, 3, _cell_number(figures.get(key)) if figures else None)
            value.number_format = "0" if item.kind == "count" else "0.00##"
            value.alignment = Alignment(horizontal="right", vertical="center")
            if editable:
                value.protection = style.UNLOCKED
                value.fill = style.INPUT_FILL
            for col in (1, 2, 3):
                ws.cell(row, col).border = style.BOX
            row += 1
    ws.merge_cells(f"A{NOTE_ROW}:C{NOTE_ROW}")
    ws.cell(NOTE_ROW, 1, st.NOTE).alignment = style.LEFT
    ws.row_dimensions[NOTE_ROW].height = 30
    _print_setup(ws)


def _cell_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    ws.print_area = f"A1:C{NOTE_ROW}"
    ws.page_margins.left = ws.page_margins.right = 0.7


def _validations(ws: Worksheet, *, period_choices: Sequence[str], unit_count: int,
                 unit_open: bool, period_open: bool) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    counts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                            showErrorMessage=True, errorTitle="请填写整数",
                            error="案件数、结案数须为不小于 0 的整数；没有的填 0。",
                            showInputMessage=True, promptTitle="单位：件", prompt="填不小于 0 的整数，没有的填 0")
    amounts = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                             showErrorMessage=True, errorTitle="请填写金额",
                             error="金额单位为万元，须不小于 0，最多 4 位小数；没有的填 0。",
                             showInputMessage=True, promptTitle="单位：万元",
                             prompt="填不小于 0 的数，最多 4 位小数，没有的填 0")
    for row in st.ROWS:
        (counts if row.item.kind == "count" else amounts).add(value_cell(row.key))
    ws.add_data_validation(counts)
    ws.add_data_validation(amounts)
    if unit_open and unit_count:
        units = DataValidation(type="list", formula1=f"={META_SHEET}!$D$1:$D${unit_count}",
                               allow_blank=True, showErrorMessage=True, errorTitle="填报单位",
                               error="请从下拉列表中选择填报单位。")
        units.add(f"B{UNIT_ROW}")
        ws.add_data_validation(units)
    if period_open:
        periods = DataValidation(type="list", formula1='"' + ",".join(period_choices) + '"',
                                 allow_blank=True, showErrorMessage=True, errorTitle="统计期间",
                                 error="请从下拉列表中选择统计期间。")
        periods.add(f"B{PERIOD_ROW}")
        ws.add_data_validation(periods)


def build_template(*, year: int, unit: tuple[str, str] | None, period: str | None,
                   unit_choices: Sequence[tuple[str, str]]) -> Workbook:
    """The blank table for one unit and period (either may be left for the unit to choose)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    write_table(ws, unit_text=unit[1] if unit else "",
                period_text=st.period_label(period, year) if period else "", editable=True)
    meta = wb.create_sheet(META_SHEET)
    for i, (key, value) in enumerate((("kind", KIND), ("version", VERSION), ("unit", unit[0] if unit else None),
                                      ("period", period), ("year", year)), start=1):
        meta.cell(i, 1, key)
        meta.cell(i, 2, value)
    for i, (_, name) in enumerate(unit_choices, start=1):
        meta.cell(i, 4, name)
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    _validations(ws, period_choices=[st.period_label(p, year) for p in st.PERIODS],
                 unit_count=len(unit_choices), unit_open=unit is None, period_open=period is None)
    ws.protection.sheet = True  # no password: it guards against slips, not people
    ws.protection.formatCells = False
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    wb.active = 0
    return wb


def build_citywide(*, year: int, period: str, totals: Mapping[str, Decimal], reported: int,
                   units: Sequence[tuple[str, str, Mapping[str, Decimal]]],
                   missing: Sequence[tuple[str, str]]) -> Workbook:
    """全市汇总 (sums), one sheet per reporting unit, and 未报送单位."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "全市汇总"
    write_table(ws, unit_text=f"全市合计（{reported} 个单位）", period_text=st.period_label(period, year),
                figures=totals)
    used = {ws.title}
    for _unit_id, name, figures in units:
        title = _sheet_title(name, used)
        write_table(wb.create_sheet(title), unit_text=name, period_text=st.period_label(period, year),
                    figures=figures)
    rest = wb.create_sheet("未报送单位")
    rest.append(["单位编号", "单位名称"])
    for cell in rest[1]:
        cell.font = Font(bold=True)
    for unit_id, name in missing:
        rest.append([unit_id, name])
    rest.column_dimensions["A"].width = 24
    rest.column_dimensions["B"].width = 40
    return wb


def _sheet_title(name: str, used: set[str]) -> str:
    base = "".join("_" if c in "[]:*?/\\" else c for c in name)[:31]
    title, n = base, 2
    while title in used:
        title = f"{base[:28]}({n})"
        n += 1
    used.add(title)
    return title


# -- reading ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatsSheet:
    unit_id: str
    period: str
    figures: st.Figures
    warnings: tuple[str, ...] = ()  # numbers read after normalisation (全角数字, 千位分隔符, 公式缓存值)


@dataclass(frozen=True)
class Layout:
    """Where the table is: the template's fixed place, or wherever a sheet carries the labels."""

    sheet: str
    first_row: int  # the row of 假冒专利案件·案件数（件）
    category_col: int  # 1-based
    unit_cell: str | None = None  # the cell right of 填报单位, when the sheet has that row
    period_cell: str | None = None
    template: bool = False  # duban's own layout: title, header and note are checked too

    @property
    def label_col(self) -> int:
        return self.category_col + 1

    @property
    def value_col(self) -> int:
        return self.category_col + 2

    def value_cell(self, key: str) -> str:
        return f"{get_column_letter(self.value_col)}{self.first_row + [r.key for r in st.ROWS].index(key)}"

    def where(self, key: str) -> str:
        return f"{self.sheet}!{self.value_cell(key)}"


TEMPLATE = Layout(SHEET, FIRST_ROW, 1, f"B{UNIT_ROW}", f"B{PERIOD_ROW}", template=True)


def _norm(value: object) -> str:
    """Cell text compared with half- and full-width punctuation equal (NFKC), spaces dropped."""
    return unicodedata.normalize("NFKC", _text(value))


def find_layout(wb: Any, *, max_rows: int = 60, max_cols: int = 10) -> Layout | None:
    """The table by content: duban's template when it is there, else the first sheet with
    假冒专利案件 and 案件数（件） side by side (the seed's layout, a clerk's ``Sheet1``)."""
    if SHEET in wb.sheetnames and _norm(wb[SHEET]["A1"].value) == _norm(st.TITLE) \
            and _norm(wb[SHEET][f"A{FIRST_ROW}"].value) == _norm(st.CATEGORIES[0][0].name):
        return TEMPLATE
    first, label = _norm(st.CATEGORIES[0][0].name), _norm(st.ROWS[0].label)
    for ws in wb.worksheets:
        if ws.title == META_SHEET:
            continue
        found: dict[str, str] = {}
        start: tuple[int, int] | None = None
        for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, max_rows), max_col=max_cols):
            for cell in row:
                text = _norm(cell.value)
                if text in ("填报单位", "统计期间") and text not in found:
                    found[text] = f"{get_column_letter(cell.column + 1)}{cell.row}"
                if start is None and text == first and _norm(ws.cell(cell.row, cell.column + 1).value) == label:
                    start = (cell.row, cell.column)
        if start is not None:
            return Layout(ws.title, start[0], start[1], found.get("填报单位"), found.get("统计期间"),
                          template=ws.title == SHEET and start == (FIRST_ROW, 1))
    return None


def looks_like_stats(wb: Any, *, max_rows: int = 60, max_cols: int = 10) -> bool:
    """Some sheet carries the seed's row labels (its title, or three category names): a
    statistics table, whatever the sheet is called (a clerk's own ``Sheet1``)."""
    labels = {_norm(c.name) for c, _ in st.CATEGORIES}
    title = _norm(st.TITLE)
    for ws in wb.worksheets:
        seen: set[str] = set()
        for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, max_rows), max_col=max_cols, values_only=True):
            for value in row:
                text = _norm(value)
                if text and (title in text):
                    return True
                if text in labels:
                    seen.add(text)
        if len(seen) >= 3:
            return True
    return False


def is_stats_workbook(wb: Any) -> bool:
    if META_SHEET in wb.sheetnames and wb[META_SHEET]["B1"].value == KIND:
        return True
    return find_layout(wb) is not None


def _text(value: object) -> str:
    return "".join(str(value).split()) if value is not None else ""


def _layout_problem(ws: Worksheet, layout: Layout) -> CellProblem | None:
    expected: list[tuple[str, str]] = []
    if layout.template:
        expected += [(f"A{TITLE_ROW}", st.TITLE), (f"A{UNIT_ROW}", "填报单位"), (f"A{PERIOD_ROW}", "统计期间"),
                     (f"A{HEADER_ROW}", st.CATEGORY_HEADER), (f"C{HEADER_ROW}", st.VALUE_HEADER)]
    row = layout.first_row
    cat, lab = get_column_letter(layout.category_col), get_column_letter(layout.label_col)
    for category, items in st.CATEGORIES:
        expected.append((f"{cat}{row}", category.name))
        for item in items:
            expected.append((f"{lab}{row}", item.label))
            row += 1
    for cell, want in expected:
        got = _norm(ws[cell].value)
        if got != _norm(want):
            shown = f"「{ws[cell].value}」" if got else "空白"
            return CellProblem(f"{layout.sheet}!{cell}",
                               f"应为「{want}」，实际是{shown}：表格的行被移动、删除或改动了",
                               "不要增删或移动行；请用 duban stats template 重新生成模板，把数字填进去后再导入")
    if layout.template and not _text(ws[f"A{NOTE_ROW}"].value).startswith("注"):
        return CellProblem(f"{SHEET}!A{NOTE_ROW}", "这里应是表格下方的「注：…」：表格的行被增删或移动了",
                           "不要增删或移动行；请用 duban stats template 重新生成模板")
    return None


def _meta(wb: Any) -> dict[str, Any]:
    if META_SHEET not in wb.sheetnames:
        return {}
    sheet = wb[META_SHEET]
    return {str(sheet.cell(i, 1).value): sheet.cell(i, 2).value for i in range(1, 6)}


def read_stats(wb: Any, *, name: str, year: int, units: Mapping[str, str], unit: str | None = None,
               unit_from: str = "", period: str | None = None, period_from: str = "--period", cached: Any = None,
               aliases: Mapping[str, Sequence[str]] | None = None, default_unit: str | None = None,
               default_period: str | None = None) -> StatsSheet:
    """Validate a filled table; raise :class:`FileRefused` naming every bad cell.

    The table is found by content (:func:`find_layout`).  ``unit``/``period`` given by the
    caller (``--unit``, the inbox folder or file name) must agree with the sheet's own
    header; a sheet without header rows (the seed's own layout) takes them from the
    caller.  ``default_unit``/``default_period`` (read from a file name) are used only
    when neither the caller nor the sheet says.  ``cached`` is the same workbook read with
    formulas' saved results.
    """
    layout = find_layout(wb)
    if layout is None:
        raise refuse(name, f"找不到行政保护案件统计表：没有任何工作表含有「{st.CATEGORIES[0][0].name}」"
                           f"「{st.ROWS[0].label}」等行标签",
                     "请用 duban stats template 生成的模板（或通知附件的表格）填写，不要改动行标签")
    ws = wb[layout.sheet]
    problem = _layout_problem(ws, layout)
    if problem:
        raise FileRefused(name, [problem])
    meta = _meta(wb)
    unit_id = _sheet_unit(ws, meta, layout, name=name, units=units, aliases=aliases)
    unit_cell = f"{layout.sheet}!{layout.unit_cell}" if layout.unit_cell else ""
    if unit and unit_id and unit != unit_id:
        raise refuse(name, f"表中填报单位是「{units[unit_id]}」（{unit_id}），"
                     f"但{unit_from}是「{units.get(unit, unit)}」"
                     f"（{unit}）", "确认这份表是哪个单位的：放到该单位的文件夹，或用正确的 --unit 重新导入",
                     cell=unit_cell)
    unit_id = unit or unit_id or default_unit
    if unit_id is None:
        raise refuse(name, "没有填写填报单位",
                     f"在 {layout.unit_cell} 选择填报单位，或导入时用 --unit 指定" if layout.unit_cell
                     else "这份表没有「填报单位」一行：导入时用 --unit 指定，或把文件放在单位文件夹里、文件名写明单位",
                     cell=unit_cell)
    sheet_period = _sheet_period(ws, meta, layout, name=name, year=year)
    period_cell = f"{layout.sheet}!{layout.period_cell}" if layout.period_cell else ""
    if period and sheet_period and period != sheet_period:
        raise refuse(name, f"表中统计期间是「{st.period_label(sheet_period, year)}」，与{period_from}中的"
                     f"「{st.period_label(period, year)}」不一致",
                     f"确认统计期间后改正 {layout.period_cell or '文件名'} 或 --period 再导入", cell=period_cell)
    chosen = period or sheet_period or default_period
    if chosen is None:
        choices = f"「{st.period_label('half-year', year)}」或「{st.period_label('annual', year)}」"
        raise refuse(name, "没有填写统计期间",
                     f"在 {layout.period_cell} 选择{choices}，或导入时用 --period 指定" if layout.period_cell
                     else f"这份表没有「统计期间」一行：导入时用 --period 指定，或在文件名中写明{choices}",
                     cell=period_cell)
    figures, problems, warnings = _figures(ws, layout, cached[layout.sheet] if cached is not None else None)
    if problems:
        raise FileRefused(name, problems)
    return StatsSheet(unit_id, chosen, figures, tuple(warnings))


def _sheet_unit(ws: Worksheet, meta: Mapping[str, Any], layout: Layout, *, name: str, units: Mapping[str, str],
                aliases: Mapping[str, Sequence[str]] | None) -> str | None:
    meta_unit = meta.get("unit") or None
    text = _text(ws[layout.unit_cell].value) if layout.unit_cell else ""
    shown_unit = resolve_unit_text(text, units, aliases) if text else None
    cell = f"{layout.sheet}!{layout.unit_cell}"
    if text and shown_unit is None:
        raise refuse(name, f"「{text}」不是 plan.yaml 中的单位", "从下拉列表中选择填报单位（单位全称）", cell=cell)
    if meta_unit and meta_unit not in units:
        raise refuse(name, f"模板中记录的单位编号「{meta_unit}」不在 plan.yaml 中",
                     "请用 duban stats template 重新生成该单位的模板")
    if meta_unit and shown_unit and meta_unit != shown_unit:
        raise refuse(name, f"填报单位被改成了「{text}」，但这份模板是为「{units[meta_unit]}」生成的",
                     "请用该单位自己的模板（duban stats template --unit …）填写", cell=cell)
    return meta_unit or shown_unit


def _sheet_period(ws: Worksheet, meta: Mapping[str, Any], layout: Layout, *, name: str, year: int) -> str | None:
    text = _norm(ws[layout.period_cell].value) if layout.period_cell else ""
    shown = st.parse_period_label(text, year) if text else None
    cell = f"{layout.sheet}!{layout.period_cell}"
    if text and shown is None:
        raise refuse(name, f"统计期间「{text}」无法识别", f"填写「{st.period_label('half-year', year)}」或"
                     f"「{st.period_label('annual', year)}」", cell=cell)
    meta_period = meta.get("period") or None
    if meta_period and shown and meta_period != shown:
        raise refuse(name, f"统计期间被改成了「{text}」，但这份模板是"
                     f"{st.period_label(meta_period, year)}的", "请用对应期间的模板填写", cell=cell)
    return shown or meta_period


def _figures(ws: Worksheet, layout: Layout,
             cached: Worksheet | None) -> tuple[st.Figures, list[CellProblem], list[str]]:
    figures: st.Figures = {}
    problems: list[CellProblem] = []
    warnings: list[str] = []
    for row in st.ROWS:
        coordinate = layout.value_cell(row.key)
        cell = ws[coordinate]
        place = layout.where(row.key)
        raw = cell.value
        if cell.data_type == "f" or type(cell.value).__name__ in ("ArrayFormula", "DataTableFormula"):
            formula = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", "")
            saved = cached[coordinate].value if cached is not None else None
            if saved is None:
                problems.append(CellProblem(place, f"是公式「{formula}」，文件中没有它的计算结果（公式无缓存值）",
                                            "用 Excel/WPS/LibreOffice 打开后保存一次，或把公式换成数值"
                                            "（复制后“选择性粘贴→数值”）再导入"))
                continue
            warnings.append(f"{place}：是公式「{formula}」，按文件中保存的计算结果「{saved}」读取")
            raw = saved
        value, problem, hint, note = st.read_value(raw, row)
        if value is None:
            problems.append(CellProblem(place, f"{row.category.name}·{row.label}{problem}", hint))
        else:
            figures[row.key] = value
            if note:
                warnings.append(f"{place}：{note}")
    problems += st.cross_problems(figures, {row.key: layout.where(row.key) for row in st.ROWS})
    return figures, problems, warnings
