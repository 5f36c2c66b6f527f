"""Files made by real office software (LibreOffice), built once per test session.

LibreOffice is slow to start, so each target format is one ``soffice`` call over every
source file; tests copy what they need out of the returned folder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from plan import stats_table as st
from plan.stats_sheet import build_template, value_cell
from tests.test_stats_support import HALF_YEAR


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def soffice_convert(sources: list[Path], fmt: str, outdir: Path, profile: Path) -> None:
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", fmt,
                    "--outdir", str(outdir), *map(str, sources)], check=True, capture_output=True, timeout=300)


def clerk_table(path: Path) -> Path:
    """A table a clerk typed by hand on ``Sheet1``: the seed's labels, no duban template."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sheet1"
    ws["A1"] = st.TITLE
    row = 3
    for category, items in st.CATEGORIES:
        for item in items:
            ws.cell(row, 1, category.name)
            ws.cell(row, 2, item.label)
            ws.cell(row, 3, 1)
            row += 1
    wb.save(path)
    return path


def messy_table(path: Path) -> Path:
    """Looks like the statistics table (its categories) but not laid out like it: a
    unit's own pivot with categories as columns.  Cannot be read, must not be a summary."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for col, (category, _) in enumerate(st.CATEGORIES, start=2):
        ws.cell(1, col, category.name)
        ws.cell(2, col, 3)
    ws["A2"] = "案件数"
    wb.save(path)
    return path


def template_table(path: Path, unit: tuple[str, str], year: int = 2024) -> Path:
    wb = build_template(year=year, unit=unit, period="half-year", unit_choices=[unit])
    ws = wb["统计表"]
    for key, value in HALF_YEAR.items():
        ws[value_cell(key)] = value
    wb.save(path)
    return path


def formula_table(path: Path, unit: tuple[str, str]) -> Path:
    """A template whose 案值 cell is a formula; LibreOffice saves it with its result."""
    template_table(path, unit)
    wb = openpyxl.load_workbook(path)
    wb["统计表"][value_cell("counterfeit-patent.value")] = "=C5*2"
    wb.save(path)
    return path


def summary_docx(path: Path, text: str) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))
    return path


def build(root: Path) -> Path:
    """root/made/: clerk.xlsx/.xls/.ods, qingpu-template.ods, summary.docx/.pdf, …"""
    src, made, profile = root / "src", root / "made", root / "profile"
    for d in (src, made, profile):
        d.mkdir(parents=True, exist_ok=True)
    clerk = clerk_table(src / "clerk.xlsx")
    tpl = template_table(src / "songjiang-template.xlsx", ("songjiang", "松江区知识产权局"))
    summaries = [summary_docx(src / f"summary-{u}.docx", f"{u} 2024年上半年工作总结") for u in ("a", "b", "c")]
    soffice_convert([clerk], "xls", made, profile)
    soffice_convert([clerk, tpl], "ods", made, profile)
    soffice_convert(summaries, "pdf", made, profile)
    (src / "formula").mkdir()
    formula = formula_table(src / "formula" / "jingan-formula.xlsx", ("jingan", "静安区知识产权局"))
    soffice_convert([formula], "xlsx", made, profile)  # recalculated and saved with cached values
    messy_table(made / "messy.xlsx")
    for f in (clerk, tpl, *summaries):
        shutil.copy(f, made / f.name)
    return made


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files made by LibreOffice, once per session (import this fixture into a test module)."""
    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice (soffice) is required: .ci/run installs libreoffice-calc/-writer")
    return build(tmp_path_factory.mktemp("office"))
