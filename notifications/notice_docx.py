"""Drafts of the 通报表扬 / 通报批评 notices: .docx in the GB/T 9704 layout, and Markdown.

The body follows the register of a 通报: 缘由 (why, citing the plan's notice), 一、基本情况
(facts in prose per unit, each a ledger fact, see plan.evaluation.public_facts), 二、通报
决定, 三、有关要求 (or 希望).  No scores or rung ids appear here: they go into the 评分明细
workbook beside the drafts (notifications/score_sheet).  Until leadership approves the list
every copy says 草稿 in its header, above the title and in the file name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from notifications.gbt9704 import DRAFT_HEADER, OfficialDocument, date_text
from notifications.markdown_text import escape_markdown

PERIOD_WORDS = {"half-year": "上半年", "annual": "全年"}
KIND_WORDS = {"commend": "通报表扬", "criticise": "通报批评"}
PUBLIC_NOTE = "此件主动公开"


@dataclass(frozen=True)
class Listed:
    name: str
    facts: tuple[str, ...]  # public sentences (plan.evaluation.public_facts)


@dataclass(frozen=True)
class Notice:
    kind: str  # commend | criticise
    period: str
    year: int
    plan_title: str
    doc_number: str  # the plan's, e.g. 沪知局保〔2024〕15号
    addressees: str
    signer: str
    date: dt.date  # 成文日期
    units: tuple[Listed, ...]
    draft: bool
    rectify_due: dt.date | None = None
    public: bool = False  # 附注（此件主动公开）
    cc: str | None = None  # 抄送

    @property
    def mark(self) -> str:
        return f"{self.signer}文件"

    @property
    def title(self) -> str:
        subject = "工作成效显著单位予以通报表扬" if self.kind == "commend" else "工作不力单位予以通报批评"
        return (f"{self.signer}关于对{self.year}年{PERIOD_WORDS[self.period]}知识产权行政保护"
                f"{subject}的通报")

    @property
    def number_line(self) -> str:
        """The 发文字号 with the serial left blank: 沪知局保〔2024〕　　号."""
        prefix = self.doc_number.split("〕")[0] + "〕" if "〕" in self.doc_number else ""
        return f"{prefix}　　号" if prefix else "〔　　〕　　号"

    def blocks(self) -> list[tuple[str, str]]:
        """The body as (kind, text): kind is body | h1."""
        if not self.units:
            raise ValueError("an empty list produces no notice")
        period = f"{self.year}年{PERIOD_WORDS[self.period]}"
        names = "、".join(u.name for u in self.units)
        why = (f"为贯彻落实《{self.plan_title}》（{self.doc_number}，以下简称《方案》），{self.signer}"
               f"对各单位{period}知识产权行政保护工作推进情况进行了评估。")
        out: list[tuple[str, str]] = []
        facts = [("body", "".join(u.facts)) for u in self.units if u.facts]
        if not facts:
            # Listed by leadership's decision alone: the notice claims no finding it cannot show.
            out.append(("body", why + "现将有关情况通报如下："))
        elif self.kind == "commend":
            out.append(("body", why + "评估中，一些单位按照《方案》要求按时报送材料，工作推进有力。"
                                      "现将有关情况通报如下："))
        else:
            out.append(("body", why + "评估发现，有的单位未按《方案》要求报送材料，工作推进不力。"
                                      "现将有关情况通报如下："))
        if facts:
            out.append(("h1", "一、基本情况"))
            out += facts
        numbers = iter(("二", "三") if facts else ("一", "二"))
        out.append(("h1", f"{next(numbers)}、通报决定"))
        out.append(("body", f"经研究，决定对{names}予以{KIND_WORDS[self.kind]}。"))
        if self.kind == "commend":
            out.append(("h1", f"{next(numbers)}、希望"))
            out.append(("body", "希望受到表扬的单位再接再厉，充分发挥示范引领作用。各单位要以先进为榜样，"
                                "对照《方案》要求按时报送各类材料，扎实推进各项任务落实。"))
        else:
            due = f"于{date_text(self.rectify_due)}前" if self.rectify_due else "限期"
            out.append(("h1", f"{next(numbers)}、有关要求"))
            out.append(("body", f"被通报批评的单位要认真查找原因，{due}向{self.signer}报送整改报告。"
                                f"{self.signer}将约谈相关单位负责人，并对整改情况进行复查。"))
            out.append(("body", "各单位要引以为戒，对照《方案》要求按时报送各类材料，确保各项任务落到实处。"))
        return out


def write_docx(notice: Notice, path: Path) -> Path:
    doc = OfficialDocument(draft=notice.draft)
    lay_out_notice(doc, notice)
    return doc.save(path)


def lay_out_notice(doc: OfficialDocument, notice: Notice) -> None:
    """The 通报's parts, in order, on ``doc`` (a builder with OfficialDocument's methods)."""
    doc.masthead(notice.mark, notice.number_line)
    doc.title(notice.title)
    doc.addressee(notice.addressees)
    for kind, text in notice.blocks():
        (doc.heading1 if kind == "h1" else doc.paragraph)(text)
    doc.signature(notice.signer, notice.date)
    if notice.public:
        doc.note(PUBLIC_NOTE)
    doc.imprint(cc=notice.cc, printer=f"{notice.signer}办公室", printed_on=notice.date)


def markdown(notice: Notice) -> str:
    lines = []
    if notice.draft:
        lines += [f"> **草稿**——{DRAFT_HEADER.split('——', 1)[1]}", ""]
    md = escape_markdown
    lines += [f"**{md(notice.mark)}**", "", md(notice.number_line), "", f"# {md(notice.title)}", "",
              f"{md(notice.addressees)}：", ""]
    for kind, text in notice.blocks():
        lines += [f"## {md(text)}" if kind == "h1" else md(text), ""]
    lines += [f"<p align=\"right\">{md(notice.signer)}<br>{date_text(notice.date)}</p>", ""]
    if notice.public:
        lines += [f"（{PUBLIC_NOTE}）", ""]
    if notice.cc:
        lines += ["---", f"抄送：{md(notice.cc)}。", ""]
    lines += ["---", f"{md(notice.signer)}办公室　　{date_text(notice.date)}印发", ""]
    return "\n".join(lines)


def write_markdown(notice: Notice, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(notice), encoding="utf-8")
    return path
