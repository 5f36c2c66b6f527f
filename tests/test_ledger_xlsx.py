"""The digest's Excel ledger, written by the streaming writer (notifications/xlsx_stream.py):
the same cells, styles and sheet settings as the XlsxWriter code it replaced, read back with
openpyxl and with LibreOffice."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter

from models import ledger
from models.db import session_scope
from models.reports import assumed_milestones, fired_rungs, task_only_units
from notifications.workbook import FILLS, HEADER, SUMMARY_HEADER, SUMMARY_WIDTHS, WIDTHS, write_workbook
from notifications.xlsx_stream import BOLD, PLAIN, XlsxStream, excel_width
from plan.digest_rules import Digest, build
from plan.evaluation import RUNG_LABELS
from plan.status import LIGHT_LABELS, LIGHTS, STATE_LABELS, Classifier, Light, State
from plan.workdays import WorkCalendar
from tests.office_files import soffice_convert

pytest_plugins = ["tests.report_fixtures"]

TODAY = dt.date(2024, 7, 15)


def _digest(plan: Any) -> tuple[Digest, Classifier]:
    classifier = Classifier(WorkCalendar(plan.calendar), TODAY, plan.escalation.due_soon)
    with session_scope() as session:
        digest = build(ledger.entry_rows(session), classifier=classifier,
                       sections_of={n: t.section for n, t in plan.tasks.items()},
                       unit_names={u.id: u.name for u in plan.units.values()},
                       rungs=fired_rungs(session, today=TODAY), since=None,
                       assumed=assumed_milestones(session), task_only=task_only_units(session))
    return digest, classifier


def _reference(path: Path, digest: Digest, plan: Any, classifier: Classifier) -> None:
    """The ledger as XlsxWriter wrote it before the streaming writer (that code, condensed)."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    bold = wb.add_format({"bold": True, "valign": "vcenter"})
    fills = {light: wb.add_format({"pattern": 1, "bg_color": f"#{FILLS[light]}"}) for light in Light}
    date, share = wb.add_format({"num_format": "yyyy-mm-dd"}), wb.add_format({"num_format": "0%"})

    def sheet(title: str, header: list[str], widths: list[int], rows: list[tuple[list[Any], dict[int, Any]]]) -> None:
        ws = wb.add_worksheet(title)
        for i, width in enumerate(widths):
            ws.set_column(i, i, width)
        ws.freeze_panes(1, 0)
        ws.write_row(0, 0, header, bold)
        for r, (values, formats) in enumerate(rows, start=1):
            for c, value in enumerate(values):
                if value is None or value == "":
                    if formats.get(c) is not None:
                        ws.write_blank(r, c, None, formats[c])
                elif isinstance(value, dt.date):
                    ws.write_datetime(r, c, value, formats.get(c))
                else:
                    ws.write(r, c, value, formats.get(c))
        ws.autofilter(0, 0, len(rows), len(header) - 1)

    summary = []
    for n, progress in digest.tasks.items():
        data, task = progress.as_json(), plan.tasks[n]
        light = Light(data["light"])
        summary.append(([task.section, n, task.title, LIGHT_LABELS[light], data["total"], data["done"], data["share"],
                         data["on_time"], data["late"], data["overdue"], data["due_soon"], data["not_due"],
                         data["waived"]], {3: fills[light], 6: share}))
    sheet("汇总", SUMMARY_HEADER, SUMMARY_WIDTHS, summary)
    by_sheet: dict[Any, list[tuple[list[Any], dict[int, Any]]]] = {n: [] for n in plan.sections}
    by_sheet[None] = []
    for row, state, worst in digest.entries:
        task = plan.tasks.get(row.task_number) if row.task_number is not None else None
        light = LIGHTS[state]
        by_sheet[task.section if task else None].append((
            [row.task_number, task.title if task else "", row.milestone_id, row.milestone_title, row.unit_name,
             row.due, LIGHT_LABELS[light], STATE_LABELS[state],
             row.submitted_on if state in (State.ON_TIME, State.LATE) else None,
             classifier.days_overdue(row.due) if state is State.OVERDUE else None, RUNG_LABELS.get(worst or "", "")],
            {5: date, 6: fills[light], 8: date}))
    for n, section in plan.sections.items():
        sheet(f"{n}.{section.title}"[:31], HEADER, WIDTHS, by_sheet[n])
    sheet("其他事项（报告、整改、约谈、请示）"[:31], HEADER, WIDTHS, by_sheet[None])
    wb.close()


def _cells(ws: Any) -> list[list[tuple[Any, ...]]]:
    """Every non-empty or styled cell as (value, number format, fill colour, bold)."""
    return [[(c.value, c.number_format if c.value is not None else None,
              c.fill.fgColor.rgb if c.fill.patternType == "solid" else None, bool(c.font.b))
             for c in row if c.value is not None or c.fill.patternType == "solid"]
            for row in ws.iter_rows()]


def _widths(ws: Any) -> dict[int, float]:
    """Column number → width (a <col> element may span equal columns)."""
    return {i: d.width for d in ws.column_dimensions.values() for i in range(d.min, d.max + 1)}


@pytest.fixture
def both(season, synced, workdir: Path) -> tuple[Path, Path]:
    digest, classifier = _digest(synced)
    new = write_workbook(workdir / "new.xlsx", digest=digest, plan=synced, days_overdue=classifier.days_overdue)
    _reference(workdir / "old.xlsx", digest, synced, classifier)
    return new, workdir / "old.xlsx"


def test_streamed_ledger_matches_the_xlsxwriter_one(both: tuple[Path, Path]) -> None:
    new, old = (openpyxl.load_workbook(p) for p in both)
    assert new.sheetnames == old.sheetnames and len(new.sheetnames) == 6
    for name in old.sheetnames:
        a, b = new[name], old[name]
        assert _cells(a) == _cells(b), name
        assert a.max_row == b.max_row > 1
        assert a.freeze_panes == b.freeze_panes == "A2"
        assert a.auto_filter.ref == b.auto_filter.ref
        assert _widths(a) == _widths(b) and len(_widths(a)) == a.max_column, name
    # the state is visible as a colour: red for overdue, green for on time
    other = new["其他事项（报告、整改、约谈、请示）"]
    lights = {(r[6].value, r[6].fill.fgColor.rgb) for r in other.iter_rows(min_row=2)}
    assert ("红", "FFEF9A9A") in lights and ("绿", "FFC8E6C9") in lights
    assert other["A1"].font.b and other["F2"].number_format == "yyyy-mm-dd"
    assert new["汇总"]["G2"].number_format == "0%"


def test_libreoffice_reads_the_streamed_ledger(both: tuple[Path, Path], tmp_path: Path) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    new, _ = both
    # Filter options: comma, quote, UTF-8, from line 1, formatted as shown, every sheet (-1)
    # into its own file <name>-<sheet>.csv.
    soffice_convert([new], 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1',
                    tmp_path, tmp_path / "profile")
    book = openpyxl.load_workbook(new)
    for name in book.sheetnames:
        with (tmp_path / f"new-{name}.csv").open(encoding="utf-8") as f:
            shown = list(csv.reader(f))
        ws = book[name]
        assert len(shown) == ws.max_row
        assert shown[0][:3] == [c.value for c in ws[1]][:3]
        for row in shown[1:]:
            if name != "汇总":  # a due date as the format shows it, a light as its label
                assert dt.date.fromisoformat(row[5]) and row[6] in ("红", "黄", "绿", "灰")


def test_text_stays_text_and_odd_characters_survive(tmp_path: Path) -> None:
    book = XlsxStream(tmp_path / "t.xlsx", ["EF9A9A"])
    odd = ["=HYPERLINK(\"http://evil.example\")", "http://evil.example/x", "<b>&amp;</b>", " 前后空格 ", "甲'乙"]
    rows = ["".join(book.text_cell(v) for v in odd) + book.cell(3.5) + book.cell(dt.date(2024, 7, 8), 2)]
    book.write_sheet("甲'乙 表", ["a", "b"], [10, 0.5], rows, 1)
    book.close()
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["甲'乙 表"]
    row = [c for c in ws[2]]
    assert [(c.value, c.data_type) for c in row[:5]] == [(v, "s") for v in odd]
    assert row[1].hyperlink is None
    assert row[5].value == 3.5 and row[6].value == dt.datetime(2024, 7, 8)
    assert ws["A1"].font.b and ws["A1"].style_id == BOLD and row[0].style_id == PLAIN
    assert ws.column_dimensions["A"].width == excel_width(10) and ws.auto_filter.ref == "A1:B2"
