"""The printable 督办单 (.docx) in the GB/T 9704 layout, from a plan.supervision.SupervisionSheet.

Parts: 标志 (the issuer), 督办编号 in the 发文字号 place, title "督办单", 主送 (the unit),
一、督办事项 (numbered, each with its due date and working days overdue, what to send, and
only the earlier rungs actually recorded as sent), 二、办理时限 (a date), 三、反馈要求,
四、督办单位和联系人, then 落款 and date, and the 版记.
"""

from __future__ import annotations

from pathlib import Path

from notifications.gbt9704 import OfficialDocument, date_text, month_day
from plan.supervision import SheetItem, SupervisionSheet

FORMAT_WORDS = {"word": "Word版", "pdf-stamped": "盖章PDF版", "pdf": "PDF版", "xlsx": "Excel表格"}
RUNG_WORDS = {"remind": "提醒", "chase": "催办"}


def issuer_name(sheet: SupervisionSheet) -> str:
    """上海市知识产权局（知识产权保护处） → 上海市知识产权局: the 标志 and the 落款."""
    return sheet.issuer.split("（")[0]


def item_text(number: int, item: SheetItem, today_label: str) -> str:
    """1．半年度工作总结应于7月5日前报送，截至7月20日已逾期10个工作日。请报送 Word 版、…"""
    text = (f"{number}．{item.title}应于{month_day(item.due)}前报送，截至{today_label}已逾期"
            f"{item.working_days_overdue}个工作日。")
    wanted = [FORMAT_WORDS.get(f, f) for f in item.formats]
    if wanted or item.stats_table:
        text += "请报送" + "、".join(wanted) + ("，并附行政保护案件统计表" if item.stats_table else "") + "。"
    if item.earlier:
        sent = "、".join(f"{month_day(r.sent_on)}{RUNG_WORDS.get(r.kind, r.kind)}" for r in item.earlier)
        text += f"此前已于{sent}。"
    return text.replace("请报送，并附", "请报送")


def write_supervision_sheet(sheet: SupervisionSheet, path: Path) -> Path:
    doc = OfficialDocument()
    lay_out_sheet(doc, sheet)
    return doc.save(path)


def lay_out_sheet(doc: OfficialDocument, sheet: SupervisionSheet) -> None:
    """The 督办单's parts, in order, on ``doc`` (a builder with OfficialDocument's methods)."""
    issuer = issuer_name(sheet)
    doc.masthead(issuer, sheet.number)
    doc.title("督办单")
    doc.addressee(sheet.unit_name)
    today_label = month_day(sheet.issued_on)
    doc.paragraph(f"根据{sheet.doc_number}文件要求，你单位下列事项已超过报送期限，现予督办。")
    doc.heading1("一、督办事项")
    for number, item in enumerate(sheet.items, start=1):
        doc.paragraph(item_text(number, item, today_label))
    doc.heading1("二、办理时限")
    doc.paragraph(f"请于{date_text(sheet.deadline)}前办结上述事项。")
    doc.heading1("三、反馈要求")
    doc.paragraph(sheet.feedback)
    doc.heading1("四、督办单位和联系人")
    contacts = "；".join(f"{name}，电话{phone}" for name, phone in sheet.contacts)
    doc.paragraph(f"督办单位：{sheet.issuer}。联系人：{contacts}。邮箱：{sheet.mailbox}。")
    doc.signature(issuer, sheet.issued_on)
    doc.imprint(cc=None, printer=sheet.issuer, printed_on=sheet.issued_on)
