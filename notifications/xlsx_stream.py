"""A one-sheet .xlsx written as a stream of ready-made row strings.

For sheets of ~100,000 rows (the 评分明细 of a national evaluation) XlsxWriter spent ~10 µs
and several Python calls on every cell; here a row is one formatted string.  The package is
the minimum Excel, LibreOffice and openpyxl accept: content types, relationships, a workbook,
a style sheet with a handful of fixed cell formats, and the sheet with inline strings (so
text always stays text: nothing starting with "=" becomes a formula).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

# Cell formats (the s="…" index of a cell), defined once in styles.xml.
PLAIN, BOLD, TITLE, WRAP = 0, 1, 2, 3

Cell = str | int | float | None
Row = Sequence[tuple[Cell, int]]  # (value, format) per column; None leaves the cell empty

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>")
ROOT_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>")
WORKBOOK_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>")
_FONT = '<sz val="{size}"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="3">'
    f'<font>{_FONT.format(size=11)}</font><font><b/>{_FONT.format(size=11)}</font>'
    f'<font><b/>{_FONT.format(size=14)}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>")

# Characters XML 1.0 cannot carry at all (a unit's pasted text can hold them).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _text(value: str) -> str:
    # three replace() calls run in C over the string; str.translate with a dict was 3× slower
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _ILLEGAL.sub("", value) if _ILLEGAL.search(value) else value


def _cell(ref: str, value: Cell, fmt: int) -> str:
    style = f' s="{fmt}"' if fmt else ""
    if isinstance(value, str):
        if not value:  # a formatted blank, as XlsxWriter writes an empty string
            return f'<c r="{ref}"{style}/>'
        return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'
    if isinstance(value, bool):  # a bool is an int; say what it means instead of 1/0
        return f'<c r="{ref}"{style} t="inlineStr"><is><t>{"是" if value else "否"}</t></is></c>'
    return f'<c r="{ref}"{style}><v>{value!r}</v></c>'


def write_sheet(path: Path, *, name: str, widths: Sequence[float], rows: Iterable[Row]) -> Path:
    """Write ``rows`` (the first is row 1) into a one-sheet workbook at ``path``."""
    if len(widths) > len(_LETTERS):
        raise ValueError("at most 26 columns")
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>'
                   for n, w in enumerate(widths, start=1))
    workbook = (_HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
                f'<sheet name="{_text(name)}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        z.writestr("xl/styles.xml", STYLES)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write((_HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><cols>{cols}</cols>'
                       "<sheetData>").encode())
            chunk: list[str] = []
            for number, row in enumerate(rows, start=1):
                cells = "".join(_cell(f"{_LETTERS[column]}{number}", value, fmt)
                                for column, (value, fmt) in enumerate(row) if value is not None)
                chunk.append(f'<row r="{number}">{cells}</row>')
                if len(chunk) == 2000:  # bounded memory: the rows go out as they come
                    out.write("".join(chunk).encode())
                    chunk.clear()
            out.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return path
