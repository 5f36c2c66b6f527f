"""Output escapes for its medium (issue #12): workbooks keep text as text, Markdown escapes HTML,
the terminal never receives control characters from data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook

from notifications.score_sheet import write_score_sheet
from plan.evaluation import Reason, UnitScore
from plan.ledger_sheet import LedgerLine, Progress, build_ledger

EVIL = '=HYPERLINK("http://evil.example/x","点我")'


def test_a_units_progress_note_is_exported_as_text(tmp_path: Path) -> None:
    line = LedgerLine(entry_id=1, task=1, milestone_id="half-year-summary", milestone_title="+半年度工作总结",
                      due=dt.date(2024, 7, 5), state_label="未报送", progress=Progress(note=EVIL))
    book = build_ledger(unit_id="xuhui", unit_name="徐汇区知识产权局", plan_title="方案",
                        exported_on=dt.date(2024, 7, 8), lines=[line], mailbox="shszcj@126.com")
    book.save(tmp_path / "ledger.xlsx")
    sheet = load_workbook(tmp_path / "ledger.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value[:1] in "=+"]
    assert {(c.value, c.data_type) for c in cells} == {(EVIL, "s"), ("+半年度工作总结", "s")}
    # Units email the file back: no server path in what they read.
    assert "var/inbox" not in sheet["A2"].value


def test_score_sheet_keeps_names_and_reasons_as_text(tmp_path: Path) -> None:
    score = UnitScore("xuhui", EVIL, 90.0, rank=1, reasons=[Reason("late", -10, EVIL)])
    path = write_score_sheet([score], tmp_path / "scores.xlsx", title="评分明细")
    cells = [c for row in load_workbook(path).active.iter_rows() for c in row if c.value == EVIL]
    assert len(cells) == 2 and {c.data_type for c in cells} == {"s"}


def test_markdown_outputs_escape_html_and_table_pipes() -> None:
    from notifications.markdown_text import escape_markdown

    assert escape_markdown('<img src=x onerror="alert(1)">|&') == '&lt;img src=x onerror="alert(1)"&gt;\\|&amp;'
    assert escape_markdown(3) == 3
    from notifications.digest_render import environment

    # The digest's Markdown environment escapes every value; its HTML one still autoescapes.
    assert environment(markdown=True).from_string("| {{ name }} |").render(name="<b>a|b</b>") == \
        "| &lt;b&gt;a\\|b&lt;/b&gt; |"


def test_terminal_output_drops_control_characters_from_data() -> None:
    from flows.commands.terminal import SafeConsole

    console = SafeConsole(highlight=False, soft_wrap=True, emoji=False, force_terminal=False, width=80)
    with console.capture() as captured:
        console.print("unmatched/\x1b[2J\x1b[31m徐汇\x00区\x9b.pdf 完", markup=False)
    assert captured.get() == "unmatched/[2J[31m徐汇区.pdf 完\n"


def test_the_digest_ledger_writer_keeps_text_as_text(tmp_path: Path) -> None:
    from notifications.workbook import open_workbook

    book = open_workbook(tmp_path / "ledger.xlsx")
    sheet = book.add_worksheet("台账")
    sheet.write(0, 0, EVIL)
    sheet.write(0, 1, "http://evil.example/x")
    book.close()
    row = next(load_workbook(tmp_path / "ledger.xlsx").active.iter_rows())
    assert [(c.value, c.data_type) for c in row] == [(EVIL, "s"), ("http://evil.example/x", "s")]
    assert row[1].hyperlink is None
