"""The inbox folder: a mixed folder of real files sorted into recorded and unmatched."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

from flows.inbox import InboxReport, process_inbox
from models import intake
from models.db import session_scope
from tests.chinese_text import flat
from tests.conftest import table_snapshot
from tests.test_stats_support import fill

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def docx(path: Path, text: str) -> Path:
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def pdf(path: Path, marker: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF.replace(b"Catalog", b"Catalog" + marker.encode()))
    return path


def stats_file(cli, workdir: Path, unit: str, target: Path, **values) -> Path:
    template = workdir / f"tpl-{unit}.xlsx"
    cli("stats", "template", "--unit", unit, "--period", "half-year", "-o", str(template), ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    return fill(template, target, values=values or None)


@pytest.fixture
def inbox(synced, workdir: Path) -> Path:
    path = workdir / "var" / "inbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_mixed_folder_is_sorted(inbox: Path, workdir: Path, cli, db_url: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    docx(inbox / "pudong" / "半年总结.docx", "浦东新区半年度工作总结")
    pdf(inbox / "pudong" / "半年总结（盖章）.pdf", "pudong")
    stats_file(cli, workdir, "pudong", inbox / "pudong" / "统计表.xlsx")
    pdf(inbox / "徐汇区知识产权局-2024年度工作计划.pdf", "xuhui")
    stats_file(cli, workdir, "xuhui", inbox / "徐汇统计.xlsx", **{"trademark-infringement.cases": 2})
    cli("ledger", "export", "--unit", "jingan", "-o", str(workdir / "jingan.xlsx"), ok=True)
    wb = openpyxl.load_workbook(workdir / "jingan.xlsx")
    wb["台账"]["G4"], wb["台账"]["I4"] = "综合科", "推进中"
    (inbox / "jingan").mkdir()
    wb.save(inbox / "jingan" / "台账.xlsx")
    # what cannot be taken in
    pdf(inbox / "半年总结.pdf", "nobody")
    pdf(inbox / "火星" / "半年总结.pdf", "mars")
    pdf(inbox / "..\\..\\黄浦-半年总结.pdf", "escape")
    stats_file(cli, workdir, "pudong", inbox / "hongkou" / "统计表.xlsx")  # pudong's table, hongkou's folder
    good = stats_file(cli, workdir, "putuo", workdir / "putuo.xlsx")
    (inbox / "putuo").mkdir()
    (inbox / "putuo" / "统计表.xlsx").write_bytes(good.read_bytes()[:3000])  # truncated
    (inbox / "putuo" / "半年总结.docm").write_bytes(docx(workdir / "m.docx", "宏").read_bytes())
    with zipfile.ZipFile(inbox / "yangpu-半年总结.docx", "w") as z:  # a .docx carrying a macro project
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/vbaProject.bin", b"macro")
    from msoffcrypto.format.ooxml import OOXMLFile

    with good.open("rb") as plain, (inbox / "minhang-半年统计表.xlsx").open("wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    pdf(inbox / "baoshan-半年总结.pdf", "x" * 150_000)  # over the limit below
    monkeypatch.setenv("DUBAN_INBOX_MAX_MB", "0.1")  # 100 KB; the other real files stay under
    (inbox / "~$统计表.xlsx").write_bytes(b"lock")  # Excel's lock file: left alone

    result = cli("inbox", "--today", "2024-07-04", "--json")
    assert result.exit_code == 1
    assert result.stderr == (f"错误：有 9 个文件未能处理，已移到 {inbox / 'unmatched'}\n"
                             "提示：原因和改法见同名的 .reason.txt 文件；改正后重新放入收件文件夹\n")
    report = json.loads(result.stdout)
    assert sorted((r["path"], r["outcome"], r["unit"], r["milestone"]) for r in report["recorded"]) == [
        ("jingan/台账.xlsx", "ledger", "jingan", None),
        ("pudong/半年总结.docx", "submission", "pudong", "half-year-summary"),
        ("pudong/半年总结（盖章）.pdf", "submission", "pudong", "half-year-summary"),
        ("pudong/统计表.xlsx", "stats", "pudong", None),
        ("徐汇区知识产权局-2024年度工作计划.pdf", "submission", "xuhui", "work-plan"),
        ("徐汇统计.xlsx", "stats", "xuhui", None),
    ]
    assert report["skipped"] == ["~$统计表.xlsx"]
    reasons = {r["path"]: r["detail"] for r in report["unmatched"]}
    assert reasons == {
        "..\\..\\黄浦-半年总结.pdf": "文件名「..\\..\\黄浦-半年总结.pdf」含有「../」或「\\」等路径成分，不予处理。"
                                   "请改成普通文件名（如 浦东新区-半年总结.pdf）后重新放入",
        "baoshan-半年总结.pdf": "文件大小 147 KB，超过上限 102 KB\n"
                              "  提示：请压缩或拆分后重新报送；确需接收更大的文件，可设置环境变量 DUBAN_INBOX_MAX_MB",
        "hongkou/统计表.xlsx": "统计表!B2：表中填报单位是「浦东新区知识产权局」（pudong），"
                             "但所在文件夹「hongkou」是「虹口区知识产权局」（hongkou）\n"
                             "  提示：确认这份表是哪个单位的：放到该单位的文件夹，或用正确的 --unit 重新导入",
        "minhang-半年统计表.xlsx": "文件设置了打开密码，无法读取\n"
                                 "  提示：请取消密码（文件→信息→保护→用密码进行加密，清空密码）后重新报送",
        "putuo/半年总结.docm": "是含宏的 Office 文件，出于安全考虑不予接收\n"
                             "  提示：请另存为不含宏的格式（.xlsx / .docx）后重新报送",
        "putuo/统计表.xlsx": "文件已损坏或不完整，无法打开\n"
                           "  提示：请对方重新导出并完整发送该文件（邮件附件可能没有下载完整）",
        "yangpu-半年总结.docx": "文件含有宏（vbaProject.bin），出于安全考虑不予接收\n"
                              "  提示：请另存为不含宏的格式（.xlsx / .docx）后重新报送",
        "半年总结.pdf": "文件名中没有可识别的单位名称，也没有放在单位文件夹里",
        "火星/半年总结.pdf": "文件夹「火星」不是单位编号或单位名称（单位编号见 plan.yaml 的 units:）",
    }
    assert _tree(inbox) == sorted([
        "~$统计表.xlsx",
        "processed/jingan/台账.xlsx", "processed/pudong/半年总结.docx", "processed/pudong/半年总结（盖章）.pdf",
        "processed/pudong/统计表.xlsx", "processed/徐汇区知识产权局-2024年度工作计划.pdf",
        "processed/徐汇统计.xlsx",
        *[f"unmatched/{name}{extra}" for name in [
            "_\\_\\黄浦-半年总结.pdf".replace("\\", "_"), "baoshan-半年总结.pdf", "hongkou/统计表.xlsx",
            "minhang-半年统计表.xlsx", "putuo/半年总结.docm", "putuo/统计表.xlsx", "yangpu-半年总结.docx",
            "半年总结.pdf", "火星/半年总结.pdf"] for extra in ("", ".reason.txt")],
    ])
    reason = (inbox / "unmatched" / "hongkou" / "统计表.xlsx.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith("文件：hongkou/统计表.xlsx\n处理日期：2024-07-04\n原因：统计表!B2：表中填报单位是")

    rows = table_snapshot(db_url)
    assert len(rows["submission"]) == 2  # pudong's Word + PDF are one submission
    files = sorted(f["name"] for s in rows["submission"]
                   for f in (json.loads(s[-1]) if isinstance(s[-1], str) else s[-1]))
    assert files == ["半年总结.docx", "半年总结（盖章）.pdf", "徐汇区知识产权局-2024年度工作计划.pdf"]
    assert len(rows["stats_report"]) == 2 and len(rows["progress_update"]) == 1
    assert len(rows["inbox_file"]) == 6
    stored = list((workdir / "var" / "files").rglob("*"))
    assert sum(p.is_file() for p in stored) >= 6  # content-addressed copies
    with session_scope() as session:
        status = intake.stats_status(session, "half-year")
        flags = intake.progress_flags(session)
    assert status["pudong"] is not None and status["xuhui"] is not None and status["hongkou"] is None
    assert "已收到统计表，总结未报送" in flags.values()  # xuhui: table yes, summary no

    # pudong's summary arrived on the run date, so it is not chased
    entries = json.loads(cli("status", "--unit", "pudong", "--today", "2024-07-08", "--json", ok=True).stdout)
    summary = next(e for e in entries["entries"] if e["milestone"] == "half-year-summary")
    assert (summary["state"], summary["submitted_on"]) == ("on-time", "2024-07-04")


def test_the_same_file_twice_is_recorded_once(inbox: Path, workdir: Path, cli, db_url: str) -> None:
    original = docx(workdir / "s.docx", "浦东新区半年度工作总结")
    (inbox / "pudong").mkdir()
    (inbox / "pudong" / "半年总结.docx").write_bytes(original.read_bytes())
    (inbox / "浦东新区-半年总结.docx").write_bytes(original.read_bytes())  # same bytes, twice in one run
    result = cli("inbox", "--today", "2024-07-04")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"收件文件夹 {inbox}：登记 1 个，重复 1 个，未能处理 0 个。"
    before = table_snapshot(db_url)
    (inbox / "pudong" / "半年总结.docx").write_bytes(original.read_bytes())  # and again the next day
    result = cli("inbox", "--today", "2024-07-05")
    assert flat(result.stdout) == flat("重复：pudong/半年总结.docx（浦东新区知识产权局 · 半年度工作总结） — "
                                       "同一文件已登记过，未重复登记\n"
                                       f"收件文件夹 {inbox}：登记 0 个，重复 1 个，未能处理 0 个。\n")
    assert table_snapshot(db_url) == before
    assert _tree(inbox) == ["processed/pudong/半年总结.docx", "processed/pudong/半年总结（2）.docx",
                            "processed/浦东新区-半年总结.docx"]


def test_only_bad_files_record_nothing(inbox: Path, workdir: Path, cli, db_url: str) -> None:
    stats_file(cli, workdir, "pudong", inbox / "pudong" / "统计表.xlsx", **{"patent-dispute.closed": 99})
    pdf(inbox / "不知道是谁.pdf")
    before = table_snapshot(db_url)
    result = cli("inbox", "--today", "2024-07-04")
    assert result.exit_code == 1
    assert table_snapshot(db_url) == before
    reason = (inbox / "unmatched" / "pudong" / "统计表.xlsx.reason.txt").read_text(encoding="utf-8")
    assert ("原因：统计表!C21：专利侵权纠纷行政裁决案件的结案数（99）大于案件数（9）\n"
            "  提示：结案数不能超过案件数，请核对这两格\n") in reason


def test_process_inbox_is_plain_and_dated_by_the_run(inbox: Path, db_url: str, synced) -> None:
    pdf(inbox / "pudong" / "工作计划.pdf")
    os.utime(inbox / "pudong" / "工作计划.pdf", (0, 0))  # mtime 1970: ignored
    report = process_inbox(plan=synced, inbox_dir=inbox, today=dt.date(2024, 6, 7), actor="测试员")
    assert isinstance(report, InboxReport)
    assert [(i.outcome, i.unit, i.milestone) for i in report.recorded] == [("submission", "pudong", "work-plan")]
    rows = table_snapshot(db_url)
    submission = rows["submission"][0]
    assert str(submission[4]) == "2024-06-07" and bool(submission[5])  # late: due 2024-06-05
    assert submission[7] == "inbox"
    assert process_inbox(plan=synced, inbox_dir=inbox / "missing", today=dt.date(2024, 6, 7),
                         actor="x").items == []


def test_empty_ledger_is_refused_before_touching_files(workdir: Path, cli, plan) -> None:
    path = pdf(workdir / "var" / "inbox" / "pudong" / "工作计划.pdf")
    result = cli("inbox")
    assert (result.exit_code, result.stderr) == (1, "错误：台账是空的，还没有同步方案\n"
                                                    "提示：先运行 duban sync，再处理收件文件夹\n")
    assert path.exists()
    # called by `duban run` before a first sync: files stay, a warning says why
    report = process_inbox(plan=plan, inbox_dir=path.parents[1], today=dt.date(2024, 6, 1), actor="x")
    assert report.items == [] and report.warnings == [
        "台账是空的，还没有同步方案：收件文件夹中的文件留在原处，同步后再处理"]
    assert path.exists()


def test_missing_folder(synced, cli) -> None:
    result = cli("inbox", "no-such-folder")
    assert (result.exit_code, result.stderr) == (1, "错误：找不到收件文件夹 no-such-folder\n"
                                                    "提示：检查路径；默认是 var/inbox/\n")

