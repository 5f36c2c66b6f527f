"""The dashboard's unit page shows what the unit reported in its ledger workbook (no browser)."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from pathlib import Path

from tests.status_scenario import fill_ledger_row

NOTE = "初稿已完成 <b>待审议</b> & 下周报送"


def test_unit_page_shows_reported_progress_escaped(synced, cli, workdir: Path) -> None:
    from flows.report_jobs import run_digest

    book = workdir / "huangpu.xlsx"
    cli("ledger", "export", "--unit", "huangpu", "-o", str(book), "--today", "2024-07-08", ok=True)
    fill_ledger_row(book, "half-year-summary", {"责任部门": "综合科", "责任人": "李四", "进展状态": "推进中",
                                      "完成比例": 0.6, "进展说明": NOTE})
    cli("ledger", "import", str(book), "--today", "2024-07-08", ok=True)
    run_digest(today=dt.date(2024, 7, 10), email=False)

    folder = workdir / "var" / "reports" / "2024-07-10"
    page = (folder / "units" / "huangpu.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="progress"><td colspan="8">(.*?)</td></tr>', page)
    assert rows == ["责任部门：综合科　责任人：李四<br>完成情况：推进中，60%（2024-07-08 单位台账报送）<br>"
                    f"进展说明：{html_lib.escape(NOTE)}"]
    assert "<b>待审议</b>" not in page  # a unit's text never becomes markup
    # it follows its own entry's row
    assert page.index("半年度工作总结</td>") < page.index('<tr class="progress">')
    # other units' pages and the task pages carry no progress rows
    assert 'class="progress"' not in (folder / "units" / "pudong.html").read_text(encoding="utf-8")
    assert 'class="progress"' not in (folder / "tasks" / "task-01.html").read_text(encoding="utf-8")
