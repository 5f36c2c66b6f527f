"""The empty GB/T 9704 document, built with python-docx: the paragraph styles of
:data:`STYLES`, the font table with its fallback chains, the A4 page with its line grid, the
page numbers and the draft header.

Run only when the template that :mod:`notifications.gbt9704` keeps under ``var/cache`` is
missing or stale (``duban init`` builds it): importing python-docx alone was ~0.09 s of
every command that writes a 督办单 or a 通报 draft, such as each day's sweep.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml import etree

from notifications.gbt9704 import BODY_SIZE, DRAFT_HEADER

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGIN_TOP, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM = Mm(37), Mm(28), Mm(26), Mm(35)
LINES, CHARS = 22, 28
LINE_PITCH = Pt(28.95)  # 225 mm / 22 lines
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
    import io

    buffer = io.BytesIO()
    styled_document(draft=draft).save(buffer)
    return buffer.getvalue()


def empty_package(*, draft: bool) -> tuple[list[tuple[str, bytes]], str, dict[str, str]]:
    """The empty document's package members in order (name, bytes), its main part as
    python-docx serialises a part when saving, and the style id of each of :data:`STYLES`."""
    import io
    import zipfile

    from docx.opc.oxml import serialize_part_xml

    raw = empty_document_bytes(draft=draft)
    with zipfile.ZipFile(io.BytesIO(raw)) as package:
        members = [(name, package.read(name)) for name in package.namelist()]
    main = dict(members)["word/document.xml"]
    # Serialised as python-docx saves a part, so the text around the paragraphs is theirs.
    text = serialize_part_xml(parse_xml(main)).decode("utf-8")
    # Style ids looked up once: python-docx's style setter searches styles.xml by name.
    styles = Document(io.BytesIO(raw)).styles
    return members, text, {name: styles[name].style_id for name in STYLES}
