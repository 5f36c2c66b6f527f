"""Evaluation: proposed 通报表扬 / 通报批评 lists with verifiable reasons, overrides, the .docx
drafts, approval, and the 整改 / 约谈 entries the supervision cycle then tracks."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from models.db import session_scope
from models.report_tables import EvaluationOverride, EvaluationRun, Interview, Rectification
from models.tables import AuditLog, Escalation, LedgerEntry, Submission
from tests.conftest import table_snapshot

pytest_plugins = ["tests.report_fixtures"]

D = dt.date


def evaluate_json(cli, *args: str) -> dict:
    result = cli("evaluate", "--period", "half-year", "--today", "2024-07-20", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def reasons(data: dict, unit: str) -> list[str]:
    return [r["text"] for r in next(s for s in data["scores"] if s["unit"] == unit)["reasons"]]


def test_half_year_lists_with_reasons_that_match_the_ledger(season, cli):
    data = evaluate_json(cli)
    assert data["status"] == "draft"
    assert [u["unit"] for u in data["commend"]] == ["pudong", "jiading", "songjiang", "huangpu",
                                                      "protection-centre"]
    assert [u["unit"] for u in data["criticise"]] == ["jingan"]
    # 闵行's only failing item was the 端午 report, whose date the notice does not set
    # (source: assumed): it is not counted, so 闵行 is neither scored down nor listed.
    minhang = next(s for s in data["scores"] if s["unit"] == "minhang")
    assert minhang["score"] == 100 and minhang["final"] == "none"
    assert [r["text"] for r in minhang["reasons"] if r["rule"] != "on-time-item"] == [
        "按时报送 2 项，合计提前 0 个工作日"]
    assert not any("端午" in text for s in data["scores"] for text in reasons(data, s["unit"]))
    # Task-only units (局机关处室, the rapid centre) are never scored.
    assert not {"fengxian-rapid-centre", "protection-division"} & {s["unit"] for s in data["scores"]}
    # Working days, not calendar days: 06-10 (端午) does not count.
    assert reasons(data, "xuhui")[:2] == [
        "「贯彻落实《实施方案》的具体工作计划」（截止 2024-06-05）于 2024-06-12 报送，逾期 4 个工作日，扣 4 分",
        "「半年度工作总结」（截止 2024-07-05）于 2024-07-09 报送，逾期 2 个工作日，扣 2 分",
    ]
    assert "行政保护案件统计表未报送（上半年），扣 5 分" in reasons(data, "yangpu")
    assert ("行政保护案件统计表不完整（1 格未填：专利侵权纠纷行政裁决案件·结案数（件）），扣 3 分"
            in reasons(data, "putuo"))
    scores = {s["unit"]: s["score"] for s in data["scores"]}
    assert scores["jingan"] == 33 and scores["xuhui"] == 94 and scores["yangpu"] == 92
    assert scores["pudong"] == 100

    # Every late / rung line is backed by a row in the ledger.
    with session_scope() as session:
        submitted = {(s.unit_id, s.milestone_id): s.submitted_on
                     for s in session.execute(select(Submission)).scalars()}
        fired = {(e.unit_id, e.milestone_id, x.kind): x.fired_on for x, e in session.execute(
            select(Escalation, LedgerEntry).join(LedgerEntry, LedgerEntry.id == Escalation.entry_id))}
    for score in data["scores"]:
        for r in score["reasons"]:
            if r["rule"] == "late":
                assert str(submitted[(score["unit"], r["milestone_id"])]) in r["text"]
            if r["rule"] == "missing":
                assert (score["unit"], r["milestone_id"]) not in submitted
            if r["rule"] == "rung":
                kind = "interview" if "约谈建议" in r["text"] else "supervise"
                assert str(fired[(score["unit"], r["milestone_id"], kind)]) in r["text"]


def test_drafts_open_with_python_docx_and_name_the_units(season, cli, workdir):
    data = evaluate_json(cli)
    criticise = docx.Document(data["files"]["criticise_docx"])
    text = "\n".join(p.text for p in criticise.paragraphs)
    header = "\n".join(p.text for p in criticise.sections[0].header.paragraphs)
    assert "草稿——未经局领导审定，不得印发" in header
    assert text.splitlines()[0] == "草稿"
    assert "上海市知识产权局关于对2024年上半年知识产权行政保护工作不力单位予以通报批评的通报" in text
    assert "沪知局保〔2024〕　　号" in text  # the serial is left blank for the registry
    # 主送 the evaluated units: the plan notice's recipients without 局机关各处室 (task-only).
    assert "各区知识产权局，临港新片区市场监管局，市知识产权服务中心、市知识产权保护中心：" in text.splitlines()
    from plan import load_plan

    for unit in load_plan("plan.yaml").units.values():
        if not unit.reports_publicly:
            assert unit.name not in text
    assert "处室" not in text
    assert ("截至7月20日，静安区知识产权局仍未报送贯彻落实《实施方案》的具体工作计划，已逾期31个工作日。"
            "该单位仍未报送半年度工作总结，已逾期10个工作日。该单位未报送上半年行政保护案件统计表。") in text
    assert "经研究，决定对静安区知识产权局予以通报批评。" in text
    assert "于2024年8月16日前向上海市知识产权局报送整改报告" in text
    # No scores, ranks, rung names, ISO dates or 「」 in the public text.
    for word in ("得分", "第 19 名", "约谈建议", "2024-07", "「", "扣"):
        assert word not in text
    assert [line for line in text.splitlines() if line][-4:] == [
        "上海市知识产权局", "2024年7月20日", "（此件主动公开）", "上海市知识产权局办公室\t2024年7月20日印发"]
    commend = "\n".join(p.text for p in docx.Document(data["files"]["commend_docx"]).paragraphs)
    for name in ("浦东新区知识产权局", "嘉定区知识产权局", "松江区知识产权局", "黄浦区知识产权局",
                 "上海市知识产权保护中心"):
        assert name in commend
    assert "静安区" not in commend
    markdown = Path(data["files"]["criticise_md"]).read_text(encoding="utf-8")
    assert markdown.startswith("> **草稿**") and "静安区知识产权局" in markdown
    assert Path(data["files"]["criticise_docx"]).name == "criticise-draft.docx"


def test_criticised_units_get_rectification_and_interview_entries_in_status(season, cli):
    evaluate_json(cli)
    result = cli("status", "--unit", "jingan", "--today", "2024-07-22", "--json")
    assert result.exit_code == 0, result.output
    entries = {e["milestone"]: e for e in json.loads(result.stdout)["entries"]}
    assert entries["rectify-half-year"]["due"] == "2024-08-16"  # 20 working days after 07-20
    assert entries["rectify-half-year"]["title"] == "半年评估通报批评整改（报送整改报告）"
    assert entries["rectify-half-year"]["state"] == "not-due"
    coordinator = json.loads(cli("status", "--unit", "protection-division", "--today", "2024-07-22",
                                 "--json").stdout)["entries"]
    interviews = {e["milestone"]: e for e in coordinator if e["milestone"].startswith("interview-")}
    assert set(interviews) == {"interview-half-year-jingan"}
    assert interviews["interview-half-year-jingan"]["due"] == "2024-08-02"
    # The sweep chases a 整改 entry like any other: overdue notice the working day after its due date.
    from flows.sweep import run_sweep
    from plan import load_plan

    with session_scope() as session:
        result_ = run_sweep(session, plan=load_plan("plan.yaml"), today=D(2024, 8, 19))
    jingan = next(n for n in result_.notices if n.unit_id == "jingan")
    assert ("rectify-half-year", "overdue") in {(i.milestone_id, i.rung_id) for i in jingan.items}


def test_rerun_keeps_deadlines_and_override_is_recorded_with_who_and_why(season, cli, db_url, workdir):
    evaluate_json(cli)
    result = cli("evaluate", "--period", "half-year", "--today", "2024-07-20",
                 "--exclude", "jingan", "--reason", "工作计划已线下报送，材料补录中")
    assert result.exit_code == 0, result.output
    # An empty list produces no notice, and the command says so.
    assert "本期无建议通报批评的单位，未生成通报批评草稿。" in result.stdout.splitlines()
    assert not (workdir / "var/reports/evaluation-half-year/criticise-draft.docx").exists()
    assert not (workdir / "var/reports/evaluation-half-year/criticise-draft.md").exists()
    data = json.loads(cli("evaluate", "show", "--period", "half-year", "--json").stdout)
    assert data["criticise"] == [] and "criticise_docx" not in data["files"]
    jingan = next(s for s in data["scores"] if s["unit"] == "jingan")
    assert jingan["proposed"] == "criticise" and jingan["final"] == "none"
    assert any(r["rule"] == "override" and r["text"].startswith("测试员 于 ")
               and r["text"].endswith("将其移出通报批评名单，理由：工作计划已线下报送，材料补录中")
               for r in jingan["reasons"])
    assert data["withdrawn"] == [] and "已撤销整改事项（不再列入通报批评）：静安区知识产权局" in result.stdout
    with session_scope() as session:
        override = session.execute(select(EvaluationOverride)).scalar_one()
        rect = session.execute(select(Rectification).where(Rectification.unit_id == "jingan")).scalar_one()
        entry = session.execute(select(LedgerEntry).where(LedgerEntry.unit_id == "jingan",
                                                          LedgerEntry.milestone_id == "rectify-half-year")
                                ).scalar_one()
        runs = session.execute(select(EvaluationRun.status).order_by(EvaluationRun.id)).scalars().all()
        audit = session.execute(select(AuditLog).where(AuditLog.action == "evaluation.exclude")).scalar_one()
    assert (override.actor, override.action, override.unit_id) == ("测试员", "exclude", "jingan")
    assert not rect.active and entry.status == "waived"
    assert runs == ["superseded", "draft"]
    assert audit.detail["reason"] == "工作计划已线下报送，材料补录中"
    # Include puts a unit on a list; a later run (another day) keeps both overrides and the first deadline.
    data = evaluate_json(cli, "--include", "xuhui", "--list", "commend", "--reason", "专项工作成效突出")
    assert "xuhui" in [u["unit"] for u in data["commend"]]
    later = json.loads(cli("evaluate", "--period", "half-year", "--today", "2024-07-23", "--json").stdout)
    assert "xuhui" in [u["unit"] for u in later["commend"]]
    assert later["criticise"] == []


@pytest.mark.parametrize(("args", "message", "hint"), [
    (("--include", "xuhui", "--reason", "x"), "错误：--include 需要指明列入哪个名单",
     "提示：加上 --list commend（通报表扬）或 --list criticise（通报批评）"),
    (("--exclude", "minhang"), "错误：调整名单必须写明理由",
     "提示：加上 --reason \"理由\"，理由会和操作人一起记入评估记录"),
    (("--exclude", "minhnag", "--reason", "x"), "错误：--exclude：找不到单位「minhnag」",
     "提示：是不是「闵行区知识产权局」（minhang）？运行 duban units 查看全部单位"),
    (("--exclude", "fengxian-rapid-centre", "--reason", "x"),
     "错误：「上海奉贤（化妆品）知识产权快速维权中心」（fengxian-rapid-centre）不是参评单位",
     "提示：参评单位见 plan.yaml 的 evaluation.scope"),
])
def test_bad_overrides_are_refused_and_change_nothing(season, cli, db_url, args, message, hint):
    evaluate_json(cli)
    before = table_snapshot(db_url)
    result = cli("evaluate", "--period", "half-year", "--today", "2024-07-20", *args)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-2:] == [message, hint]
    assert table_snapshot(db_url) == before


def test_period_is_required_and_checked(season, cli):
    result = cli("evaluate", "--today", "2024-07-20")
    assert result.exit_code == 2 and "请指定评估期" in result.output
    result = cli("evaluate", "--period", "quarter")
    assert result.exit_code == 2 and "「quarter」无效" in result.output


def test_approval_freezes_the_lists_and_drops_the_draft_mark(season, cli, db_url):
    evaluate_json(cli)
    result = cli("evaluate", "approve", "--period", "half-year", "--today", "2024-07-24", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "approved"
    final = docx.Document(data["files"]["criticise_docx"])
    text = "\n".join(p.text for p in final.paragraphs)
    assert Path(data["files"]["criticise_docx"]).name == "criticise.docx"
    assert "草稿" not in text and not "".join(p.text for p in final.sections[0].header.paragraphs)
    assert [line for line in text.splitlines() if line][-3:-1] == ["2024年7月24日", "（此件主动公开）"]
    with session_scope() as session:
        run = session.execute(select(EvaluationRun).where(EvaluationRun.status == "approved")).scalar_one()
    assert run.approved_by == "测试员" and run.approved_at is not None
    before = table_snapshot(db_url)
    again = cli("evaluate", "--period", "half-year", "--today", "2024-07-25")
    assert again.exit_code == 1
    assert again.stderr.splitlines()[-2:] == [
        f"错误：半年评估已于 {run.approved_at:%Y-%m-%d} 由 测试员 审定，不能重新评估",
        "提示：审定后的名单不再改动；如确需调整，请联系维护人员"]
    twice = cli("evaluate", "approve", "--period", "half-year")
    assert twice.exit_code == 1 and "无需重复审定" in twice.stderr
    assert table_snapshot(db_url) == before


def test_review_result_feeds_the_next_evaluation(season, cli):
    evaluate_json(cli, "--include", "minhang", "--list", "criticise", "--reason", "专项行动检查发现问题")
    assert cli("evaluate", "review", "jingan", "--result", "fail", "--date", "2024-08-20").exit_code == 0
    passed = cli("evaluate", "review", "闵行", "--result", "pass", "--date", "2024-08-14")
    assert (passed.exit_code, passed.stdout) == (0, "已登记：闵行区知识产权局 半年评估整改复查合格（2024-08-14）。\n")
    assert cli("evaluate", "interview", "jingan", "--held", "2024-07-30").exit_code == 0
    with session_scope() as session:
        rect = session.execute(select(LedgerEntry).where(LedgerEntry.unit_id == "minhang",
                                                         LedgerEntry.milestone_id == "rectify-half-year")
                               ).scalar_one()
        meeting = session.execute(select(Interview).where(Interview.unit_id == "jingan")).scalar_one()
        held = session.execute(select(LedgerEntry).where(LedgerEntry.milestone_id == "interview-half-year-jingan")
                               ).scalar_one()
    assert rect.submitted_on == D(2024, 8, 14)  # a passed review closes the 整改 entry
    assert meeting.held_on == D(2024, 7, 30) and held.submitted_on == D(2024, 7, 30)
    annual = json.loads(cli("evaluate", "--period", "annual", "--today", "2024-08-30", "--json").stdout)
    jingan = reasons(annual, "jingan")
    assert "半年评估整改于 2024-08-20 复查不合格，扣 10 分" in jingan
    # The unreported 整改 entry (due 08-16) is itself an overdue obligation of the annual period.
    assert any(line.startswith("「半年评估通报批评整改（报送整改报告）」（截止 2024-08-16）截至 2024-08-30 仍未报送")
               for line in jingan)
    unknown = cli("evaluate", "review", "pudong", "--result", "pass")
    assert unknown.exit_code == 1
    assert unknown.stderr.splitlines()[-2:] == [
        "错误：「pudong」没有半年评估的整改事项",
        "提示：只有列入通报批评名单的单位才有整改事项；运行 duban evaluate show --period half-year 查看"]


def test_show_prints_the_latest_run_without_rescoring(season, cli):
    evaluate_json(cli)
    result = cli("evaluate", "show", "--period", "half-year")
    assert result.exit_code == 0, result.output
    assert "半年评估（截至 2024-07-20，建议名单，待局领导审定）" in result.stdout
    assert "通报批评：1 个单位" in result.stdout
    # A reason wider than 80 columns is folded onto an indented line: compare without the layout.
    assert ("- 「半年度工作总结」（截止 2024-07-05）于 2024-07-19 升级至「约谈建议」，"
            "扣 6 分").replace(" ", "") in re.sub(r"\s+", "", result.stdout)


def test_approved_commendation_of_an_override_included_unit_states_only_what_is_true(season, cli):
    evaluate_json(cli, "--include", "yangpu", "--list", "commend", "--reason", "专项工作成效突出")
    result = cli("evaluate", "approve", "--period", "half-year", "--today", "2024-07-24", "--json")
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["files"]
    text = "\n".join(p.text for p in docx.Document(files["commend_docx"]).paragraphs)
    assert "杨浦区知识产权局按时报送了贯彻落实《实施方案》的具体工作计划。" in text
    assert "杨浦区知识产权局" in text.split("经研究，决定对")[1]
    for phrase in ("按时保质完成各项报送任务", "测试员", "专项工作成效突出", "列入通报表扬名单", "得分", "扣"):
        assert phrase not in text
    assert Path(files["commend_md"]).read_text(encoding="utf-8").count("杨浦区知识产权局按时报送了") == 1
    # The scores and the override's reason are in the 评分明细 workbook instead.
    import openpyxl

    sheet = openpyxl.load_workbook(files["scores_xlsx"]).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(c.startswith("测试员 于 ") and c.endswith("理由：专项工作成效突出") for c in cells)
