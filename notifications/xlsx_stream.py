"""A minimal streaming .xlsx writer: the digest's ledger workbook and the 评分明细 sheet.

At national scale the ledger is 200,000 rows × 11 columns and a national evaluation's
评分明细 ~100,000 lines.  XlsxWriter spends ~25 s of a
quiet machine on it (a Python call, type check, escape and XML element per cell); this writer
takes each row as one pre-built XML string.  The caller builds rows from cached fragments:
cells carry no ``r`` reference (optional in SpreadsheetML: a reader counts columns), so a
fragment such as "task, task title, milestone id, milestone title" is formatted once per
milestone, not once per row.  Text goes through the shared-strings table, so each distinct
string is escaped once and the file stays small; numbers and dates are plain ``<v>`` values.

What it writes is what those sheets need and nothing more: a handful of fixed cell styles,
column widths, an optional caption row, a frozen header row and an autofilter per sheet.
Text is always a string cell, so nothing starting with "=" becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

# Cell style ids (indexes into cellXfs in styles.xml).  TITLE is a sheet's 14pt caption,
# WRAP long text wrapped and top-aligned (a 评分依据 line).
PLAIN, BOLD, DATE, PERCENT, TITLE, WRAP = 0, 1, 2, 3, 4, 5
FILL_BASE = 6  # FILL_BASE + i: the i-th colour given to the workbook, solid fill
# Deflate level 1: at national scale the sheets are 44 MB of XML; level 1 took 0.39 s for
# 1.33 MB, level 6 1.41 s for 1.21 MB (measured, bench/RESULTS.md).
ZIP_LEVEL = 1
_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (1900 date system, past the 1900-02-29 bug)
# Characters XML 1.0 cannot carry (a unit's pasted text can hold them).  They are dropped:
# Excel's _xHHHH_ escape reads back literally in openpyxl and means nothing to a reader.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def excel_width(width: float) -> float:
    """A column width in characters as Excel stores it (XlsxWriter's conversion, so the
    columns look as they did: 7-pixel digits plus 5 pixels of padding)."""
    pixels = int(width * 12 + 0.5) if width < 1 else int(width * 7 + 0.5) + 5
    return int(pixels / 7 * 256) / 256


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def serial(day: dt.date) -> int:
    """Excel's serial number of a date."""
    return (day - _EPOCH).days


def _text(value: str) -> str:
    """Escaped shared-string content, without the characters XML cannot hold."""
    value = _ILLEGAL.sub("", value)
    attr = ' xml:space="preserve"' if value != value.strip() else ""
    return f"<t{attr}>{escape(value)}</t>"


class XlsxStream:
    """Write sheets one after another; ``string`` gives a text cell's shared-string index."""

    def __init__(self, path: Path, fills: Iterable[str]) -> None:
        self.path = path
        self.fills = list(fills)  # RRGGBB
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL)
        self.strings: dict[str, int] = {}
        self.sheets: list[tuple[str, str]] = []  # (title, autofilter range)

    def string(self, text: str) -> int:
        index = self.strings.get(text)
        if index is None:
            index = self.strings[text] = len(self.strings)
        return index

    def text_cell(self, text: str, style: int = PLAIN) -> str:
        """A text cell; empty text is an empty cell (as XlsxWriter's write() leaves it)."""
        if not text:
            return f'<c s="{style}"/>' if style else "<c/>"
        return f'<c t="s"{_style(style)}><v>{self.string(text)}</v></c>'

    @staticmethod
    def number_cell(value: float | int | None, style: int = PLAIN) -> str:
        if value is None:
            return f'<c s="{style}"/>' if style else "<c/>"
        return f'<c{_style(style)}><v>{value}</v></c>'

    def cell(self, value: object, style: int = PLAIN) -> str:
        """Any value, by type (for small sheets; big ones build rows from cached fragments)."""
        if isinstance(value, str):
            return self.text_cell(value, style)
        if isinstance(value, bool):  # a bool is an int; say what it means instead of 1/0
            return self.text_cell("是" if value else "否", style)
        if isinstance(value, dt.date):
            return self.number_cell(serial(value), style)
        return self.number_cell(value, style)  # type: ignore[arg-type]

    def write_sheet(self, title: str, header: Sequence[str], widths: Iterable[float],
                    rows: Iterable[str], row_count: int | None = None, *, caption: str | None = None) -> None:
        """One sheet: ``rows`` are strings of cells (no <row> tag), written below the bold
        header (and the ``caption`` row above it, if given) in chunks, so only a chunk's XML
        is held at once.  A ``row_count`` given up front is checked and written as the
        sheet's dimension; without it the rows are counted as they go."""
        number = len(self.sheets) + 1
        head = 2 if caption else 1  # the header's row number
        column = column_letter(len(header) - 1)
        dimension = f'<dimension ref="A1:{column}{row_count + head}"/>' if row_count is not None else ""
        cols = "".join(f'<col min="{i}" max="{i}" width="{excel_width(w)}" customWidth="1"/>'
                       for i, w in enumerate(widths, start=1))
        selected = ' tabSelected="1"' if number == 1 else ""
        first = f"A{head + 1}"
        caption_row = f'<row r="1">{self.text_cell(caption, TITLE)}</row>' if caption else ""
        start = (f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">{dimension}'
                 f'<sheetViews><sheetView{selected} workbookViewId="0"><pane ySplit="{head}" topLeftCell="{first}" '
                 f'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="{first}" '
                 f'sqref="{first}"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
                 f'<cols>{cols}</cols><sheetData>{caption_row}<row r="{head}">'
                 + "".join(self.text_cell(h, BOLD) for h in header) + "</row>")
        with self.zip.open(f"xl/worksheets/sheet{number}.xml", "w", force_zip64=True) as out:
            out.write(start.encode())
            chunk: list[str] = []
            r = head
            for cells in rows:
                r += 1
                chunk.append(f'<row r="{r}">{cells}</row>')
                if len(chunk) == 4096:
                    out.write("".join(chunk).encode())
                    chunk = []
            out.write("".join(chunk).encode())
            out.write(f'</sheetData><autoFilter ref="A{head}:{column}{r}"/><pageMargins left="0.7" right="0.7" '
                      f'top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'.encode())
        if row_count is not None and r != row_count + head:
            raise ValueError(f"sheet {title!r}: {r - head} rows written, {row_count} announced")
        self.sheets.append((title, f"$A${head}:${column}${r}"))

    def close(self) -> None:
        n = len(self.sheets)
        z = self.zip
        z.writestr("xl/sharedStrings.xml", (
            f'{_HEAD}<sst xmlns="{_MAIN}" count="{len(self.strings)}" uniqueCount="{len(self.strings)}">'
            + "".join(f"<si>{_text(s)}</si>" for s in self.strings) + "</sst>").encode())
        z.writestr("xl/styles.xml", self._styles().encode())
        sheets = "".join(f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>'
                         for i, (title, _) in enumerate(self.sheets, start=1))
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{escape(_quoted(title))}!{ref}</definedName>" for i, (title, ref) in enumerate(self.sheets))
        z.writestr("xl/workbook.xml", (
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{sheets}</sheets><definedNames>{names}</definedNames></workbook>").encode())
        rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, n + 1))
        z.writestr("xl/_rels/workbook.xml.rels", (
            f'{_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>").encode())
        z.writestr("_rels/.rels", (
            f'{_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>").encode())
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
        z.writestr("[Content_Types].xml", (
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            f"{sheet_types}</Types>").encode())
        z.close()

    def _styles(self) -> str:
        fills = "".join(f'<fill><patternFill patternType="solid"><fgColor rgb="FF{c}"/><bgColor indexed="64"/>'
                        "</patternFill></fill>" for c in self.fills)
        font = '<name val="Calibri"/><family val="2"/><scheme val="minor"/>'
        fill_xfs = "".join(f'<xf numFmtId="0" fontId="0" fillId="{2 + i}" borderId="0" xfId="0" applyFill="1"/>'
                           for i in range(len(self.fills)))
        return (f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
                '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
                f'<fonts count="3"><font><sz val="11"/>{font}</font><font><b/><sz val="11"/>{font}</font>'
                f'<font><b/><sz val="14"/>{font}</font></fonts>'
                f'<fills count="{2 + len(self.fills)}"><fill><patternFill patternType="none"/></fill>'
                f'<fill><patternFill patternType="gray125"/></fill>{fills}</fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                f'<cellXfs count="{FILL_BASE + len(self.fills)}">'
                '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
                '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
                '<alignment vertical="center"/></xf>'
                '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                '<xf numFmtId="9" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
                '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
                '<alignment vertical="top" wrapText="1"/></xf>'
                f"{fill_xfs}</cellXfs>"
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                "</styleSheet>")


def _style(style: int) -> str:
    return f' s="{style}"' if style else ""


def _quoted(title: str) -> str:
    """A sheet name as a formula reference names it."""
    return "'" + title.replace("'", "''") + "'"
