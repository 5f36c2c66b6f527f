"""The leadership digest as of 2024-07-15 after a season of escalations: figures that agree
with the ledger, the email in the outbox, the static dashboard, the workbook, the history."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import openpyxl
from sqlalchemy import select

from models.db import session_scope
from models.report_tables import DigestSnapshot
from models.tables import OutboxMessage
from tests.conftest import table_snapshot

pytest_plugins = ["tests.report_fixtures"]

D = dt.date


def digest_json(cli, *args: str) -> dict:
    result = cli("digest", "--today", "2024-07-15", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_figures_agree_with_status_and_the_ledger(season, cli):
    data = digest_json(cli)
    status = json.loads(cli("status", "--today", "2024-07-15", "--json").stdout)["totals"]
    overall = data["overall"]
    assert overall["total"] == status["all"]["total"]
    assert overall["overdue"] == status["all"]["overdue"]
    assert overall["done"] == status["all"]["on-time"] + status["all"]["late"]
    assert [t["task"] for t in data["tasks"]] == list(range(1, 19))
    by_task = {t["task"]: t for t in status["tasks"]}
    for task in data["tasks"]:
        assert task["overdue"] == by_task[task["task"]]["overdue"]
    units = {u["unit"]: u for u in data["units"]}
    # jingan reported nothing: work plan and half-year summary are missing; the 端午 campaign's
    # date is assumed, so it is shown apart (推定，待确认), not counted as missing.
    assert units["jingan"] == {"unit": "jingan", "name": "静安区知识产权局", "due_so_far": 2, "on_time": 0,
                               "late": 0, "missing": 2, "upcoming": 4, "assumed": 1, "task_only": False,
                               "worst_rung": "interview", "worst_rung_label": "约谈建议", "light": "red"}
    assert units["xuhui"]["late"] == 2 and units["xuhui"]["worst_rung"] == "chase"
    assert units["xuhui"]["light"] == "amber"
    # The 端午 campaign and the CSTE event reports have assumed dates: not counted here.
    assert units["pudong"]["on_time"] == 2 and units["pudong"]["light"] == "green"


def test_supervision_and_interview_lists(season, cli):
    data = digest_json(cli)
    supervise = {(i["unit"], i["milestone"]): i for i in data["supervise"]}
    interview = {(i["unit"], i["milestone"]): i for i in data["interview"]}
    # The 端午 campaign's date is assumed: its rungs are not on a blame list, it is listed apart.
    assert set(interview) == {("jingan", "work-plan")}
    # half-year summary: overdue 07-08, 督导检查 07-12, 约谈 only on 07-19.
    assert set(supervise) == set(interview) | {("jingan", "half-year-summary")}
    assert supervise[("jingan", "work-plan")]["fired_on"] == "2024-06-13"
    assert supervise[("jingan", "work-plan")]["days_overdue"] == 27
    assert [(i["unit"], i["milestone"], i["days_overdue"]) for i in data["assumed"]] == [
        ("jingan", "t07-dragon-boat", 16), ("minhang", "t07-dragon-boat", 16)]
    # What changed since the digest of 07-01.
    assert data["since"] == "2024-07-01"
    assert data["changes"] == {"submitted": 16, "overdue": 1, "supervised": 1}


def test_statistics_section_has_citywide_totals_and_who_is_missing(season, cli):
    stats = digest_json(cli)["statistics"]
    assert stats["period"] == "half-year" and stats["label"] == "上半年"
    rows = {r["key"]: r["value"] for r in stats["rows"]}
    assert rows["counterfeit-patent.cases"] == "60"  # 20 units × 3
    assert rows["patent-dispute.closed"] == "19"  # putuo left it blank
    assert sorted(stats["missing"]) == sorted(["静安区知识产权局", "杨浦区知识产权局"])
    assert list(stats["incomplete"]) == ["普陀区知识产权局"]


def test_email_goes_to_leadership_once_with_a_text_alternative(season, cli, plan):
    with session_scope() as session:
        message = session.execute(select(OutboxMessage).where(OutboxMessage.key == "digest/2024-07-15")
                                  ).scalar_one()
    assert message.kind == "digest" and message.state == "queued"
    assert message.to == ['"分管局领导" <leader@example.org>']
    assert message.subject == "【督办简报】2024年上海市知识产权行政保护工作实施方案进展（截至2024年7月15日）"
    html = message.body_html
    assert "<script" not in html.lower() and "<style" not in html.lower()
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert 'style="' in html and "<table" in html
    assert "静安区知识产权局" in html and "约谈建议（1 项）" in html
    assert "var/reports" not in html and "var/reports" not in message.body_text  # no server paths
    text = message.body_text
    assert "督导检查名单（2 项）：" in text
    assert ("  - 静安区知识产权局：贯彻落实《实施方案》的具体工作计划（截止 2024-06-05，逾期 27 个工作日，"
            "2024-06-20 提出）") in text
    assert "另有截止日期为推定的事项 2 项未报（推定，待确认，不计入逾期）。" in text
    assert ("附件：督办简报第3期（截至2024年7月15日）.pdf（1 页）；"
            "督办台账（截至2024年7月15日）.xlsx（全部 616 条台账）。") in text
    # Running the digest again the same day does not queue a second email.
    again = digest_json(cli)
    assert again["queued"] == [] and again["email_skipped"] == "2024-07-15 的简报邮件已在发件箱中，不重复发送"
    with session_scope() as session:
        keys = session.execute(select(OutboxMessage.key).where(OutboxMessage.kind == "digest")).scalars().all()
    assert sorted(keys) == ["digest/2024-06-17", "digest/2024-07-01", "digest/2024-07-15"]


def test_dashboard_pages_link_up_and_fetch_nothing(season, cli, workdir):
    files = digest_json(cli)["files"]
    index = Path(files["dashboard"])
    folder = index.parent
    assert folder == workdir / "var" / "reports" / "2024-07-15"
    pages = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))
    assert [p for p in pages if p.startswith("tasks/")] == [f"tasks/task-{n:02d}.html" for n in range(1, 19)]
    assert "units/jingan.html" in pages and "units/policy-division.html" in pages
    assert int(files["pages"]) == len(pages)
    for page in folder.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html.lower()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), page
        for link in re.findall(r'href="([^"#]+)"', html):
            assert (page.parent / link).resolve().is_file(), (page, link)
    html = index.read_text(encoding="utf-8")
    # Charts come from the three snapshots (06-17, 07-01, 07-15).
    assert html.count("<svg") == 2
    assert all(label in html for label in ("06-17", "07-01", "07-15"))
    task7 = (folder / "tasks" / "task-07.html").read_text(encoding="utf-8")
    assert "端午节地理标志保护专项行动" in task7 and "静安区知识产权局" in task7
    by_missing = (folder / "units-by-missing.html").read_text(encoding="utf-8")
    assert by_missing.index("静安区知识产权局") < by_missing.index("闵行区知识产权局") < by_missing.index(
        "浦东新区知识产权局")


def test_workbook_has_a_sheet_per_section_filters_and_light_fills(season, cli, plan):
    files = digest_json(cli)["files"]
    wb = openpyxl.load_workbook(files["workbook"])
    assert wb.sheetnames == ["汇总", "1.加强知识产权行政保护制度保障", "2.加大知识产权行政保护执法力度",
                             "3.强化重点领域、关键环节、重大活动保护", "4.完善知识产权行政保护工作体系",
                             "其他事项（报告、整改、约谈、请示）"]
    rows = sum(wb[name].max_row - 1 for name in wb.sheetnames[1:])
    assert rows == len(plan.obligations())
    for name in wb.sheetnames:
        assert wb[name].auto_filter.ref and wb[name].freeze_panes == "A2"
    other = wb["其他事项（报告、整改、约谈、请示）"]
    jingan = next(r for r in other.iter_rows(min_row=2) if r[4].value == "静安区知识产权局"
                  and r[2].value == "work-plan")
    assert jingan[6].value == "红" and jingan[6].fill.start_color.rgb.endswith("EF9A9A")
    assert jingan[9].value == 27 and jingan[10].value == "约谈建议"
    summary = wb["汇总"]
    assert [c.value for c in summary[1]][:4] == ["部分", "任务", "任务名称", "灯"]
    assert summary.max_row == 19


def test_snapshots_keep_one_row_per_date_for_the_history(season, cli):
    digest_json(cli)
    digest_json(cli, "--no-email")
    with session_scope() as session:
        days = session.execute(select(DigestSnapshot.as_of).order_by(DigestSnapshot.as_of)).scalars().all()
        last = session.execute(select(DigestSnapshot).where(DigestSnapshot.as_of == D(2024, 7, 15))).scalar_one()
    assert days == [D(2024, 6, 17), D(2024, 7, 1), D(2024, 7, 15)]
    assert last.supervised == 2 and last.interview_proposals == 1
    assert last.tasks["7"]["overdue"] == 3  # 2 campaigns + jingan's half-year progress


def test_markdown_and_plain_output(season, cli, workdir):
    result = cli("digest", "--today", "2024-07-15", "--no-email")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("简报第 3 期（截至 2024-07-15）：截至2024年7月15日，各单位应报文件 38 件："
                        "按时报送 32 件，逾期报送 4 件，逾期未报 2 件。")
    assert lines[-1] == "邮件：按 --no-email 未发送。"
    markdown = (workdir / "var" / "reports" / "2024-07-15" / "digest.md").read_text(encoding="utf-8")
    assert markdown.startswith("# 2024年上海市知识产权行政保护工作实施方案 · 进展简报")
    assert "| 静安区知识产权局 | 红 | 2 | 0 | 0 | 2 | 约谈建议 |" in markdown


def test_digest_refuses_an_empty_ledger(workdir, cli, db_url):
    before = table_snapshot(db_url) if Path(db_url.split("///")[-1]).exists() else None
    result = cli("digest", "--today", "2024-07-15")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-2:] == ["错误：台账是空的，还没有同步方案", "提示：先运行 duban sync"]
    assert not (workdir / "var" / "reports" / "2024-07-15").exists()
    if before is not None:
        assert table_snapshot(db_url) == before


def test_a_failed_scheduled_job_is_shown_in_the_next_digest(season, cli):
    from models.schedule import claim_run, finish_run

    with session_scope() as session:
        assert claim_run(session, job_id="cycle", flow="cycle", run_date=D(2024, 7, 12), host="h", pid=1)
        finish_run(session, job_id="cycle", run_date=D(2024, 7, 12), error="SMTP 服务器拒绝连接")
    data = digest_json(cli)
    failed = [f for f in data["follow_ups"] if f["kind"] == "定时作业"]
    assert failed == [{"kind": "定时作业", "unit": "—", "title": "cycle（cycle）运行失败：SMTP 服务器拒绝连接",
                       "due": "2024-07-12", "state": "失败，需人工处理", "days_overdue": 0}]
    text = (Path("var") / "reports" / "2024-07-15" / "digest.md").read_text(encoding="utf-8")
    assert "cycle（cycle）运行失败：SMTP 服务器拒绝连接" in text


def test_markdown_supervision_lists_show_the_longest_overdue_and_count_the_rest(season, cli, workdir,
                                                                               monkeypatch):
    monkeypatch.setattr("notifications.digest_render.MARKDOWN_LIST_CAP", 1)
    cli("digest", "--today", "2024-07-15", "--no-email", ok=True)
    markdown = (workdir / "var" / "reports" / "2024-07-15" / "digest.md").read_text(encoding="utf-8")
    supervision = markdown.split("**督导检查名单（2 项）**", 1)[1].split("**约谈建议", 1)[0]
    listed = [line for line in supervision.splitlines() if line.startswith("- ")]
    assert len(listed) == 2 and listed[0].startswith("- 静安区知识产权局：") and "逾期 27 个工作日" in listed[0]
    assert listed[1] == "- 另有 1 项未列出（以上为逾期最久的 1 项），全部见同一目录的 Excel 台账（ledger.xlsx）。"
    interview = markdown.split("**约谈建议（1 项）**", 1)[1].split("##", 1)[0]
    assert "另有" not in interview and "逾期 27 个工作日" in interview  # within the cap: whole
