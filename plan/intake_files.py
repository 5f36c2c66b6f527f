"""Safety checks on a file a unit sent, before anything reads its content.

Refused here: empty files and files below a sane minimum size, files over the size
limit, password-protected (encrypted OLE container) and macro-enabled Office files,
files whose first bytes are not what their extension promises (.doc/.wps/.et/.xls are
OLE containers; .docx/.xlsx/.ods/.odt/.ofd/.zip are zip packages; .pdf starts with
%PDF- and ends with %%EOF; .eml has mail headers), truncated or corrupt packages, and
kinds of file a unit never sends.  Reads the file; touches no database.
"""

from __future__ import annotations

import email
import email.policy
import os
import zipfile
from pathlib import Path
from typing import Any

from plan.intake_errors import refuse

DEFAULT_MAX_MB = 20.0
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Office puts a password-protected .xlsx/.docx inside an OLE container with this stream.
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
OOXML = {".xlsx", ".docx", ".pptx", ".xltx", ".dotx"}
MACRO_SUFFIXES = {".xlsm", ".xltm", ".xlsb", ".xlam", ".docm", ".dotm", ".pptm"}
OLE_SUFFIXES = {".doc", ".xls", ".wps", ".et", ".dot", ".ppt"}
ZIP_SUFFIXES = OOXML | {".ods", ".odt", ".ofd", ".zip"}
SPREADSHEETS = {".xlsx", ".xls", ".ods", ".et", ".xltx"}
LEGACY_SHEETS = {".xls", ".ods", ".et"}  # converted to .xlsx with LibreOffice before reading
ACCEPTED = OLE_SUFFIXES | ZIP_SUFFIXES | {".pdf", ".eml", ".jpg", ".jpeg", ".png"}
# Below these sizes a file cannot be what it claims (a failed download, a placeholder,
# a stub): an OLE container (.doc/.xls/.wps/.et) has a 512-byte header sector before any
# content; the smallest zip package with one member is ~100 bytes; a PDF needs its
# header, one object, a trailer and %%EOF (~64 bytes).
MIN_BYTES = {".pdf": 64, ".eml": 64, ".jpg": 100, ".jpeg": 100, ".png": 67}
MIN_BYTES_DEFAULT = 100
MIN_BYTES_OLE = 512


def max_bytes() -> int:
    """The size limit: ``$DUBAN_INBOX_MAX_MB`` megabytes (default 20)."""
    raw = os.environ.get("DUBAN_INBOX_MAX_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_MAX_MB
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(mb * 1024 * 1024)


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


def check_file(path: Path, *, name: str, limit: int | None = None) -> None:
    """Raise :class:`FileRefused` when ``path`` must not be taken in."""
    limit = max_bytes() if limit is None else limit
    size = path.stat().st_size
    suffix = path.suffix.lower()
    if size == 0:
        raise refuse(name, "是空文件（0 字节）", "请对方重新发送完整的文件（邮件附件可能没有下载完整）")
    if suffix not in ACCEPTED and suffix not in MACRO_SUFFIXES:
        raise refuse(name, f"是不接收的文件类型（{suffix or '无扩展名'}）",
                     "报送材料请用 .docx/.doc/.wps/.pdf/.ofd，统计表用 .xlsx/.xls/.et/.ods，可打包为 .zip")
    if size > limit:
        raise refuse(name, f"文件大小 {_size(size)}，超过上限 {_size(limit)}",
                     "请压缩或拆分后重新报送；确需接收更大的文件，可设置环境变量 DUBAN_INBOX_MAX_MB")
    if suffix in MACRO_SUFFIXES:
        raise refuse(name, "是含宏的 Office 文件，出于安全考虑不予接收",
                     "请另存为不含宏的格式（.xlsx / .docx）后重新报送")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE_MAGIC:
        if ENCRYPTED_STREAM in path.read_bytes():
            raise refuse(name, "文件设置了打开密码，无法读取",
                         "请取消密码（文件→信息→保护→用密码进行加密，清空密码）后重新报送")
        _check_size(name, suffix, size)
        if suffix in OOXML:
            raise refuse(name, f"不是有效的 {suffix} 文件（可能是旧版 .xls/.doc 格式改了扩展名）",
                         f"请用 Office/WPS 打开后另存为 {suffix} 再报送")
        return  # a legacy .doc/.xls/.wps/.et: kept as sent
    if suffix in OLE_SUFFIXES:
        raise refuse(name, f"文件内容不是 {suffix} 格式（文件头不符），可能已损坏或改了扩展名",
                     "请用 Office/WPS 打开确认后重新保存并发送")
    if suffix in ZIP_SUFFIXES or head.startswith(ZIP_MAGIC):
        if not head.startswith(ZIP_MAGIC):
            raise refuse(name, f"文件内容不是 {suffix} 格式（不是 zip 包），可能已损坏或改了扩展名",
                         "请对方重新导出并完整发送该文件")
        _check_zip(path, name, suffix)
    elif suffix == ".pdf":
        _check_pdf(path, name, head)
    elif suffix == ".eml":
        _check_eml(path, name)
    elif suffix in {".jpg", ".jpeg"} and not head.startswith(b"\xff\xd8\xff"):
        raise refuse(name, "不是有效的 JPEG 图片", "请重新发送原图")
    elif suffix == ".png" and not head.startswith(b"\x89PNG"):
        raise refuse(name, "不是有效的 PNG 图片", "请重新发送原图")
    _check_size(name, suffix, size)


def _check_size(name: str, suffix: str, size: int) -> None:
    minimum = MIN_BYTES_OLE if suffix in OLE_SUFFIXES else MIN_BYTES.get(suffix, MIN_BYTES_DEFAULT)
    if size < minimum:
        raise refuse(name, f"只有 {size} 字节，小于该类文件的最小合理大小（{minimum} 字节），不是完整的文件",
                     "请对方重新导出并完整发送该文件")


def _check_eml(path: Path, name: str) -> None:
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    if not any(message.get(h) for h in ("From", "Subject", "Content-Type", "Message-ID")):
        raise refuse(name, "不是有效的邮件文件（.eml 中没有邮件头）",
                     "请在邮箱中把原邮件另存为 .eml，或直接保存其中的附件")


def _check_zip(path: Path, name: str, suffix: str) -> None:
    broken = refuse(name, "文件已损坏或不完整，无法打开",
                    "请对方重新导出并完整发送该文件（邮件附件可能没有下载完整）")
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                raise broken
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise broken from exc
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise refuse(name, "文件含有宏（vbaProject.bin），出于安全考虑不予接收",
                     "请另存为不含宏的格式（.xlsx / .docx）后重新报送")
    if suffix in OOXML and "[Content_Types].xml" not in names:
        raise broken
    if suffix in {".ods", ".odt"} and "mimetype" not in names:
        raise broken
    if suffix == ".zip" and not [n for n in names if not n.endswith("/")]:
        raise refuse(name, "压缩包是空的，里面没有文件", "请对方把报送材料放进压缩包后重新发送")


def _check_pdf(path: Path, name: str, head: bytes) -> None:
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - 2048))
        tail = handle.read()
    if not head.startswith(b"%PDF-") or b"%%EOF" not in tail:
        raise refuse(name, "不是完整的 PDF 文件（文件头或结尾缺失），可能已损坏",
                     "请对方重新导出并完整发送该 PDF")


def load_workbook(path: Path, *, name: str, limit: int | None = None) -> Any:
    """Open a checked .xlsx with formulas kept as formulas (so they can be refused)."""
    import openpyxl

    check_file(path, name=name, limit=limit)
    if not is_xlsx(path):
        raise refuse(name, "不是 .xlsx 工作簿", "请提交用 duban 模板填写并保存为 .xlsx 的文件")
    try:
        with path.open("rb") as handle:  # a handle: openpyxl would judge a path by its extension
            return openpyxl.load_workbook(handle, data_only=False)
    except Exception as exc:  # openpyxl raises many types on a broken package
        raise refuse(name, "文件已损坏或不是有效的 .xlsx 工作簿，无法打开",
                     "请用 Excel/WPS 打开确认后另存为 .xlsx 再导入") from exc


def load_cached(path: Path) -> Any:
    """The same (already checked) workbook with each formula's saved result instead of the
    formula: Excel, WPS and LibreOffice always save one; openpyxl-written files do not."""
    import openpyxl

    with path.open("rb") as handle:
        return openpyxl.load_workbook(handle, data_only=True)


def is_xlsx(path: Path) -> bool:
    """Detected by content (a zip with a workbook part), whatever the extension says."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
