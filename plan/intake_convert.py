"""Legacy spreadsheets (.xls, .ods, WPS .et) converted to .xlsx with LibreOffice.

openpyxl reads only .xlsx; rather than guess at old binary formats, the file is
converted by the office suite units themselves use.  The original is what gets stored.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from plan.intake_errors import refuse

TIMEOUT_SECONDS = 120
INSTALL_HINT = ("在服务器上安装 LibreOffice（Debian: apt-get install libreoffice-calc）后重新运行；"
                "或请对方用 Excel/WPS 另存为 .xlsx 后重新报送")


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_xlsx(path: Path, *, name: str, outdir: Path) -> Path:
    """``path`` converted to ``outdir/<stem>.xlsx``; refused when LibreOffice is missing or fails."""
    binary = soffice()
    if binary is None:
        raise refuse(name, f"是 {path.suffix.lower()} 表格，需要 LibreOffice 转换为 .xlsx 才能读取，"
                           "但本机没有安装 LibreOffice（soffice --headless --convert-to xlsx）", INSTALL_HINT)
    outdir.mkdir(parents=True, exist_ok=True)
    # A private profile: a second soffice on the same profile would wait on its lock.
    with tempfile.TemporaryDirectory(prefix="duban-soffice-") as profile:
        try:
            subprocess.run([binary, "--headless", f"-env:UserInstallation=file://{profile}",
                            "--convert-to", "xlsx", "--outdir", str(outdir), str(path)],
                           check=True, capture_output=True, timeout=TIMEOUT_SECONDS)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            raise refuse(name, "LibreOffice 无法把该表格转换为 .xlsx，文件可能已损坏",
                         "请对方用 Excel/WPS 打开确认后另存为 .xlsx 再报送") from exc
    converted = outdir / (path.stem + ".xlsx")
    if not converted.is_file():
        raise refuse(name, "LibreOffice 无法把该表格转换为 .xlsx，文件可能已损坏",
                     "请对方用 Excel/WPS 打开确认后另存为 .xlsx 再报送")
    return converted
