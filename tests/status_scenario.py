"""What ``duban status`` prints, in every form a user sees it, on one ledger with every kind of
row: on time, late, waived, overdue, due soon, flagged (done without evidence) and with a
unit's reported progress.  ``tests/status_golden.json`` holds what main printed before the
drawing was rewritten for speed (issue #13); ``tests/test_status_output.py`` compares.

Each form runs the real ``duban`` entry point in a fresh process, piped, or as at a terminal
(``TTY_COMPATIBLE=1``: rich draws colours and takes ``COLUMNS`` as the width).

    DUBAN_WRITE_STATUS_GOLDEN=1 pytest tests/test_status_output.py   # write it again (say why in the commit)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from plan.ledger_sheet import COLUMNS, FIRST_ROW, SHEET

GOLDEN = Path(__file__).with_name("status_golden.json")
ENTRY = "import sys\nfrom flows.cli import main\nsys.argv[0] = 'duban'\nmain()\n"

# name: (arguments, at a terminal, width)
FORMS: dict[str, tuple[tuple[str, ...], bool, int | None]] = {
    "default, piped": (("--today", "2024-07-10"), False, None),
    "all at year end, one task, piped": (("--today", "2024-12-20", "--all", "--task", "5"), False, None),
    "unit with progress, piped": (("--today", "2024-07-10", "--unit", "黄浦"), False, None),
    "unit, all, ids, piped": (("--today", "2024-07-10", "--unit", "徐汇", "--all", "--ids"), False, None),
    "task, ids, piped": (("--today", "2024-07-10", "--task", "2", "--ids"), False, None),
    "wide, all, one unit, piped": (("--today", "2024-12-20", "--wide", "--all", "--unit", "浦东"), False, None),
    "unit, json, piped": (("--today", "2024-07-10", "--unit", "黄浦", "--json"), False, None),
    "all at year end, one task, terminal 100": (("--today", "2024-12-20", "--all", "--task", "1"), True, 100),
    "default, terminal 100": (("--today", "2024-07-10"), True, 100),
    "unit with progress, terminal 60": (("--today", "2024-07-10", "--unit", "黄浦"), True, 60),
    "wide, one unit, terminal 80": (("--today", "2024-12-20", "--wide", "--unit", "浦东"), True, 80),
    "default, piped 120": (("--today", "2024-07-10"), False, 120),
}


def fill_ledger_row(path: Path, milestone: str, values: dict[str, object]) -> None:
    """Write ``values`` into the row of ``milestone`` in a unit's ledger workbook."""
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    col = {name: i + 1 for i, name in enumerate(COLUMNS)}
    for row in range(FIRST_ROW, ws.max_row + 1):
        if ws.cell(row, col["节点编号"]).value == milestone:
            for name, value in values.items():
                ws.cell(row, col[name]).value = value
            break
    else:
        raise AssertionError(f"{milestone} not in the workbook")
    wb.save(path)


def prepare(cli, workdir: Path) -> None:
    """Submissions, a waiver, a flag and reported progress on the synced shipped plan."""
    for unit, milestone, day in (("huangpu", "work-plan", "2024-06-03"), ("xuhui", "work-plan", "2024-06-12"),
                                 ("pudong", "half-year-summary", "2024-07-05"),
                                 ("xuhui", "half-year-summary", "2024-07-09")):
        cli("record", "--unit", unit, "--milestone", milestone, "--date", day, "--today", day, ok=True)
    cli("waive", "--unit", "jinshan", "--milestone", "half-year-summary", "--reason", "测试豁免", ok=True)
    book = workdir / "huangpu.xlsx"
    cli("ledger", "export", "--unit", "huangpu", "-o", str(book), "--today", "2024-07-08", ok=True)
    note = "已完成初稿 [草稿]，待局长办公会审议后报送 PDF 盖章版"
    fill_ledger_row(book, "half-year-summary", {"责任部门": "综合科", "责任人": "李四", "进展状态": "已完成",
                                      "完成比例": 1, "进展说明": note})
    cli("ledger", "import", str(book), "--today", "2024-07-08", ok=True)


def render(workdir: Path) -> dict[str, dict[str, object]]:
    """Each form's exit code and output, as a fresh ``duban status`` process prints it."""
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TTY_COMPATIBLE",
                                                             "FORCE_COLOR", "NO_COLOR", "TERM")}
    found: dict[str, dict[str, object]] = {}
    for name, (args, terminal, width) in FORMS.items():
        env = dict(base)
        if terminal:
            env.update(TTY_COMPATIBLE="1", TERM="xterm-256color")
        if width:
            env["COLUMNS"] = str(width)
        result = subprocess.run([sys.executable, "-c", ENTRY, "status", *args], cwd=workdir, env=env,
                                capture_output=True, text=True, timeout=120, check=False)
        found[name] = {"exit": result.returncode, "stdout": result.stdout.splitlines(),
                       "stderr": result.stderr.splitlines()}
    return found

