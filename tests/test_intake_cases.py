"""Issue #9's measured cases: every file that used to be recorded wrongly, pinned.

Names are matched with the shipped plan (its aliases, its year); files are made by
LibreOffice where the issue says so (a session-scoped fixture, built once).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from email.message import EmailMessage
from pathlib import Path, PurePath

import pytest

from flows.inbox import deliverables, process_inbox
from flows.intake_imports import unit_aliases, unit_names
from plan.intake_rules import match_file
from tests import office_files
from tests.chinese_text import flat
from tests.office_files import made  # noqa: F401  (session fixture)
from tests.test_inbox import pdf

JULY_8 = dt.date(2024, 7, 8)
NO_HALF_YEAR = "识别为「上海奉贤（化妆品）知识产权快速维权中心」，该单位没有与「半年」对应的报送义务"


def _year(y: int) -> str:
    return (f"文件名写的是 {y} 年，本方案是 2024 年度，不能登记为本年度的报送"
            "（如确属本年度材料，请改正文件名中的年份后重新放入）")


def _match(plan, name: str, today: dt.date = JULY_8):
    return match_file(PurePath(name), unit_names(plan), deliverables(plan), aliases=unit_aliases(plan),
                      year=2024, today=today)


@pytest.mark.parametrize(("name", "unit", "deliverable", "reason"), [
    # the Fengxian rapid centre is never read as 奉贤区知识产权局 (and owes no half-year summary)
    ("奉贤快维中心2024年上半年工作情况.pdf", "fengxian-rapid-centre", None, NO_HALF_YEAR),
    ("奉贤区（化妆品）快速维权中心半年总结.pdf", "fengxian-rapid-centre", None, NO_HALF_YEAR),
    ("快维中心-半年总结.pdf", "fengxian-rapid-centre", None, NO_HALF_YEAR),
    ("奉贤区-半年总结.pdf", "fengxian", "half-year-summary", ""),
    # another year is never this year's report
    ("宝山区关于2023年度工作总结的报告.pdf", "baoshan", None,
     _year(2023)),
    ("金山区2023年上半年工作总结.pdf", "jinshan", None,
     _year(2023)),
    ("徐汇区2025年工作计划.docx", "xuhui", None,
     _year(2025)),
    # real titles of the half-year summary
    ("杨浦区2024年上半年工作总结及下半年工作计划.docx", "yangpu", "half-year-summary", ""),
    ("普陀区2024年1-6月工作总结.pdf", "putuo", "half-year-summary", ""),
    ("普陀区2024年1月-6月工作总结.pdf", "putuo", "half-year-summary", ""),
    ("ｍｉｎｈａｎｇ－半年总结.pdf", "minhang", "half-year-summary", ""),
    ("长宁区2024年度上半年工作总结.docx", "changning", "half-year-summary", ""),
    ("长宁区2024年度工作总结.docx", "changning", "annual-summary", ""),
    # 总结 without a period word: the summary whose window is open
    ("静安区工作总结.pdf", "jingan", "half-year-summary", ""),
])
def test_names_from_the_issue(plan, name: str, unit: str, deliverable: str | None, reason: str) -> None:
    match = _match(plan, name)
    assert (match.unit_id, match.deliverable, match.reason) == (unit, deliverable, reason)


def test_summary_window(plan) -> None:
    # half-year due 07-05 (+30 days grace), annual due 12-05 (+30): nothing open after that
    assert _match(plan, "静安区工作总结.pdf", dt.date(2024, 8, 4)).deliverable == "half-year-summary"
    assert _match(plan, "静安区工作总结.pdf", dt.date(2024, 8, 5)).deliverable == "annual-summary"
    late = _match(plan, "静安区工作总结.pdf", dt.date(2025, 1, 10))
    assert (late.deliverable, late.reason) == (
        None, "文件名只写了「总结」，没有写明是半年还是全年，2025-01-10 也不在任何总结的报送期内"
              "（截止日后 30 天内），无法判断是哪项报送")


def test_an_alias_shared_by_two_units_is_refused(tmp_path: Path) -> None:
    from plan import load_plan
    from plan.errors import PlanError

    source = Path(__file__).parents[1] / "plan.yaml"
    text = source.read_text(encoding="utf-8").replace(
        "    aliases: [奉贤快维中心, 快维中心, 快速维权中心]",
        "    aliases: [奉贤快维中心, 快维中心, 快速维权中心, 奉贤区]")
    (tmp_path / "plan.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(tmp_path / "plan.yaml")
    [problem] = caught.value.problems
    assert problem.message == "别名「奉贤区」同时指向单位「fengxian」和「fengxian-rapid-centre」"
    assert problem.hint == "每个别名只能属于一个单位；删掉其中一个，或改成更具体的名称"


def _tiny_zip() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.pdf", b"%PDF-1.4 nested %%EOF" * 8)
    return buffer.getvalue()


def _eml(path: Path, subject: str, attachments: dict[str, bytes], sender: str = "someone@126.com") -> Path:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "shszcj@126.com"
    message["Subject"] = subject
    message.set_content("附件为半年总结，请查收。")
    for name, data in attachments.items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    path.write_bytes(bytes(message))
    return path


def test_a_mixed_inbox_records_only_what_it_can_prove(synced, workdir: Path, made: Path, db_url: str) -> None:  # noqa: F811
    inbox = workdir / "var" / "inbox"
    inbox.mkdir(parents=True)
    # recorded: a LibreOffice PDF + Word; a template table converted to .ods by LibreOffice
    shutil.copy(made / "summary-a.pdf", inbox / "浦东新区2024年1-6月工作总结.pdf")
    shutil.copy(made / "summary-a.docx", inbox / "浦东新区2024年上半年工作总结及下半年工作计划.docx")
    shutil.copy(made / "songjiang-template.ods", inbox / "松江区上半年统计表.ods")
    # a zip holding a summary (its unit named by the zip) and a nested zip
    with zipfile.ZipFile(inbox / "嘉定区半年报送材料.zip", "w") as z:
        z.write(made / "summary-b.pdf", "上半年工作总结（盖章）.pdf")
        z.writestr("旧材料.zip", _tiny_zip())  # nested: not opened
    # last year's archive: its members name no year, and are not this year's
    with zipfile.ZipFile(inbox / "宝山区2023年半年材料.zip", "w") as z:
        z.writestr("上半年工作总结.pdf", pdf(workdir / "bs.pdf", "baoshan").read_bytes())
    # a saved mail from a unit's contact address: its attachment names no unit
    _eml(inbox / "来信.eml", "报送", {"上半年工作总结.pdf": pdf(workdir / "cn.pdf", "changning").read_bytes()},
         sender="长宁 <changning@example.org>")
    # a statistics table inside a zip is imported
    table = office_files.template_table(workdir / "minhang.xlsx", ("minhang", "闵行区知识产权局"))
    with zipfile.ZipFile(inbox / "闵行区上半年统计表.zip", "w") as z:
        z.write(table, "统计表.xlsx")
    # an .eml whose attachments name 杨浦区
    _eml(inbox / "转发：半年总结.eml", "转发：半年总结",
         {"杨浦区上半年工作总结.pdf": (made / "summary-c.pdf").read_bytes()})
    # never a summary: clerk-made tables (found by their labels) are imported as tables …
    shutil.copy(made / "clerk.xls", inbox / "青浦区2024年上半年统计表.xls")
    shutil.copy(made / "clerk.ods", inbox / "临港新片区上半年统计表.ods")
    shutil.copy(made / "clerk.xlsx", inbox / "虹口区上半年工作总结.xlsx")
    # … and one that only looks like a table goes to unmatched
    shutil.copy(made / "messy.xlsx", inbox / "宝山区上半年工作总结.xlsx")
    # broken or partial files
    (inbox / "黄浦区半年总结.doc").write_bytes(b"")
    (inbox / "静安区半年总结.zip").write_bytes(b"PK\x05\x06")
    (inbox / "普陀区半年总结.pdf.tmp").write_bytes(b"%PDF-1.4 partial")
    # the same file under two units' names in one run
    shutil.copy(made / "summary-b.docx", inbox / "长宁区上半年工作总结.docx")
    shutil.copy(made / "summary-b.docx", inbox / "普陀区上半年工作总结.docx")

    report = process_inbox(plan=synced, inbox_dir=inbox, today=JULY_8, actor="测试员")
    recorded = sorted((i.path, i.outcome, i.unit, i.milestone, i.missing) for i in report.recorded)
    no_summary = ("工作总结（Word 版及 PDF 盖章版）尚未收到",)
    assert recorded == sorted([
        ("青浦区2024年上半年统计表.xls", "stats", "qingpu", None, no_summary),
        ("虹口区上半年工作总结.xlsx", "stats", "hongkou", None, no_summary),
        ("minhang/统计表.xlsx", "stats", "minhang", None, no_summary),
        ("changning/上半年工作总结.pdf", "submission", "changning", "half-year-summary",
         ("Word 版尚未收到", "未附行政保护案件统计表")),
        ("jiading/上半年工作总结（盖章）.pdf", "submission", "jiading", "half-year-summary",
         ("Word 版尚未收到", "未附行政保护案件统计表")),
        ("临港新片区上半年统计表.ods", "stats", "lingang", None, ("工作总结（Word 版及 PDF 盖章版）尚未收到",)),
        ("杨浦区上半年工作总结.pdf", "submission", "yangpu", "half-year-summary",
         ("Word 版尚未收到", "未附行政保护案件统计表")),
        ("松江区上半年统计表.ods", "stats", "songjiang", None, ("工作总结（Word 版及 PDF 盖章版）尚未收到",)),
        ("浦东新区2024年1-6月工作总结.pdf", "submission", "pudong", "half-year-summary", ("未附行政保护案件统计表",)),
        ("浦东新区2024年上半年工作总结及下半年工作计划.docx", "submission", "pudong", "half-year-summary",
         ("未附行政保护案件统计表",)),
    ])
    assert all(len(i.sha256) == 64 and i.recorded and i.reason == "" for i in report.recorded)
    assert report.skipped == ["普陀区半年总结.pdf.tmp"]
    reasons = {i.path: i.reason for i in report.unmatched}
    short = office_files.sha256(made / "summary-b.docx")[:12]
    stats_refusal = ("：看起来是行政保护案件统计表，但不是能读取的统计表格式，未导入数字，也不会当作工作总结登记\n"
                     "  提示：请用 duban stats template 生成的模板填写后重新报送，"
                     "或用 duban stats import --unit --period 导入")
    assert reasons == {
        "宝山区2023年半年材料.zip": "宝山区2023年半年材料.zip：压缩包名称或主题写的是 2023 年，本方案是 2024 年度，"
                                   "不能登记为本年度的报送（如确属本年度材料，请改正文件名中的年份后重新放入）\n"
                                   "  提示：确属本年度材料的，请把其中的文件直接放入收件文件夹",
        "jiading/旧材料.zip": "jiading/旧材料.zip：是套在压缩包或邮件里的压缩包，不再逐层打开\n"
                            "  提示：请直接发送报送材料本身（最多一层压缩包）",
        "宝山区上半年工作总结.xlsx": "宝山区上半年工作总结.xlsx" + stats_refusal,
        "黄浦区半年总结.doc": "是空文件（0 字节）\n  提示：请对方重新发送完整的文件（邮件附件可能没有下载完整）",
        "静安区半年总结.zip": "文件内容不是 .zip 格式（不是 zip 包），可能已损坏或改了扩展名\n"
                            "  提示：请对方重新导出并完整发送该文件",
        **{f"{u}上半年工作总结.docx": f"同一文件（sha256 {short}）同时以「长宁区知识产权局」「普陀区知识产权局」"
                                     "的名义送来，无法判断属于哪个单位" for u in ("长宁区", "普陀区")},
    }
    assert {i.path for i in report.by("container")} == {"嘉定区半年报送材料.zip", "转发：半年总结.eml",
                                                        "闵行区上半年统计表.zip", "来信.eml"}
    assert json.dumps(report.as_json(), ensure_ascii=False)  # serialisable for duban run --json

    # a later run: the file already recorded for pudong, now sent as xuhui's
    shutil.copy(made / "summary-a.pdf", inbox / "徐汇区上半年工作总结.pdf")
    again = process_inbox(plan=synced, inbox_dir=inbox, today=JULY_8, actor="测试员")
    [item] = again.unmatched
    assert item.reason == (f"同一文件（sha256 {item.sha256[:12]}）已登记为「浦东新区知识产权局」"
                           "的「半年度工作总结」，不能再登记给「徐汇区知识产权局」")
    assert ("\n登记命令：duban inbox assign unmatched/徐汇区上半年工作总结.pdf --unit xuhui --milestone 节点名称\n"
            in (inbox / "unmatched" / "徐汇区上半年工作总结.pdf.reason.txt").read_text(encoding="utf-8"))


def test_the_season_on_july_8_chases_exactly_who_did_not_report(synced, workdir: Path, made: Path, capsys) -> None:  # noqa: F811
    """A mixed inbox on 2024-07-08, then the cycle: units that truly reported are not
    chased, every other is, and the coordinator's email lists what could not be placed."""
    from sqlalchemy import select

    from flows.commands.cycle import print_summary
    from flows.steps import run_cycle
    from models.db import session_scope
    from models.tables import Escalation, LedgerEntry, OutboxMessage
    from notifications.compose import materialise

    inbox = workdir / "var" / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(made / "summary-a.pdf", inbox / "浦东新区2024年1-6月工作总结.pdf")
    with zipfile.ZipFile(inbox / "嘉定区半年报送材料.zip", "w") as z:
        z.write(made / "summary-b.pdf", "上半年工作总结（盖章）.pdf")
    _eml(inbox / "转发：半年总结.eml", "转发：半年总结",
         {"杨浦区上半年工作总结.pdf": (made / "summary-c.pdf").read_bytes()})
    # look like reports, must not stop the chase
    shutil.copy(made / "messy.xlsx", inbox / "青浦区2024年上半年统计表.xlsx")
    shutil.copy(made / "summary-a.docx", inbox / "金山区2023年上半年工作总结.docx")
    shutil.copy(made / "summary-c.docx", inbox / "奉贤快维中心2024年上半年工作情况.docx")
    (inbox / "黄浦区半年总结.doc").write_bytes(b"")

    summary = run_cycle(plan_path=workdir / "plan.yaml", today=JULY_8, actor="测试员", plan=synced)

    owing = set(synced.expand(synced.reports["half-year-summary"].units))
    with session_scope() as session:
        chased = set(session.execute(
            select(LedgerEntry.unit_id).join(Escalation, Escalation.entry_id == LedgerEntry.id)
            .where(LedgerEntry.milestone_id == "half-year-summary", Escalation.fired_on == JULY_8)).scalars())
        lists = [(row.subject, materialise(row).text) for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "coordinator-list"))]
    assert chased == owing - {"pudong", "jiading", "yangpu"}
    assert {"qingpu", "jinshan", "huangpu", "fengxian"} <= chased
    [(subject, body)] = lists
    assert "4个来件未能自动登记" in subject
    assert "未能自动登记的来件（4 个，在收件文件夹的 unmatched/ 中，登记前相关单位仍按未报送督办）：" in body
    for name in ("青浦区2024年上半年统计表.xlsx", "金山区2023年上半年工作总结.docx",
                 "奉贤快维中心2024年上半年工作情况.docx", "黄浦区半年总结.doc"):
        assert f"unmatched/{name}\n" in body
    assert ("     原因：文件名写的是 2023 年，本方案是 2024 年度，不能登记为本年度的报送"
            "（如确属本年度材料，请改正文件名中的年份后重新放入）\n"
            "     登记：duban inbox assign unmatched/金山区2023年上半年工作总结.docx"
            " --unit jinshan --milestone 节点名称\n") in body

    capsys.readouterr()
    print_summary(summary)
    printed = capsys.readouterr().out
    assert printed.startswith("收件：登记 3 个，未能自动登记 4 个\n")
    assert "\n  未能自动登记：黄浦区半年总结.doc — 是空文件（0 字节）\n" in printed
    assert "unmatched 4" not in printed
    assert "未能自动登记的来件 4 个（已列入协调人当天的邮件；登记前相关单位仍按未报送督办）：" in printed
    assert "     登记：duban inbox assign unmatched/黄浦区半年总结.doc --unit huangpu --milestone 节点名称" in printed


def test_the_coordinator_hears_of_unmatched_files_on_a_day_without_a_list(plan) -> None:
    from notifications.render import render_notice
    from plan.notice import UnmatchedFile
    from plan.unmatched import with_unmatched

    [notice] = with_unmatched([], plan=plan, today=JULY_8, unmatched=[UnmatchedFile(
        "unmatched/浦东-总结.pdf", "文件名中看不出是哪项报送",
        "duban inbox assign unmatched/浦东-总结.pdf --unit pudong --milestone 节点名称")])
    assert (notice.kind, notice.items, notice.to) == ("coordinator-list", (), ("shszcj@126.com",))
    rendered = render_notice(notice)
    assert rendered.subject == "【未能自动登记的来件】2024年7月8日：1个来件待人工登记"
    assert ("    今日没有新列入督导检查名单的单位。\n\n"
            "未能自动登记的来件（1 个，在收件文件夹的 unmatched/ 中，登记前相关单位仍按未报送督办）：\n"
            "  1. unmatched/浦东-总结.pdf\n"
            "     原因：文件名中看不出是哪项报送\n"
            "     登记：duban inbox assign unmatched/浦东-总结.pdf --unit pudong --milestone 节点名称\n"
            ) in rendered.text
    assert "<code>duban inbox assign unmatched/浦东-总结.pdf --unit pudong --milestone 节点名称</code>" in rendered.html


def test_assign_records_an_unmatched_file_in_one_step(synced, workdir: Path, made: Path, cli) -> None:  # noqa: F811
    inbox = workdir / "var" / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(made / "summary-a.pdf", inbox / "浦东-总结材料.pdf")
    process_inbox(plan=synced, inbox_dir=inbox, today=dt.date(2025, 2, 1), actor="测试员")
    assert (inbox / "unmatched" / "浦东-总结材料.pdf").is_file()

    result = cli("inbox", "assign", "unmatched/浦东-总结材料.pdf", "--unit", "浦东新区", "--milestone",
                 "half-year-summary", "--today", "2024-07-08")
    assert result.exit_code == 0, result.output
    assert flat(result.stdout).startswith(
        flat("已登记：浦东新区知识产权局 · 半年度工作总结，文件 浦东-总结材料.pdf（sha256 "))
    assert flat(result.stdout).endswith(flat("），已移到 processed/浦东-总结材料.pdf。"))
    assert not (inbox / "unmatched" / "浦东-总结材料.pdf.reason.txt").exists()
    status = cli("status", "--unit", "pudong", "--json", "--today", "2024-07-08")
    entries = {e["milestone"]: e for e in json.loads(status.stdout)["entries"]}
    assert entries["half-year-summary"]["submitted_on"] == "2024-07-08"

    # the same file for another unit: refused by duban record, named by its Chinese name
    shutil.copy(made / "summary-a.pdf", workdir / "copy.pdf")
    refused = cli("record", "--unit", "徐汇区", "--milestone", "half-year-summary", "--file",
                  str(workdir / "copy.pdf"), "--today", "2024-07-08")
    assert refused.exit_code == 1
    digest = office_files.sha256(made / "summary-a.pdf")[:12]
    assert refused.stderr == (f"错误：{workdir / 'copy.pdf'}：同一文件（sha256 {digest}）已登记为「浦东新区知识产权局」"
                              "的「半年度工作总结」，不能再登记给「徐汇区知识产权局」\n"
                              "提示：确认文件是哪个单位的；同一份文件只能作为一个单位的报送\n")
    ok = cli("record", "--unit", "徐汇区知识产权局", "--milestone", "half-year-summary", "--today", "2024-07-08")
    assert ok.exit_code == 0, ok.output
    assert flat(ok.stdout).startswith(flat("已登记：徐汇区知识产权局 · 半年度工作总结，报送日期 2024-07-08"))
    # an alias names its unit: the rapid centre owes nothing, and the refusal names it by id
    alias = cli("record", "--unit", "奉贤快维中心", "--milestone", "half-year-summary", "--today", "2024-07-08")
    assert alias.exit_code == 1
    assert alias.stderr.startswith("错误：单位「fengxian-rapid-centre」不需要报送「half-year-summary」\n")
