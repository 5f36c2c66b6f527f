"""The shipped plan.yaml encodes the seed (沪知局保〔2024〕15号) faithfully."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from tests.chinese_text import flat
from tests.conftest import PLAN

D = dt.date

SEED_SECTIONS = {
    1: "加强知识产权行政保护制度保障",
    2: "加大知识产权行政保护执法力度",
    3: "强化重点领域、关键环节、重大活动保护",
    4: "完善知识产权行政保护工作体系",
}
# number: (section, title) exactly as the seed's numbered headings.
SEED_TASKS = {
    1: (1, "推进新修订的法规规章实施"),
    2: (1, "落实知识产权保护政策制度"),
    3: (1, "加快新领域知识产权保护制度研究"),
    4: (2, "加强专利侵权纠纷行政裁决"),
    5: (2, "严格商标行政执法保护"),
    6: (2, "规范专利、商标申请和使用"),
    7: (2, "健全地理标志保护监管体系"),
    8: (3, "加强展会等重大活动知识产权保护"),
    9: (3, "推进规范化市场建设"),
    10: (3, "加大电子商务平台监管力度"),
    11: (3, "聚焦重大赛事强化奥林匹克标志保护"),
    12: (3, "加强民生热点和重点领域知识产权保护"),
    13: (4, "建立健全知识产权快速协同保护体系"),
    14: (4, "完善海外知识产权纠纷援助工作机制"),
    15: (4, "深化跨区域跨部门知识产权协作保护"),
    16: (4, "推进社会共治，努力构建纠纷多元化解机制"),
    17: (4, "充分发挥创新试点示范引领作用"),
    18: (4, "创新知识产权数字化监管模式"),
}
DISTRICTS = ["黄浦", "徐汇", "长宁", "静安", "普陀", "虹口", "杨浦", "闵行", "宝山", "嘉定",
             "浦东新区", "金山", "松江", "青浦", "奉贤", "崇明"]


def test_plan_metadata_is_the_notice(plan) -> None:
    meta = plan.meta
    assert meta.title == "2024年上海市知识产权行政保护工作实施方案"
    assert meta.doc_number == "沪知局保〔2024〕15号"
    assert meta.issued == D(2024, 5, 14)
    assert meta.mailbox == "shszcj@126.com"
    assert {(c.name, c.phone) for c in meta.contacts} == {("凌捷", "23170402"), ("胡中鹤", "23170413")}
    assert plan.coordinator.name == "知识产权保护处"


def test_18_tasks_in_4_sections_with_the_seed_titles(plan) -> None:
    assert {n: s.title for n, s in plan.sections.items()} == SEED_SECTIONS
    assert {n: (t.section, t.title) for n, t in plan.tasks.items()} == SEED_TASKS
    assert all(t.summary.strip() for t in plan.tasks.values())


def test_every_seed_unit_is_present(plan) -> None:
    names = {u.name: u for u in plan.units.values()}
    for district in DISTRICTS:
        name = f"{district}知识产权局" if district == "浦东新区" else f"{district}区知识产权局"
        assert names[name].kind == "district"
    assert sum(u.kind == "district" for u in plan.units.values()) == 16
    assert names["临港新片区市场监管局"].kind == "special-area"
    assert names["知识产权保护处"].kind == "division"
    assert names["上海市知识产权服务中心"].kind == "centre"
    assert names["上海市知识产权保护中心"].kind == "centre"
    # The notice's addressees, as the group a task can name once.
    recipients = set(plan.expand(["recipients"]))
    assert {u.id for u in plan.units.values() if u.kind in ("district", "special-area")} <= recipients
    assert {"protection-division", "service-centre", "protection-centre"} <= recipients


def test_the_three_reporting_obligations(plan) -> None:
    reports = plan.reports
    assert {r: reports[r].due for r in reports} == {
        "work-plan": D(2024, 6, 5), "half-year-summary": D(2024, 7, 5), "annual-summary": D(2024, 12, 5)}
    for rid in ("half-year-summary", "annual-summary"):
        assert reports[rid].stats_table is True
        assert reports[rid].formats == ["word", "pdf-stamped"]
    assert reports["work-plan"].stats_table is False
    owed = set(plan.expand(reports["half-year-summary"].units))
    assert set(plan.expand(["districts"])) | {"lingang", "service-centre", "protection-centre"} <= owed


def test_owners_named_by_the_seed(plan) -> None:
    assert {"protection-centre", "fengxian-rapid-centre"} <= set(plan.expand(plan.tasks[13].units))
    assert {"pudong", "xuhui"} <= set(plan.expand(plan.tasks[17].units))
    assert plan.tasks[13].owners_confirmed and plan.tasks[17].owners_confirmed
    # Tasks whose owners were inferred say so, and check counts them.
    assert plan.unconfirmed_owners()
    assert all(plan.tasks[n].owners_note for n in plan.unconfirmed_owners())


def _windows(plan, task: int) -> dict[str, tuple[dt.date, dt.date]]:
    return {m.id: (m.window_start, m.window_end) for m in plan.milestones()
            if m.task == task and m.window_start}


def test_task_11_event_windows(plan) -> None:
    # The notice sets no report date for the Shanghai qualifier (16–19 May, before the work
    # plan is even due), so it has no milestone of its own: only Paris has one.
    assert set(_windows(plan, 11).values()) == {(D(2024, 7, 26), D(2024, 8, 11))}  # 巴黎奥运会


def test_only_the_notices_three_reports_are_seed_dates(plan) -> None:
    enforced = {m.id for m in plan.milestones() if m.task is None or m.report}
    assert {m.id for m in plan.milestones() if m.enforceable} == enforced
    assert {m.id for m in plan.milestones() if m.source == "seed" and m.task is None} == {
        "work-plan", "half-year-summary", "annual-summary"}
    assert {m.id.split("@")[0] for m in plan.assumed_milestones()} == {
        "t07-dragon-boat", "t07-mid-autumn", "t07-national-day", "t08-cste", "t08-ciie",
        "t10-ecommerce-monitoring", "t11-paris-2024"}


def test_divisions_are_task_only_and_never_evaluated(plan) -> None:
    task_only = {u.id for u in plan.units.values() if not u.reports_publicly}
    assert task_only == {"protection-division", "policy-division", "utilization-division",
                         "public-service-division", "fengxian-rapid-centre"}
    assert not task_only & set(plan.expand(plan.evaluation.scope))
    half_year = next(m for m in plan.milestones() if m.id == "half-year-summary")
    assert plan.formats_for(half_year, "xuhui") == ("word", "pdf-stamped")
    assert plan.formats_for(half_year, "policy-division") == ("word",)


def test_task_8_event_windows(plan) -> None:
    assert set(_windows(plan, 8).values()) == {(D(2024, 6, 12), D(2024, 6, 14)),  # 上交会
                                               (D(2024, 11, 5), D(2024, 11, 10))}  # 进博会


def test_task_7_campaigns_cover_the_festivals(plan) -> None:
    windows = _windows(plan, 7)
    for festival in (D(2024, 6, 10), D(2024, 9, 17), D(2024, 10, 1)):  # 端午、中秋、国庆
        assert any(start <= festival <= end for start, end in windows.values()), festival
    campaigns = [m for m in plan.milestones() if m.task == 7 and m.kind == "campaign"]
    assert all(m.due >= m.window_end for m in campaigns)


def test_quarterly_recurrence_expands_to_two_occurrences(plan) -> None:
    found = {m.id: m.due for m in plan.milestones() if m.id.startswith("t10-ecommerce-monitoring@")}
    assert found == {"t10-ecommerce-monitoring@2024Q3": D(2024, 9, 10),
                     "t10-ecommerce-monitoring@2024Q4": D(2024, 12, 10)}


def test_report_tied_milestones_take_the_report_due_date(plan) -> None:
    tied = [m for m in plan.milestones() if m.report]
    assert tied and all(m.due == plan.reports[m.report].due for m in tied)
    assert {m.id for m in tied if m.task == 1} == {"t01-half-year", "t01-annual"}


def test_obligations_are_milestone_times_unit(plan) -> None:
    obligations = plan.obligations()
    assert len(obligations) == sum(len(m.units) for m in plan.milestones())
    assert len({(o.milestone, o.unit) for o in obligations}) == len(obligations)


def test_check_json_shape(cli, monkeypatch: pytest.MonkeyPatch, plan) -> None:
    monkeypatch.chdir(PLAN.parent)
    result = cli("check", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["ok", "tasks", "units", "milestones", "entries", "unconfirmed_owners",
                          "warnings", "errors"]
    assert data["ok"] is True and data["errors"] == []
    assert (data["tasks"], data["units"]) == (18, len(plan.units))
    assert data["milestones"] == len(plan.milestones())
    assert data["entries"] == len(plan.obligations())
    assert data["unconfirmed_owners"] == len(plan.unconfirmed_owners())
    assert len(data["warnings"]) == len(plan.warnings)  # --json is never summarised
    assert all(list(w) == ["file", "line", "column", "path", "message", "hint"] for w in data["warnings"])


def _placeholder_units(plan) -> list[str]:
    return [u.id for u in plan.units.values() if any(c.email.endswith("@example.org") for c in u.contacts)]


def test_check_collapses_placeholder_warnings(cli, monkeypatch: pytest.MonkeyPatch, plan) -> None:
    monkeypatch.chdir(PLAN.parent)
    result = cli("check")
    assert result.exit_code == 0
    units = _placeholder_units(plan)
    summary = (f"plan.yaml: 警告: {len(units)} 个单位的联系邮箱仍是 example.org 占位地址："
               f"{'、'.join(units)}；加 --verbose 查看每一处")
    # Folded at 80 columns (CliRunner's width): compare ignoring where lines break.
    assert flat(summary) in flat(result.stderr)
    assert any(line.startswith(f"plan.yaml: 警告: {len(units)} 个单位") for line in result.stderr.splitlines())
    assert "的联系邮箱仍是占位地址" not in result.stderr  # no per-unit lines
    assert (f"plan.yaml 有效：18 项任务，{len(plan.units)} 个单位，{len(plan.milestones())} 个节点，"
            f"{len(plan.obligations())} 条台账义务。") in result.stdout

    verbose = cli("check", "--verbose")
    assert verbose.exit_code == 0
    assert flat(summary) not in flat(verbose.stderr)
    assert flat(verbose.stderr).count("的联系邮箱仍是占位地址") == len(units)
    assert flat(f"{plan.units[units[0]].name}的联系邮箱仍是占位地址："
                f"{', '.join(c.email for c in plan.units[units[0]].contacts)}") in flat(verbose.stderr)


def test_shipped_plan_is_valid_from_another_directory(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("check", os.fspath(PLAN))
    assert result.exit_code == 0, result.output
