"""Official-document layout (GB/T 9704-2012 党政机关公文格式) for .docx files.

One builder, :class:`OfficialDocument`, lays out the parts the bureau's documents use:
版头 (red 发文机关标志, 发文字号, red rule), title, 主送, body with 一级/二级 headings,
落款 and 成文日期, 附注, 版记 (抄送, 印发机关 and 印发日期 between rules) and the page
number "— 1 —" at the outside corners.  Every paragraph kind is a named paragraph style
defined once in styles.xml (see :data:`notifications.gbt9704_styles.STYLES`), so a leader's edit
in Word keeps the form.

Measures from the standard: A4; top margin 37 mm, left 28 mm, text area 156 × 225 mm; 22
lines of 28 characters of 3号 (16 pt) type, so the line pitch is 225 mm / 22 ≈ 28.95 pt.
Fonts are requested by name; the machine that opens the file substitutes what it lacks.
Word and LibreOffice read one East-Asian font per run, so the fallback chain is written
into the font table (w:altName) rather than into the runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pickle
import re
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from notifications import zip_package
from notifications.zip_package import Member, archive, deflated

# Lengths in English Metric Units, converted as python-docx's Mm, Pt and Length.twips do
# (this module does not import python-docx: see notifications.gbt9704_styles).
EMU_PER_MM, EMU_PER_PT, EMU_PER_TWIP = 36_000, 12_700, 635
BODY_SIZE = 16.0  # 3号


def mm(value: float) -> int:
    return int(value * EMU_PER_MM)


def pt(value: float) -> int:
    return int(value * EMU_PER_PT)


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


MAIN_PART = "word/document.xml"


@dataclass(frozen=True)
class _Template:
    """The empty document's package: every part but the main one deflated once (None marks
    the main part's place), the main part's text before and after the body's paragraphs,
    and the style ids of :data:`~notifications.gbt9704_styles.STYLES`."""

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
    # The libraries' versions are read from their __init__ files (which state them), not by
    # importing them: not importing python-docx is what the cache is for.
    digest = hashlib.sha256(f"{draft}|{sys.version}".encode())
    for module in (Path(__file__), Path(zip_package.__file__), _source("notifications.gbt9704_styles"),
                   _source("docx"), _source("lxml")):
        digest.update(b"\0" + module.read_bytes())
    return folder / f"gbt9704-{digest.hexdigest()[:20]}.pickle"


def _source(module: str) -> Path:
    spec = find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin)


def _build_template(draft: bool) -> _Template:
    from notifications.gbt9704_styles import empty_package

    members, main, style_ids = empty_package(draft=draft)
    parts = tuple(None if name == MAIN_PART else deflated(name, data) for name, data in members)
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
    return str(round(length / EMU_PER_TWIP))  # as python-docx's Length.twips


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
        self.add("GB Mark", mark, f'<w:spacing w:before="{_twips(mm(35))}"/>')
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
        self.add("GB Signature", signer, f'<w:ind w:right="{_twips(pt(BODY_SIZE * max(offset, 0)))}"/>')
        self.add("GB Signature", date, f'<w:ind w:right="{_twips(pt(BODY_SIZE * 4))}"/>')

    def note(self, text: str) -> None:
        """附注 one line below the date, left with two characters, in brackets."""
        self.add("GB Note", f"（{text}）")

    def imprint(self, *, cc: str | None, printer: str, printed_on: dt.date) -> None:
        """版记: 抄送, then 印发机关 and 印发日期, between rules (outer 0.35 mm, inner 0.25 mm)."""
        self.add("GB Body")
        indent = f'<w:ind w:left="{_twips(pt(14))}" w:right="{_twips(pt(14))}"/>'
        top = ""
        if cc:
            self.add("GB Imprint", f"抄送：{cc}。",
                     indent + _borders(_border("top", 8, "000000"), _border("bottom", 6, "000000")))
        else:
            top = _border("top", 8, "000000")
        tabs = f'<w:tabs><w:tab w:pos="{_twips(mm(156) - pt(28))}" w:val="right"/></w:tabs>'
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
