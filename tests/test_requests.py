"""请示 → 批复: requests are ledger entries of the division that replies, so the sweep
reminds and chases the division; the reply opens a follow-up entry until it is carried out."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from flows.sweep import run_sweep
from models.db import session_scope
from models.report_tables import RequestItem
from models.tables import AuditLog, LedgerEntry, Milestone, Submission
from tests.conftest import table_snapshot

D = dt.date


def add(cli, *args: str) -> dict:
    result = cli("request", "add", "--unit", "pudong", "--title", "某化妆品商标侵权案定性", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_add_creates_a_reply_entry_owed_by_the_division(synced, cli):
    data = add(cli, "--received", "2024-06-03")
    assert data == {"id": 1, "unit": "pudong", "division": "protection-division", "title": "某化妆品商标侵权案定性",
                    "received": "2024-06-03", "reply_due": "2024-06-18",  # 10 working days, 端午 skipped
                    "replied_on": None, "follow_up_due": None, "done_on": None, "status": "open",
                    "status_label": "待答复"}
    with session_scope() as session:
        milestone = session.get(Milestone, "request-1")
        entry = session.execute(select(LedgerEntry).where(LedgerEntry.milestone_id == "request-1")).scalar_one()
    assert milestone.origin == "request"
    assert milestone.title == "答复浦东新区知识产权局请示：某化妆品商标侵权案定性（第1号）"
    assert (entry.unit_id, entry.due, entry.status) == ("protection-division", D(2024, 6, 18), "open")
    status = json.loads(cli("status", "--unit", "protection-division", "--today", "2024-06-14", "--json").stdout)
    assert [(e["milestone"], e["state"]) for e in status["entries"]] == [("request-1", "due-soon")]
    second = add(cli, "--received", "2024-06-04", "--division", "policy-division")
    assert second["id"] == 2 and second["division"] == "policy-division"


def test_sweep_chases_the_division_not_the_requesting_unit(synced, cli, plan):
    add(cli, "--received", "2024-06-03")
    with session_scope() as session:
        result = run_sweep(session, plan=plan, today=D(2024, 6, 19))
    chased = [n for n in result.notices if any(i.milestone_id == "request-1" for i in n.items)]
    assert chased and all(n.unit_id == "protection-division" for n in chased)
    assert not any(n.unit_id == "pudong" and any(i.milestone_id == "request-1" for i in n.items)
                   for n in result.notices)


def test_reply_then_done_closes_both_entries(synced, cli):
    add(cli, "--received", "2024-06-03")
    result = cli("request", "reply", "1", "--date", "2024-06-20", "--note", "按商标侵权处理")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "已登记第 1 号请示的批复（2024-06-20）；应于 2024-07-18 前跟踪落实。"
    with session_scope() as session:
        reply = session.execute(select(Submission).where(Submission.milestone_id == "request-1")).scalar_one()
        follow = session.execute(select(LedgerEntry).where(LedgerEntry.milestone_id == "request-1-followup")
                                 ).scalar_one()
    assert (reply.source, reply.late, reply.note) == ("request", True, "按商标侵权处理")
    assert (follow.unit_id, follow.due, follow.status) == ("protection-division", D(2024, 7, 18), "open")
    assert cli("request", "done", "1", "--date", "2024-07-10").exit_code == 0
    listed = json.loads(cli("request", "list", "--json").stdout)
    assert listed[0]["status"] == "done" and listed[0]["done_on"] == "2024-07-10"
    assert json.loads(cli("request", "list", "--open", "--json").stdout) == []
    with session_scope() as session:
        actions = session.execute(select(AuditLog.action).where(AuditLog.object_type == "request")
                                  .order_by(AuditLog.id)).scalars().all()
        item = session.get(RequestItem, 1)
    assert actions == ["request.add", "request.reply", "request.done"]
    assert item.actor == "测试员"


@pytest.mark.parametrize(("args", "message", "hint"), [
    (("request", "reply", "7"), "错误：没有编号为 7 的请示", "提示：已有请示编号 1–1，运行 duban request list 查看"),
    (("request", "done", "1"), "错误：第 1 号请示还没有批复", "提示：先运行 duban request reply 1"),
    (("request", "reply", "1", "--date", "2024-06-01"), "错误：批复日期 2024-06-01 早于收到请示的日期 2024-06-03",
     "提示：用 --date 填写实际批复日期"),
    (("request", "add", "--unit", "pudnog", "--title", "x"), "错误：--unit：找不到单位「pudnog」",
     "提示：是不是「浦东新区知识产权局」（pudong）？运行 duban units 查看全部单位"),
    (("request", "add", "--unit", "浦东", "--division", "xuhui", "--title", "x"),
     "错误：--division：「徐汇区知识产权局」不是局机关处室，不能承办请示的答复",
     "提示：写一个处室：知识产权保护处（protection-division）、政策法规处（policy-division）、"
     "知识产权运用促进处（utilization-division）、知识产权公共服务处（public-service-division）"),
    (("request", "add", "--unit", "pudong", "--title", "  "), "错误：请示标题不能为空",
     "提示：用 --title 写明请示事项，例如 --title \"某商标侵权案定性\""),
])
def test_refusals_name_the_fix_and_change_nothing(synced, cli, db_url, args, message, hint):
    add(cli, "--received", "2024-06-03")
    before = table_snapshot(db_url)
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-2:] == [message, hint]
    assert table_snapshot(db_url) == before


def test_open_requests_appear_in_the_digest(synced, cli):
    add(cli, "--received", "2024-06-03")
    result = cli("digest", "--today", "2024-06-20", "--no-email", "--json")
    assert result.exit_code == 0, result.output
    follow = json.loads(result.stdout)["follow_ups"]
    assert follow == [{"kind": "请示", "unit": "浦东新区知识产权局",
                       "title": "第1号 某化妆品商标侵权案定性（待批复，知识产权保护处负责）",
                       "due": "2024-06-18", "state": "逾期 2 个工作日", "days_overdue": 2}]
