"""Official-document layout (GB/T 9704-2012 党政机关公文格式) on python-docx.

One builder, :class:`OfficialDocument`, lays out the parts the bureau's documents use:
版头 (red 发文机关标志, 发文字号, red rule), title, 主送, body with 一级/二级 headings,
落款 and 成文日期, 附注, 版记 (抄送, 印发机关 and 印发日期 between rules) and the page
number "— 1 —" at the outside corners.  Every paragraph kind is a named paragraph style
defined once in styles.xml (see :data:`STYLES`), so a leader's edit in Word keeps the form.

Measures from the standard: A4; top margin 37 mm, left 28 mm, text area 156 × 225 mm; 22
lines of 28 characters of 3号 (16 pt) type, so the line pitch is 225 mm / 22 ≈ 28.95 pt.
Fonts are requested by name; the machine that opens the file substitutes what it lacks.
Word and LibreOffice read one East-Asian font per run, so the fallback chain is written
into the font table (w:altName) rather than into the runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import os
import pickle
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import docx
from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.oxml import serialize_part_xml
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Length, Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml import etree

from notifications import zip_package
from notifications.zip_package import Member, archive, deflated

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGIN_TOP, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM = Mm(37), Mm(28), Mm(26), Mm(35)
LINES, CHARS = 22, 28
LINE_PITCH = Pt(28.95)  # 225 mm / 22 lines
BODY_SIZE = 16.0  # 3号
CHAR = Pt(BODY_SIZE)  # one character of body type: the unit of indents ("空二字")
RED = RGBColor(0xFF, 0x00, 0x00)

# East-Asian font chains, first choice first (the rest go into the font table as altName).
TITLE_FONTS = ("方正小标宋简体", "华文中宋", "宋体")
BODY_FONTS = ("仿宋_GB2312", "仿宋")
HEI_FONTS = ("黑体", "SimHei")
KAI_FONTS = ("楷体_GB2312", "楷体")
SONG_FONTS = ("宋体", "SimSun")


@dataclass(frozen=True)
class StyleSpec:
    fonts: tuple[str, ...]
    size: float
    align: WD_ALIGN_PARAGRAPH | None = None
    indent_chars: float = 0  # first-line indent, in body characters
    color: RGBColor | None = None
    exact: bool = True  # exact line pitch of the grid (False for the large 标志)


# Paragraph styles, one per paragraph kind.  Tests look documents up by these names.
STYLES: dict[str, StyleSpec] = {
    "GB Mark": StyleSpec(TITLE_FONTS, 36, WD_ALIGN_PARAGRAPH.CENTER, color=RED, exact=False),
    "GB Number": StyleSpec(BODY_FONTS, BODY_SIZE, WD_ALIGN_PARAGRAPH.CENTER),
    "GB Title": StyleSpec(TITLE_FONTS, 22, WD_ALIGN_PARAGRAPH.CENTER),
    "GB Addressee": StyleSpec(BODY_FONTS, BODY_SIZE, WD_ALIGN_PARAGRAPH.JUSTIFY),
    "GB Body": StyleSpec(BODY_FONTS, BODY_SIZE, WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars=2),
    "GB Heading 1": StyleSpec(HEI_FONTS, BODY_SIZE, WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars=2),
    "GB Heading 2": StyleSpec(KAI_FONTS, BODY_SIZE, WD_ALIGN_PARAGRAPH.JUSTIFY, indent_chars=2),
    "GB Signature": StyleSpec(BODY_FONTS, BODY_SIZE, WD_ALIGN_PARAGRAPH.RIGHT),
    "GB Note": StyleSpec(BODY_FONTS, BODY_SIZE, WD_ALIGN_PARAGRAPH.LEFT, indent_chars=2),
    "GB Imprint": StyleSpec(BODY_FONTS, 14, WD_ALIGN_PARAGRAPH.LEFT),
    "GB Page Number": StyleSpec(SONG_FONTS, 14, exact=False),
    "GB Draft": StyleSpec(BODY_FONTS, 10.5, WD_ALIGN_PARAGRAPH.CENTER, color=RED, exact=False),
    "GB Draft Mark": StyleSpec(HEI_FONTS, 22, WD_ALIGN_PARAGRAPH.RIGHT, color=RED, exact=False),
}

DRAFT_HEADER = "草稿——未经局领导审定，不得印发"


def text_width(text: str) -> float:
    """Width in body characters: ASCII digits and letters are half-width."""
    return sum(0.5 if ord(c) < 0x2000 else 1.0 for c in text)


def date_text(day: dt.date) -> str:
    """成文日期 in Arabic numerals, no leading zeros: 2024年7月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


def month_day(day: dt.date) -> str:
    """7月20日 — dates inside a sentence of the same year."""
    return f"{day.month}月{day.day}日"


def _rfonts(rpr: Any, fonts: tuple[str, ...]) -> None:
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        rfonts.set(qn(attr), fonts[0] if attr == "w:eastAsia" else "Times New Roman")
    rfonts.set(qn("w:hint"), "eastAsia")


def _define_styles(document: Any) -> None:
    styles = document.styles
    normal = styles["Normal"]
    normal.font.size = Pt(BODY_SIZE)
    _rfonts(normal.element.get_or_add_rPr(), BODY_FONTS)
    for name, spec in STYLES.items():
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.font.size = Pt(spec.size)
        if spec.color is not None:
            style.font.color.rgb = spec.color
        rpr = style.element.get_or_add_rPr()
        _rfonts(rpr, spec.fonts)
        if spec.exact:
            # 28 characters of 16 pt type in 156 mm (442.2 pt): 15.75 pt a character.
            spacing = OxmlElement("w:spacing")
            spacing.set(qn("w:val"), "-5")
            rpr.append(spacing)
        fmt = style.paragraph_format
        if spec.align is not None:
            fmt.alignment = spec.align
        fmt.first_line_indent = Pt(BODY_SIZE * spec.indent_chars) if spec.indent_chars else Pt(0)
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.widow_control = False
        if spec.exact:
            fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            fmt.line_spacing = LINE_PITCH
        else:
            fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
        if spec.size != BODY_SIZE:
            # Type larger or smaller than the grid's 3号 is set on its own metrics: on the grid
            # a 2号 title would take two cells a character (14 a line).
            snap = OxmlElement("w:snapToGrid")
            snap.set(qn("w:val"), "0")
            style.element.get_or_add_pPr().append(snap)


def _font_table(document: Any) -> None:
    """Declare each requested font with the next one of its chain as w:altName."""
    part = next(p for p in document.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    root = parse_xml(part.blob)
    # A tuple, not a set: a set of strings iterates in a per-process (hash seed) order, and
    # the font table would differ from one run to the next.
    chains = (TITLE_FONTS, BODY_FONTS, HEI_FONTS, KAI_FONTS, SONG_FONTS)
    for chain in chains:
        for name, alt in itertools.pairwise(chain):
            font = parse_xml(f'<w:font {nsdecls("w")} w:name="{name}"><w:altName w:val="{alt}"/>'
                             '<w:charset w:val="86"/><w:family w:val="auto"/><w:pitch w:val="variable"/>'
                             "</w:font>")
            root.append(font)

    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _page_setup(document: Any) -> None:
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT
    section.header_distance = Mm(15)
    section.footer_distance = Mm(20)  # the number sits about 7 mm under the text area
    sect = section._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect.append(grid)
    # Line grid of 22 lines.  The 28 characters a line come from the body styles' -0.25 pt
    # spacing (15.75 pt × 28 ≤ 156 mm), not from a character grid: LibreOffice gives CJK type
    # on a 15.79 pt character grid two cells a character (14 a line).
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH.pt * 20)))
    document.settings.odd_and_even_pages_header_footer = True


def _page_field(paragraph: Paragraph) -> None:
    """"— N —" with N a PAGE field."""
    paragraph.add_run("— ")
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        if kind is not None:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text or ""
    paragraph.add_run(" —")


def styled_document(*, draft: bool) -> Any:
    """An empty document with the styles, fonts, page, page numbers (and draft header)."""
    document = Document()
    _define_styles(document)
    _font_table(document)
    _page_setup(document)
    section = document.sections[0]
    odd = section.footer.paragraphs[0]
    odd.style = document.styles["GB Page Number"]
    odd.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    odd.paragraph_format.right_indent = Pt(14)  # 单页码居右空一字
    _page_field(odd)
    even = section.even_page_footer.paragraphs[0]
    even.style = document.styles["GB Page Number"]
    even.alignment = WD_ALIGN_PARAGRAPH.LEFT
    even.paragraph_format.left_indent = Pt(14)  # 双页码居左空一字
    _page_field(even)
    if draft:
        for header in (section.header, section.even_page_header):
            para = header.paragraphs[0]
            para.style = document.styles["GB Draft"]
            para.add_run(DRAFT_HEADER)
    return document


@cache
def empty_document_bytes(*, draft: bool) -> bytes:
    """:func:`styled_document` as .docx bytes, built once per process: a sweep writes one
    督办单 per supervised unit, and defining the styles (python-docx looks each name up
    among all styles) was ~0.08 s CPU of each document's ~0.14 s; opening the bytes takes
    ~0.016 s."""
    buffer = io.BytesIO()
    styled_document(draft=draft).save(buffer)
    return buffer.getvalue()


MAIN_PART = "word/document.xml"


@dataclass(frozen=True)
class _Template:
    """The empty document's package: every part but the main one deflated once (None marks
    the main part's place), the main part's text before and after the body's paragraphs,
    and the style ids of :data:`STYLES`."""

    parts: tuple[Member | None, ...]  # in package order
    head: str  # XML declaration … <w:body> (and whatever the empty body holds)
    tail: str  # <w:sectPr …>…</w:body></w:document>
    style_ids: dict[str, str]


@cache
def _template(draft: bool) -> _Template:
    """The template, from the CLI's ``var/cache`` when an earlier command built it: building
    it (python-docx defining the styles, parsing the package) was ~0.09 s CPU of every
    command that writes a document, such as each day's sweep with its 督办单."""
    file = _template_file(draft)
    if file is not None:
        try:
            cached = pickle.loads(file.read_bytes())
        except Exception:  # missing, truncated, or written by other code: build it
            cached = None
        if isinstance(cached, _Template):
            return cached
    template = _build_template(draft)
    if file is not None:
        try:  # written whole then renamed; a cache that cannot be written is not an error
            with tempfile.NamedTemporaryFile(dir=file.parent, prefix=".gbt9704-", delete=False) as handle:
                handle.write(pickle.dumps(template, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(handle.name, file)
        except OSError:
            pass
    return template


def prepare_template(*, draft: bool) -> None:
    """Build the template into the cache now (``duban init``)."""
    _template(draft)


def _template_file(draft: bool) -> Path | None:
    """Where the template is kept: named after the code and libraries that build it."""
    from plan.plan_file import cache_folder

    folder = cache_folder("")
    if folder is None:
        return None
    digest = hashlib.sha256(f"{draft}|{docx.__version__}|{etree.LXML_VERSION}|{sys.version}".encode())
    for module in (Path(__file__), Path(zip_package.__file__)):
        digest.update(b"\0" + module.read_bytes())
    return folder / f"gbt9704-{digest.hexdigest()[:20]}.pickle"


def _build_template(draft: bool) -> _Template:
    raw = empty_document_bytes(draft=draft)
    with zipfile.ZipFile(io.BytesIO(raw)) as package:
        parts = tuple(None if name == MAIN_PART else deflated(name, package.read(name))
                      for name in package.namelist())
        # Serialised as python-docx saves a part, so the text around the paragraphs is theirs.
        main = serialize_part_xml(parse_xml(package.read(MAIN_PART))).decode("utf-8")
    # Style ids looked up once: python-docx's style setter searches styles.xml by name.
    styles = Document(io.BytesIO(raw)).styles
    style_ids = {name: styles[name].style_id for name in STYLES}
    assert all(re.fullmatch(r"[A-Za-z0-9]+", i) for i in style_ids.values()), style_ids
    assert main.count("<w:sectPr") == 1, "the section properties close the body"
    cut = main.index("<w:sectPr")
    return _Template(parts, main[:cut], main[cut:], style_ids)


# Characters lxml refuses in text (it raises ValueError; so do we, rather than write a
# package Word cannot open).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BREAKS = re.compile(r"([\t\r\n])")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def run_xml(text: str) -> str:
    """``<w:r>`` for ``text`` as python-docx's ``add_run`` writes it: a tab is ``<w:tab/>``,
    a line break ``<w:br/>``, the rest ``<w:t>`` (xml:space="preserve" when it starts or
    ends with white space), escaped as lxml escapes text."""
    if _NOT_XML.search(text):
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters")
    out = []
    for piece in _BREAKS.split(text):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            out.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            out.append(f"<w:t{space}>{_escape(piece)}</w:t>")
    return f"<w:r>{''.join(out)}</w:r>"


def _twips(length: int) -> str:
    return str(Length(length).twips)


def _border(side: str, size_eighths: int, color: str) -> str:
    space = "4" if side == "bottom" else "1"
    return f'<w:{side} w:val="single" w:sz="{size_eighths}" w:space="{space}" w:color="{color}"/>'


def _borders(*edges: str) -> str:
    return f"<w:pBdr>{''.join(edges)}</w:pBdr>"


class OfficialDocument:
    """Builds one document.

    Only the main part (word/document.xml) differs between documents, and its paragraphs
    are a handful of fixed shapes: each is written as text (:func:`run_xml`, escaped), the
    other parts are the empty document's, deflated once per process
    (:mod:`notifications.zip_package`).  The result is byte for byte what building the
    paragraphs with python-docx and saving with zipfile gave (tests/test_official_docs.py
    keeps that builder as the oracle): a national catch-up sweep writes ~1,000 督办单, and
    building lxml trees and deflating the styles again was ~23 ms of CPU a document."""

    def __init__(self, *, draft: bool = False) -> None:
        self.template = _template(draft)
        self.style_ids = self.template.style_ids
        self.paragraphs: list[str] = []
        if draft:
            self.add("GB Draft Mark", "草稿")

    def add(self, style: str, text: str = "", props: str = "") -> None:
        """One paragraph of ``style``; ``props`` is paragraph properties after the style,
        in the order python-docx writes them."""
        run = run_xml(text) if text else ""
        self.paragraphs.append(f'<w:p><w:pPr><w:pStyle w:val="{self.style_ids[style]}"/>{props}</w:pPr>'
                               f"{run}</w:p>")

    # -- parts -----------------------------------------------------------------------------

    def masthead(self, mark: str, number: str) -> None:
        """版头: red 标志, 发文字号 two lines below it, a red rule 4 mm under the number."""
        # 上边缘至版心上边缘 35 mm
        self.add("GB Mark", mark, f'<w:spacing w:before="{_twips(Mm(35))}"/>')
        self.add("GB Number")
        self.add("GB Number")
        self.add("GB Number", number, _borders(_border("bottom", 18, "FF0000")))
        self.add("GB Body")  # 标题在红色分隔线下空二行
        self.add("GB Body")

    def title(self, text: str) -> None:
        self.add("GB Title", text)
        self.add("GB Body")  # 主送 one line below the title

    def addressee(self, text: str) -> None:
        self.add("GB Addressee", f"{text}：")

    def paragraph(self, text: str) -> None:
        self.add("GB Body", text)

    def heading1(self, text: str) -> None:
        self.add("GB Heading 1", text)

    def heading2(self, text: str) -> None:
        self.add("GB Heading 2", text)

    def signature(self, signer: str, day: dt.date) -> None:
        """落款: 成文日期右空四字; the signer centred over the date; three lines for the 印章."""
        date = date_text(day)
        for _ in range(3):
            self.add("GB Body")
        offset = 4 + (text_width(date) - text_width(signer)) / 2
        self.add("GB Signature", signer, f'<w:ind w:right="{_twips(Pt(BODY_SIZE * max(offset, 0)))}"/>')
        self.add("GB Signature", date, f'<w:ind w:right="{_twips(Pt(BODY_SIZE * 4))}"/>')

    def note(self, text: str) -> None:
        """附注 one line below the date, left with two characters, in brackets."""
        self.add("GB Note", f"（{text}）")

    def imprint(self, *, cc: str | None, printer: str, printed_on: dt.date) -> None:
        """版记: 抄送, then 印发机关 and 印发日期, between rules (outer 0.35 mm, inner 0.25 mm)."""
        self.add("GB Body")
        indent = f'<w:ind w:left="{_twips(Pt(14))}" w:right="{_twips(Pt(14))}"/>'
        top = ""
        if cc:
            self.add("GB Imprint", f"抄送：{cc}。",
                     indent + _borders(_border("top", 8, "000000"), _border("bottom", 6, "000000")))
        else:
            top = _border("top", 8, "000000")
        tabs = f'<w:tabs><w:tab w:pos="{_twips(Mm(156) - Pt(28))}" w:val="right"/></w:tabs>'
        self.add("GB Imprint", f"{printer}\t{date_text(printed_on)}印发",
                 tabs + indent + _borders(top, _border("bottom", 8, "000000")))

    def document_xml(self) -> bytes:
        return (self.template.head + "".join(self.paragraphs) + self.template.tail).encode("utf-8")

    def save(self, path: Path, *, date_time: tuple[int, int, int, int, int, int] | None = None) -> Path:
        """Write the .docx; its members are stamped ``date_time`` (now, when not given)."""
        main = deflated(MAIN_PART, self.document_xml())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(archive([main if part is None else part for part in self.template.parts], date_time))
        return path
