"""Drafts of the 通报表扬 / 通报批评 notices, as .docx (official-notice layout) and Markdown.

Layout: title, a blank 文号 line to be numbered at issue, 主送 line, body with each unit
and its reasons, 落款 and the date in Chinese.  Until leadership approves the list every
copy says 草稿 in its header, above the title and in the file name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph

DIGITS = "〇一二三四五六七八九"
PERIOD_WORDS = {"half-year": "上半年", "annual": "全年"}
KIND_WORDS = {"commend": "通报表扬", "criticise": "通报批评"}


def chinese_number(n: int) -> str:
    """1–31 as written in dates: 十, 十一, 二十, 二十一, 三十一."""
    if n < 10:
        return DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")


def chinese_date(day: dt.date) -> str:
    """2024-07-20 → 二〇二四年七月二十日."""
    year = "".join(DIGITS[int(c)] for c in str(day.year))
    return f"{year}年{chinese_number(day.month)}月{chinese_number(day.day)}日"


@dataclass(frozen=True)
class Listed:
    name: str
    score: float
    rank: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    kind: str  # commend | criticise
    period: str
    year: int
    plan_title: str
    doc_number: str  # the plan's, e.g. 沪知局保〔2024〕15号
    addressees: str
    signer: str
    date: dt.date
    units: tuple[Listed, ...]
    draft: bool
    rectify_due: dt.date | None = None

    @property
    def title(self) -> str:
        subject = "工作成效显著单位予以通报表扬" if self.kind == "commend" else "工作不力单位予以通报批评"
        return (f"{self.signer}关于对{self.year}年{PERIOD_WORDS[self.period]}知识产权行政保护"
                f"{subject}的通报")

    @property
    def number_line(self) -> str:
        """The 文号 with the serial left blank: 沪知局保〔2024〕　　号."""
        prefix = self.doc_number.split("〕")[0] + "〕" if "〕" in self.doc_number else ""
        return f"{prefix}　　号" if prefix else "〔　　〕　　号"

    def paragraphs(self) -> list[str]:
        period = f"{self.year}年{PERIOD_WORDS[self.period]}"
        intro = (f"根据《{self.plan_title}》（{self.doc_number}）要求，{self.signer}对各单位{period}"
                 "工作推进情况进行了评估。")
        if self.kind == "commend":
            lead = (f"{intro}以下单位按时保质完成各项报送任务，工作成效显著，现予以通报表扬：" if self.units
                    else f"{intro}本期无建议通报表扬的单位。")
            close = "希望受到表扬的单位再接再厉，充分发挥示范引领作用；各单位要以先进为榜样，扎实推进各项任务落实。"
        else:
            lead = (f"{intro}以下单位行政保护工作推进不力，现予以通报批评：" if self.units
                    else f"{intro}本期无建议通报批评的单位。")
            due = f"于{chinese_date(self.rectify_due)}前" if self.rectify_due else "限期"
            close = (f"请被通报批评的单位认真查找原因，{due}向{self.signer}报送整改报告。"
                     f"{self.signer}将约谈相关单位负责人，并对整改情况进行复查。")
        body = [lead]
        for i, unit in enumerate(self.units, start=1):
            number = chinese_number(i) if i <= 31 else str(i)
            body.append(f"{number}、{unit.name}（评估得分 {unit.score:g}，第 {unit.rank} 名）")
            body.extend(f"（{j}）{reason}" for j, reason in enumerate(unit.reasons, start=1))
        if self.units:
            body.append(close)
        return body


def _font(run: object, size: float, bold: bool = False, color: RGBColor | None = None) -> None:
    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    run.font.name = "FangSong"  # type: ignore[attr-defined]
    run._element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")  # type: ignore[attr-defined]
    if color is not None:
        run.font.color.rgb = color  # type: ignore[attr-defined]


class _Body:
    """Appends paragraphs in O(1).  python-docx's add_paragraph searches the body for the
    section properties on every call, which made a national-scale notice quadratic."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.body = doc.element.body
        self.sect = self.body.find(qn("w:sectPr"))
        if self.sect is not None:
            self.body.remove(self.sect)

    def add_paragraph(self) -> Paragraph:
        element = OxmlElement("w:p")
        self.body.append(element)
        return Paragraph(element, self.doc._body)

    def close(self) -> None:
        if self.sect is not None:
            self.body.append(self.sect)  # the section properties must stay last


def write_docx(notice: Notice, path: Path) -> Path:
    document = Document()
    red = RGBColor(0xC6, 0x28, 0x28)
    if notice.draft:
        header = document.sections[0].header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(header.add_run("草稿——未经局领导审定，不得印发"), 10.5, True, red)
    doc = _Body(document)  # from here on the section properties are detached until close()
    if notice.draft:
        mark = doc.add_paragraph()
        mark.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(mark.add_run("草稿"), 22, True, red)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(notice.title), 18, True)
    number = doc.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(number.add_run(notice.number_line), 16)
    to = doc.add_paragraph()
    _font(to.add_run(f"{notice.addressees}："), 16)
    for text in notice.paragraphs():
        para = doc.add_paragraph()
        para.paragraph_format.first_line_indent = Pt(32)
        _font(para.add_run(text), 16)
    doc.add_paragraph()
    for text in (notice.signer, chinese_date(notice.date)):
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(para.add_run(text), 16)
    doc.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def markdown(notice: Notice) -> str:
    lines = []
    if notice.draft:
        lines += ["> **草稿**——未经局领导审定，不得印发", ""]
    lines += [f"# {notice.title}", "", notice.number_line, "", f"{notice.addressees}：", ""]
    lines += [f"{p}\n" for p in notice.paragraphs()]
    lines += ["", f"<p align=\"right\">{notice.signer}<br>{chinese_date(notice.date)}</p>", ""]
    return "\n".join(lines)


def write_markdown(notice: Notice, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(notice), encoding="utf-8")
    return path
