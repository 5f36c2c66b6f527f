"""Pure parts of the evaluation: scoring arithmetic, ranks, Chinese dates, and `duban check`
on the evaluation / requests sections of plan.yaml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from notifications.notice_docx import Listed, Notice, markdown
from plan.evaluation import Obligation, Override, UnitFacts, UnitScore, evaluate, listed, public_facts
from plan.schema_evaluation import Evaluation
from plan.workdays import WorkCalendar
from tests.chinese_text import flat
from tests.fixtures_plan import at, edit, error, shipped, warning, write_plan

D = dt.date


def test_official_dates_are_arabic() -> None:
    from notifications.gbt9704 import date_text, month_day

    assert date_text(D(2024, 7, 20)) == "2024年7月20日"
    assert date_text(D(2024, 12, 5)) == "2024年12月5日"
    assert month_day(D(2024, 7, 5)) == "7月5日"


def _scores(*facts: UnitFacts, overrides: tuple[Override, ...] = ()) -> dict[str, UnitScore]:
    scores = evaluate(facts, Evaluation(), WorkCalendar(), D(2024, 7, 19), overrides)
    return {s.unit_id: s for s in scores}


PLAN_DOC = "贯彻落实《实施方案》的具体工作计划"
SUMMARY = "半年度工作总结"


def test_wording_of_a_missing_and_a_late_but_submitted_unit() -> None:
    missing = UnitFacts("fengxian", "奉贤区知识产权局", (
        Obligation("plan", PLAN_DOC, D(2024, 6, 5), D(2024, 6, 5)),
        Obligation("summary", SUMMARY, D(2024, 7, 5), None)))
    late = UnitFacts("xuhui", "徐汇区知识产权局", (
        Obligation("plan", PLAN_DOC, D(2024, 6, 5), D(2024, 6, 5)),
        Obligation("summary", SUMMARY, D(2024, 7, 5), D(2024, 7, 12))))
    scores = _scores(missing, late)
    assert public_facts(scores["fengxian"], "criticise", "half-year") == [
        "截至7月19日，奉贤区知识产权局仍未报送半年度工作总结，已逾期10个工作日。"]
    # Submitted late is said as such, never as missing.
    assert public_facts(scores["xuhui"], "criticise", "half-year") == [
        "徐汇区知识产权局于7月12日报送半年度工作总结，逾期5个工作日。"]


def test_facts_are_capped_per_unit() -> None:
    many = UnitFacts("jingan", "静安区知识产权局", tuple(
        Obligation(f"m{i}", f"材料{i}", D(2024, 6, 3 + i), None) for i in range(5)))
    facts = public_facts(_scores(many)["jingan"], "criticise", "half-year")
    assert len(facts) == 4 and facts[-1] == "此外，该单位另有2项材料逾期或未按要求报送。"
    assert facts[1] == "该单位仍未报送材料1，已逾期32个工作日。"


def test_override_included_commendation_says_only_what_is_true() -> None:
    yangpu = UnitFacts("yangpu", "杨浦区知识产权局", (
        Obligation("plan", PLAN_DOC, D(2024, 6, 5), D(2024, 6, 4)),
        Obligation("summary", SUMMARY, D(2024, 7, 5), D(2024, 7, 10))), stats="missing", stats_detail="（上半年）")
    at = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    score = _scores(yangpu, overrides=(Override("yangpu", "include", "commend", "专项工作成效突出", "root", at),))[
        "yangpu"]
    assert score.final == "commend"
    assert public_facts(score, "commend", "half-year") == [
        "杨浦区知识产权局按时报送了贯彻落实《实施方案》的具体工作计划。"]
    # The override (who, when, why) stays in the internal record only.
    assert any(r.rule == "override" and r.text.startswith("root 于 2026-11-30 10:00 将其列入通报表扬名单")
               for r in score.reasons)
    notice = Notice("commend", "half-year", 2024, "2024年上海市知识产权行政保护工作实施方案",
                    "沪知局保〔2024〕15号", "各区知识产权局", "上海市知识产权局", D(2024, 7, 20),
                    (Listed(score.name, tuple(public_facts(score, "commend", "half-year"))),), draft=True)
    text = markdown(notice)
    for phrase in ("按时保质完成各项报送任务", "root", "专项工作成效突出", "逾期", "统计表", "得分", "扣"):
        assert phrase not in text
    assert "经研究，决定对杨浦区知识产权局予以通报表扬。" in text


def test_a_unit_listed_without_facts_gets_no_finding() -> None:
    notice = Notice("criticise", "half-year", 2024, "方案", "沪知局保〔2024〕15号", "各区知识产权局",
                    "上海市知识产权局", D(2024, 7, 20), (Listed("闵行区知识产权局", ()),), draft=True)
    blocks = notice.blocks()
    assert blocks[0][1].endswith("进行了评估。现将有关情况通报如下：")
    assert [text for kind, text in blocks if kind == "h1"] == ["一、通报决定", "二、有关要求"]


def test_an_empty_list_is_not_a_notice() -> None:
    notice = Notice("commend", "half-year", 2024, "方案", "沪知局保〔2024〕15号", "各区知识产权局",
                    "上海市知识产权局", D(2024, 7, 20), (), draft=True)
    with pytest.raises(ValueError):
        notice.blocks()


def test_caps_ties_and_thresholds() -> None:
    calendar = WorkCalendar()
    late = Obligation("a", "甲", D(2024, 6, 5), D(2024, 7, 5))  # 21 working days late: capped at 10
    never = Obligation("b", "乙", D(2024, 7, 1), None, rung="supervise", rung_on=D(2024, 7, 8))
    early = Obligation("c", "丙", D(2024, 7, 5), D(2024, 7, 1))
    facts = [UnitFacts("u1", "一", (late,)), UnitFacts("u2", "二", (never,)),
             UnitFacts("u3", "三", (early,)), UnitFacts("u4", "四", (early,)),
             UnitFacts("u5", "五", (Obligation("d", "丁", D(2024, 7, 5), None, waived=True),))]
    scores = {s.unit_id: s for s in evaluate(facts, Evaluation(), calendar, D(2024, 7, 15))}
    assert scores["u1"].score == 90
    assert scores["u2"].score == 100 - 20 - 3  # 10 + 10 working days overdue, then 督导检查 3
    assert [r.text for r in scores["u2"].reasons][:2] == [
        "「乙」（截止 2024-07-01）截至 2024-07-15 仍未报送，已逾期 10 个工作日，扣 20 分",
        "「乙」（截止 2024-07-01）于 2024-07-08 升级至「督导检查」，扣 3 分"]
    assert scores["u3"].rank == scores["u4"].rank == 1  # equal score and days early share a rank
    assert scores["u5"].rank == 3 and scores["u5"].score == 100  # waived counts for nothing
    assert [s.unit_id for s in listed(scores.values(), "commend")] == ["u3", "u4", "u5"]
    assert [s.unit_id for s in listed(scores.values(), "criticise")] == ["u2"]
    assert scores["u2"].reasons[-1].text == "列入通报批评建议名单：得分 77 低于批评线 80"
    strict = Evaluation.model_validate({"criticise": {"below": 70, "rung": "supervise"},
                                        "commend": {"max_units": 1}})
    again = evaluate(facts, strict, calendar, D(2024, 7, 15))
    assert [s.unit_id for s in listed(again, "criticise")] == ["u2"]
    assert again[-1].reasons[-1].text == "列入通报批评建议名单：有事项升级至「督导检查」"
    assert [s.unit_id for s in listed(again, "commend")] == ["u3"]


def test_shipped_plan_has_the_sections(plan) -> None:
    assert plan.evaluation.scope == ["districts", "lingang", "centres"]
    assert plan.evaluation.rules.missing.max == 30
    assert plan.requests.division == "protection-division" and plan.requests.reply_within == 10


def _check(tmp: Path, monkeypatch: pytest.MonkeyPatch, cli, text: str):
    write_plan(tmp, text)
    monkeypatch.chdir(tmp)
    return cli("check", "plan.yaml")


def test_check_refuses_crossed_thresholds_and_unknown_refs(tmp_path, monkeypatch, cli) -> None:
    text = edit(("criticise: {below: 80, rung: interview}", "criticise: {below: 101, rung: interview}"),
                ("  scope: [districts, lingang, centres]", "  scope: [district, lingang, centres]"),
                ("  division: protection-division\n  reply_within", "  division: protection-divison\n  reply_within"))
    result = _check(tmp_path, monkeypatch, cli, text)
    assert result.exit_code == 1
    assert flat(error(at(text, "district,"), "evaluation.scope[0]", "没有编号为「district」的单位或分组",
                 "是不是「districts」？")) in flat(result.stderr)
    assert flat(error(at(text, "101"), "evaluation.criticise.below",
                 "批评线 101 高于表扬线 100，同一单位可能同时被表扬和批评",
                 "criticise.below 应不大于 commend.min_score")) in flat(result.stderr)
    assert flat(error(at(text, "protection-divison"), "requests.division",
                 "没有编号为「protection-divison」的单位或分组",
                 "是不是「protection-division」？")) in flat(result.stderr)
    assert "错误：plan.yaml 有 3 处错误，未做任何改动" in result.stderr


def test_check_warns_about_a_rung_the_ladder_lacks_and_bad_types(tmp_path, monkeypatch, cli) -> None:
    text = edit(("    - {id: interview, kind: interview, offset: 10, to: [leadership], cc: [coordinator]}\n", ""),
                ("  division: protection-division\n  reply_within", "  division: pudong\n  reply_within"))
    result = _check(tmp_path, monkeypatch, cli, text)
    assert result.exit_code == 0, result.output
    assert flat(warning(at(text, "rung: interview", 6), "evaluation.criticise.rung",
                   "催办阶梯（escalation.rungs）中没有 kind 为 interview 的一级，这条批评规则不会生效",
                   "改为阶梯中已有的级别（supervise 或 interview），或删掉这一行")) in flat(result.stderr)
    assert flat(warning(at(text, "pudong\n  reply_within"), "requests.division",
                   "「pudong」不是局机关处室，请示将由它答复",
                   "通常填写负责答复请示的处室，例如 protection-division")) in flat(result.stderr)
    text = edit(("  reply_within: 10", "  reply_within: 十天"))
    result = _check(tmp_path, monkeypatch, cli, text)
    assert result.exit_code == 1
    assert flat(error(at(text, "十天"), "requests.reply_within", "应为整数，这里是「十天」",
                 "填写整数，例如 5")) in flat(result.stderr)


def test_check_refuses_a_task_only_unit_in_the_evaluation_scope(tmp_path, monkeypatch, cli) -> None:
    # 局机关处室 carry tasks but are never scored or named in a public 通报.
    text = edit(("  scope: [districts, lingang, centres]", "  scope: [districts, lingang, centres, divisions]"))
    result = _check(tmp_path, monkeypatch, cli, text)
    assert result.exit_code == 1
    assert flat(error(at(text, "[districts, lingang, centres, divisions]"), "evaluation.scope",
                 "参评范围包含只承担任务（role: task-only）的单位：知识产权保护处、政策法规处、知识产权运用促进处、"
                 "知识产权公共服务处；它们不能被评分或写入通报",
                 "scope 只填 role: reporting 的单位或分组，例如 [districts, lingang, centres]")) in flat(result.stderr)


def test_check_lists_assumed_dates_with_their_lines(tmp_path, monkeypatch, cli) -> None:
    result = _check(tmp_path, monkeypatch, cli, shipped())
    assert result.exit_code == 0
    assert flat(warning(at(shipped(), "source: assumed", offset=8), "tasks[6].milestones[2].source",
                   "节点「t07-dragon-boat」的日期为推定（source: assumed）：只提醒、催办，不升级督办、不计入评估",
                   "经确认后把这一节点的 source 改为 confirmed；日期来自通知原文则写 seed")) in flat(result.stderr)
    confirmed = edit(("        note: 端午节为2024年6月10日；专项行动起止日期和报送截止日期为推定，请确认。\n"
                      "        source: assumed",
                      "        note: 端午节为2024年6月10日；专项行动起止日期和报送截止日期为推定，请确认。\n"
                      "        source: confirmed"))
    again = _check(tmp_path, monkeypatch, cli, confirmed)
    assert "t07-dragon-boat" not in again.stderr
    assert "t07-mid-autumn" in again.stderr


def test_evaluation_summary_caps_reasons_per_unit_and_says_where_the_rest_are() -> None:
    from flows.report_jobs import SUMMARY_REASONS, EvaluationResult, evaluation_markdown
    from plan.evaluation import Reason

    missing = [Reason("missing", -2, f"未报送节点{n}（-2）") for n in range(SUMMARY_REASONS + 4)]
    few = UnitScore("b", "乙单位", 96, rank=2, proposed="criticise", final="criticise",
                    reasons=missing[:2])
    many = UnitScore("a", "甲单位", 72, rank=3, proposed="criticise", final="criticise", reasons=missing)
    result = EvaluationResult("half-year", D(2024, 7, 22), 1, "draft", [few, many], {}, None)
    text = evaluation_markdown(result)
    assert text.count("未报送节点") == SUMMARY_REASONS + 2
    assert f"未报送节点{SUMMARY_REASONS - 1}（-2）" in text and f"未报送节点{SUMMARY_REASONS}（-2）" not in text
    assert "  - 另有 4 条扣分依据未列出，全部评分依据见评分明细工作簿（scores-draft.xlsx）" in text
    assert text.count("另有") == 1  # 乙单位 lists both of its reasons
    assert "| 3 | 甲单位 | 72 |" in text  # every unit stays in the score table


def test_units_owing_the_same_obligations_score_as_each_alone() -> None:
    """evaluate() keeps one reason line per distinct obligation across units (a national
    evaluation formatted the same 100,000 lines): each unit's score, counts and lines are
    what scoring it on its own gives."""
    from plan.evaluation import score_unit

    def owed(unit: str, submitted: dt.date | None, rung_on: dt.date | None) -> UnitFacts:
        return UnitFacts(unit, f"{unit}局", (
            Obligation("plan", PLAN_DOC, D(2024, 6, 5), D(2024, 6, 3)),
            Obligation("summary", SUMMARY, D(2024, 7, 5), submitted,
                       rung="supervise" if rung_on else None, rung_on=rung_on),
            Obligation("waived", "免报材料", D(2024, 6, 7), None, waived=True)))

    facts = [owed("a", None, D(2024, 7, 15)), owed("b", None, D(2024, 7, 15)), owed("c", D(2024, 7, 10), None),
             owed("d", None, D(2024, 7, 16)), owed("e", D(2024, 7, 10), None)]
    config, calendar, today = Evaluation(), WorkCalendar(), D(2024, 7, 19)
    together = {s.unit_id: s for s in evaluate(facts, config, calendar, today)}
    for f in facts:
        alone = score_unit(f, config, calendar, today)
        got = together[f.unit_id]
        assert (got.score, got.missing, got.late, got.on_time, got.days_early, got.worst_rung) == (
            alone.score, alone.missing, alone.late, alone.on_time, alone.days_early, alone.worst_rung)
        # the list line propose() adds comes last; everything before it is the unit's own
        assert [r.as_json() for r in got.reasons if r.rule != "list"] == [r.as_json() for r in alone.reasons]
    assert together["a"].reasons[1] is together["b"].reasons[1]  # shared, not copied
    assert together["a"].reasons[2].text != together["d"].reasons[2].text  # fired on another day
