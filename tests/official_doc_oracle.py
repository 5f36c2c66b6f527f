"""The oracle for notifications.gbt9704.OfficialDocument: the builder as it was before the
paragraphs were written as text and the fixed parts deflated once (issue #13), building
word/document.xml with python-docx objects and the package with zipfile.  Tests compare
the two byte for byte; this one takes the archive's timestamp as an argument so they can."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.opc.oxml import serialize_part_xml
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

from notifications.gbt9704 import BODY_SIZE, MAIN_PART, date_text, text_width
from notifications.gbt9704_styles import STYLES, empty_document_bytes


def _border(paragraph: Paragraph, side: str, size_eighths: int, color: str) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), str(size_eighths))
    edge.set(qn("w:space"), "4" if side == "bottom" else "1")
    edge.set(qn("w:color"), color)
    borders.append(edge)


class OracleDocument:
    def __init__(self, *, draft: bool = False) -> None:
        raw = empty_document_bytes(draft=draft)
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            self.parts = [(name, None if name == MAIN_PART else package.read(name)) for name in package.namelist()]
            main = package.read(MAIN_PART)
        styles = Document(io.BytesIO(raw)).styles
        self.style_ids = {name: styles[name].style_id for name in STYLES}
        self.element: Any = parse_xml(main)
        self.body = self.element.body
        self.sect = self.body.find(qn("w:sectPr"))
        self.body.remove(self.sect)
        if draft:
            self.add("GB Draft Mark", "草稿")

    def add(self, style: str, text: str = "") -> Paragraph:
        element: Any = OxmlElement("w:p")
        element.get_or_add_pPr().style = self.style_ids[style]
        self.body.append(element)
        para = Paragraph(element, None)  # type: ignore[arg-type]
        if text:
            para.add_run(text)
        return para

    def masthead(self, mark: str, number: str) -> None:
        para = self.add("GB Mark", mark)
        para.paragraph_format.space_before = Mm(35)
        self.add("GB Number")
        self.add("GB Number")
        numbered = self.add("GB Number", number)
        _border(numbered, "bottom", 18, "FF0000")
        self.add("GB Body")
        self.add("GB Body")

    def title(self, text: str) -> None:
        self.add("GB Title", text)
        self.add("GB Body")

    def addressee(self, text: str) -> None:
        self.add("GB Addressee", f"{text}：")

    def paragraph(self, text: str) -> None:
        self.add("GB Body", text)

    def heading1(self, text: str) -> None:
        self.add("GB Heading 1", text)

    def heading2(self, text: str) -> None:
        self.add("GB Heading 2", text)

    def signature(self, signer: str, day: dt.date) -> None:
        date = date_text(day)
        for _ in range(3):
            self.add("GB Body")
        offset = 4 + (text_width(date) - text_width(signer)) / 2
        name = self.add("GB Signature", signer)
        name.paragraph_format.right_indent = Pt(BODY_SIZE * max(offset, 0))
        dated = self.add("GB Signature", date)
        dated.paragraph_format.right_indent = Pt(BODY_SIZE * 4)

    def note(self, text: str) -> None:
        self.add("GB Note", f"（{text}）")

    def imprint(self, *, cc: str | None, printer: str, printed_on: dt.date) -> None:
        self.add("GB Body")
        first = True
        if cc:
            line = self.add("GB Imprint", f"抄送：{cc}。")
            line.paragraph_format.left_indent = line.paragraph_format.right_indent = Pt(14)
            _border(line, "top", 8, "000000")
            _border(line, "bottom", 6, "000000")
            first = False
        issued = self.add("GB Imprint", f"{printer}\t{date_text(printed_on)}印发")
        issued.paragraph_format.left_indent = issued.paragraph_format.right_indent = Pt(14)
        issued.paragraph_format.tab_stops.add_tab_stop(Mm(156) - Pt(28), WD_TAB_ALIGNMENT.RIGHT)
        if first:
            _border(issued, "top", 8, "000000")
        _border(issued, "bottom", 8, "000000")

    def save(self, path: Path, date_time: tuple[int, int, int, int, int, int]) -> Path:
        self.body.append(self.sect)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
            for name, blob in self.parts:
                package.writestr(zipfile.ZipInfo(name, date_time), serialize_part_xml(self.element)
                                 if blob is None else blob, compress_type=zipfile.ZIP_DEFLATED)
        self.body.remove(self.sect)
        return path
