"""Rendering notices: grouping, wording, citations, escaping; composing outbox rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from notifications.compose import default_sender, make_message_id, outbox_row
from notifications.render import render_notice
from plan.errors import DubanError
from plan.notice import Notice, PlanInfo
from plan.supervision import EarlierRung, SheetItem, SupervisionSheet, feedback_text
from tests.test_notifications_samples import (
    PLAN_INFO,
    SENDER,
    coordinator_list,
    interview_proposal,
    item,
    unit_notice,
)

MSG_ID = re.compile(r"^<duban\.[0-9a-f]{24}@[A-Za-z0-9.-]+>$")


def mixed_notice() -> Notice:
    return unit_notice(
        item("remind", days=3, title="具体工作计划", stats_table=False, task=1,
             task_title="健全行政保护工作机制"),
        item("chase", days=2, title="上半年工作总结"),
        item("supervise", days=6, title="2024年上半年工作总结", task=7,
             task_title="加强商标保护"),
        cc=("lead@example.org",))


def test_unit_notice_lists_items_by_rung_most_serious_first() -> None:
    rendered = render_notice(mixed_notice())
    assert rendered.subject == "【督办】请于7月15日前报送2024年上半年工作总结等3项（沪知局保〔2024〕15号）"
    for body in (rendered.text, rendered.html):
        positions = [body.index(h) for h in ("一、督办事项", "二、催办事项", "三、提醒事项", "四、报送要求")]
        assert positions == sorted(positions)
    text = rendered.text
    supervise = text[text.index("一、督办事项"):text.index("二、催办事项")]
    assert "  1. 2024年上半年工作总结（任务7：加强商标保护）\n     截止日期：2024年7月5日；" in supervise
    assert "  1. 上半年工作总结\n     截止日期：2024年7月5日；已逾期 2 个工作日\n" in text
    assert "已逾期 6 个工作日" in supervise
    remind = text[text.index("三、提醒事项"):text.index("四、报送要求")]
    assert "具体工作计划（任务1：健全行政保护工作机制）" in remind
    assert "还剩 3 个工作日" in remind


def test_duban_form_says_what_to_send_and_where() -> None:
    rendered = render_notice(unit_notice(item("supervise", days=6)))
    assert rendered.subject == "【督办】请于7月15日前报送2024年上半年工作总结（沪知局保〔2024〕15号）"
    for body in (rendered.text, rendered.html):
        assert "督办单" in body
        assert "截止日期" in body and "2024年7月5日" in body
        assert "已逾期 6 个工作日" in body
        assert "Word 版、PDF 盖章版；随附行政保护案件统计表" in body
        assert "发送至联系邮箱 shszcj@126.com" in body
        assert "要求 Word 版和 PDF 盖章版的，两种格式须同时发送。" in body
        assert "请将《行政保护案件统计表》随材料一并报送" in body


def test_statistics_sentence_only_when_a_table_is_due() -> None:
    rendered = render_notice(unit_notice(item("chase", stats_table=False, formats=("word",))))
    assert "行政保护案件统计表" not in rendered.text
    assert "盖章版" not in rendered.text
    assert "报送材料：Word 版" in rendered.text


@pytest.mark.parametrize("notice", [
    mixed_notice(),
    coordinator_list(item("supervise", days=5)),
    interview_proposal(item("interview", days=10)),
], ids=["unit-notice", "coordinator-list", "interview-proposal"])
def test_every_message_cites_plan_and_contacts(notice: Notice) -> None:
    rendered = render_notice(notice)
    for body in (rendered.text, rendered.html):
        assert "《2024年上海市知识产权行政保护工作实施方案》" in body
        assert "沪知局保〔2024〕15号" in body
        assert "知识产权保护处 凌捷（23170402）、胡中鹤（23170413）" in body
        assert "shszcj@126.com" in body
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert "<style" not in rendered.html  # inline CSS only: mail clients strip <style>
    assert 'style="' in rendered.html
    assert "\n" not in rendered.subject


def test_reminder_subject_and_due_today() -> None:
    rendered = render_notice(unit_notice(item("remind", days=0, rung_id="remind-1")))
    assert rendered.subject == "【提醒】2024年上半年工作总结将于7月5日到期，请按时报送（沪知局保〔2024〕15号）"
    assert "今日截止" in rendered.text
    assert "工作提醒" in rendered.html


def test_chase_subject() -> None:
    rendered = render_notice(unit_notice(item("chase"), item("chase", title="统计表")))
    assert rendered.subject == "【催办】请于7月15日前报送2024年上半年工作总结等2项（沪知局保〔2024〕15号）"
    assert "一、催办事项" in rendered.text and "督办事项" not in rendered.text


def test_coordinator_list_groups_by_unit_longest_overdue_first() -> None:
    notice = coordinator_list(
        item("supervise", days=5, unit_id="huangpu", unit_name="黄浦区知识产权局"),
        item("supervise", days=7, unit_id="xuhui", unit_name="徐汇区知识产权局",
             title="具体工作计划"),
        item("supervise", days=5, unit_id="xuhui", unit_name="徐汇区知识产权局"))
    rendered = render_notice(notice)
    assert rendered.subject == "【督导检查名单】2024年7月15日：2个单位3项材料逾期未报送"
    text = rendered.text
    assert "下列 2 个单位共 3 项材料超过截止日期仍未报送" in text
    assert text.index("1. 徐汇区知识产权局") < text.index("2. 黄浦区知识产权局")
    xuhui = text[text.index("1. 徐汇区知识产权局"):text.index("2. 黄浦区知识产权局")]
    assert "具体工作计划，截止 2024年7月5日，已逾期 7 个工作日" in xuhui
    assert "2024年上半年工作总结，截止 2024年7月5日，已逾期 5 个工作日" in xuhui
    assert rendered.html.count('rowspan="2"') == 2  # 徐汇: number and name span its two rows


def test_interview_proposal_says_what_follows() -> None:
    rendered = render_notice(interview_proposal(
        item("interview", days=10), item("interview", days=12, unit_id="jingan",
                                         unit_name="静安区知识产权局")))
    assert rendered.subject == "【约谈建议】2个单位2项材料逾期未报送，建议约谈（2024年7月15日）"
    for body in (rendered.text, rendered.html):
        assert "局领导：" in body
        assert "已逾期 10 个工作日以上" in body
        assert "一、约谈上述单位负责人" in body
        assert "二、责令限期整改" in body
        assert "以上建议妥否，请审定。" in body
        assert body.index("静安区知识产权局") < body.index("黄浦区知识产权局")
    # Each unit of the appendix starts its own line, also after an item with a history line.
    lines = rendered.text.splitlines()
    assert "1. 静安区知识产权局" in lines and "2. 黄浦区知识产权局" in lines


def test_unit_name_cannot_inject_html() -> None:
    evil = "<script>alert(1)</script>"
    rendered = render_notice(unit_notice(item("chase", unit_name=evil, title=f"总结{evil}"),
                                         name=evil))
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert evil in rendered.text  # plain text shows it as typed; nothing interprets it


def test_unit_name_newline_stays_out_of_the_subject_line() -> None:
    rendered = render_notice(unit_notice(item("chase", title="总结\r\nBcc: evil@example.org")))
    assert rendered.subject == "【催办】请于7月15日前报送总结 Bcc: evil@example.org（沪知局保〔2024〕15号）"


def test_rendering_is_deterministic() -> None:
    assert render_notice(mixed_notice()) == render_notice(mixed_notice())


def test_notice_key_and_validation() -> None:
    notice = mixed_notice()
    assert notice.key == "unit-notice|huangpu@example.org|2024-07-15|overdue+remind-5+supervise"
    with pytest.raises(ValueError):
        Notice(kind="unit-notice", run_date=dt.date(2024, 7, 15), to=("a@example.org",), cc=(),
               recipient_name="x", unit_id="x", items=(), plan=PLAN_INFO)
    with pytest.raises(ValueError):
        Notice(kind="unit-notice", run_date=dt.date(2024, 7, 15), to=(), cc=(),
               recipient_name="x", unit_id="x", items=(item(),), plan=PLAN_INFO)


def test_plan_info_from_the_shipped_plan(plan) -> None:
    info = PlanInfo.from_plan(plan)
    assert info == PLAN_INFO


def test_message_id_is_stable_and_valid() -> None:
    first = make_message_id("unit-notice|a@example.org|2024-07-15|overdue", SENDER)
    assert first == make_message_id("unit-notice|a@example.org|2024-07-15|overdue", SENDER)
    assert MSG_ID.match(first) and first.endswith("@126.com>")
    assert first != make_message_id("unit-notice|a@example.org|2024-07-16|overdue", SENDER)


def test_sender_defaults_to_the_plan_mailbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_SMTP_FROM", raising=False)
    assert default_sender("shszcj@126.com", "上海市知识产权局") == '"上海市知识产权局督办" <shszcj@126.com>'
    # The name comes from the plan's issuer; a plan without one gets a neutral name, never ours.
    assert default_sender("office@example.org") == '"督办系统" <office@example.org>'
    monkeypatch.setenv("DUBAN_SMTP_FROM", "保护处督办 <duban@sipa.example.org>")
    assert default_sender("shszcj@126.com") == '"保护处督办" <duban@sipa.example.org>'
    monkeypatch.setenv("DUBAN_SMTP_FROM", "不是地址")
    with pytest.raises(DubanError) as caught:
        default_sender("shszcj@126.com")
    assert caught.value.message == "发件人「不是地址」无效"
    assert caught.value.hint == "DUBAN_SMTP_FROM 写成「显示名 <name@example.org>」或「name@example.org」"


def test_outbox_row_columns() -> None:
    notice = mixed_notice()
    rendered = render_notice(notice)
    row = outbox_row(notice, rendered, sender=SENDER)
    assert row["key"] == notice.key
    assert row["message_id"] == make_message_id(notice.key, SENDER)
    assert row["to"] == ['"黄浦区知识产权局" <huangpu@example.org>']
    assert row["cc"] == ["lead@example.org"]
    assert (row["kind"], row["run_date"], row["unit_id"]) == ("unit-notice", dt.date(2024, 7, 15),
                                                               "huangpu")
    assert (row["state"], row["attempts"], row["sender"]) == ("queued", 0, SENDER)
    assert (row["subject"], row["body_text"], row["body_html"]) == (
        rendered.subject, rendered.text, rendered.html)


def test_outbox_row_refuses_a_malformed_address() -> None:
    notice = unit_notice(item(), to=("huangpu@example.org, evil@example.org",))
    with pytest.raises(DubanError) as caught:
        outbox_row(notice, render_notice(notice), sender=SENDER)
    assert caught.value.message == ("收件人（黄浦区知识产权局）的邮箱地址"
                                    "「huangpu@example.org, evil@example.org」无效")
    assert caught.value.hint == "写成 name@example.org 这样的纯地址，不带姓名、空格或尖括号"


# -- wording that follows the record (#10) -------------------------------------------------
CHASED = EarlierRung("chase", dt.date(2024, 7, 8))
SUPERVISED = EarlierRung("supervise", dt.date(2024, 7, 12))


def test_supervise_without_an_earlier_chase_says_all_at_once() -> None:
    text = render_notice(unit_notice(item("supervise", days=6))).text
    assert "办理经过：该事项已逾期6个工作日，本次一并予以督办。" in text
    assert "经催办" not in text and "已于" not in text


def test_supervise_after_a_recorded_chase_names_its_date() -> None:
    rendered = render_notice(unit_notice(item("supervise", days=6, earlier=(CHASED,))))
    assert "办理经过：已于7月8日催办，仍未报送，现予督办。" in rendered.text
    assert "已于7月8日催办，仍未报送，现予督办。" in rendered.html


def test_interview_proposal_says_escalated_only_when_both_were_recorded() -> None:
    both = render_notice(interview_proposal(item("interview", days=11, earlier=(CHASED, SUPERVISED)))).text
    assert "已逾期 11 个工作日以上，经催办、督办仍未报送。" in both
    assert "已于7月8日催办、7月12日督办，经催办、督办仍未报送。" in both
    none = render_notice(interview_proposal(item("interview", days=11))).text
    assert "经催办" not in none
    assert ("已逾期 11 个工作日以上，仍未报送；其中部分事项此前未发出催办或督办，本次一并提出约谈建议，"
            "各事项办理经过见附表。") in none
    assert "该事项已逾期11个工作日，此前未发出催办、督办，本次一并提出约谈建议。" in none
    chased = render_notice(interview_proposal(item("interview", days=11, earlier=(CHASED,)))).text
    assert "已于7月8日催办，未发督办单；该事项已逾期11个工作日，本次一并提出约谈建议。" in chased


def test_assumed_date_reads_as_inference() -> None:
    rendered = render_notice(unit_notice(item("remind", days=3, assumed=True, note="按惯例推定")))
    assert "截止日期：2024年7月5日（推定，待确认）" in rendered.text
    assert "说明：该截止日期为协调处室推定，原通知未明确规定，待确认后以正式通知为准。（按惯例推定）" in rendered.text
    assert "（推定，待确认）" in rendered.html


def test_supervision_sheet_in_subject_and_body() -> None:
    deadline = dt.date(2024, 7, 18)
    sheet = SupervisionSheet(
        number="督〔2024〕半年第07号", unit_id="huangpu", unit_name="黄浦区知识产权局",
        items=(SheetItem(milestone_id="m", title="2024年上半年工作总结", due=dt.date(2024, 7, 5),
                         working_days_overdue=6, formats=("word",), stats_table=False,
                         earlier=(CHASED,)),),
        issued_on=dt.date(2024, 7, 15), deadline=deadline,
        feedback=feedback_text(number="督〔2024〕半年第07号", deadline=deadline, mailbox="shszcj@126.com"),
        issuer="上海市知识产权局（知识产权保护处）", doc_number="沪知局保〔2024〕15号",
        mailbox="shszcj@126.com", contacts=(("张三", "021-1234"),))
    rendered = render_notice(unit_notice(item("supervise", days=6, earlier=(CHASED,)),
                                         item("chase", days=2, title="其他"), sheet=sheet))
    assert rendered.subject == "【督办】督〔2024〕半年第07号：请于7月18日前报送2024年上半年工作总结等2项"
    for line in ("督办编号：督〔2024〕半年第07号",
                 "  1. 2024年上半年工作总结，截止日期7月5日，已逾期6个工作日；此前已于7月8日催办。",
                 "办理时限：2024年7月18日前",
                 "反馈要求：请于7月18日前将督办事项所列材料报送至 shszcj@126.com，同时书面反馈逾期原因和整改措施；"
                 "邮件主题注明单位名称和督办编号督〔2024〕半年第07号。",
                 "督办单位：上海市知识产权局（知识产权保护处）",
                 "联系人：张三（021-1234），联系邮箱 shszcj@126.com"):
        assert line in rendered.text.splitlines(), line
    assert "督办编号：督〔2024〕半年第07号" in rendered.html
    assert not re.search(r"\d{4}-\d{2}-\d{2}", rendered.text + rendered.html)


def test_interview_proposal_ties_follow_the_plan_order_not_the_english_id() -> None:
    # 黄浦 (entry 101) precedes 宝山 (entry 109) in plan.yaml; by English id baoshan would lead.
    rendered = render_notice(interview_proposal(
        item("interview", days=10, unit_id="baoshan", unit_name="宝山区知识产权局", entry_id=109),
        item("interview", days=10, unit_id="huangpu", unit_name="黄浦区知识产权局", entry_id=101),
        item("interview", days=12, unit_id="jingan", unit_name="静安区知识产权局", entry_id=104)))
    text = rendered.text
    assert text.index("静安区知识产权局") < text.index("黄浦区知识产权局") < text.index("宝山区知识产权局")
