"""The outbox table's functions and the ``duban outbox`` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rich.cells import cell_len

from models import outbox
from models.db import session_scope
from plan.errors import DubanError
from tests.conftest import table_snapshot
from tests.test_notifications_samples import (
    NOW,
    item,
    many_unit_notices,
    outbox_rows,
    queue_notices,
    unit_notice,
)

LEASE = dt.timedelta(minutes=10)
BACKOFF = dt.timedelta(minutes=5)


def test_queue_is_idempotent_per_key(workdir) -> None:
    notices = many_unit_notices(3)
    keys = queue_notices(notices)
    assert sorted(keys) == sorted(n.key for n in notices)
    # The same notices again (a second run on the same day): nothing new.
    assert queue_notices(notices) == []
    # A new rung set for the same recipient and day is a new message.
    assert queue_notices([unit_notice(item("supervise"), to=("u000@example.org",))]) == [
        "unit-notice|u000@example.org|2024-07-15|supervise"]
    rows = outbox_rows()
    assert len(rows) == 4
    assert {r.state for r in rows} == {"queued"} and {r.attempts for r in rows} == {0}
    assert all(r.created_at.tzinfo is not None for r in rows)


def test_queue_many_rows_in_one_call(workdir) -> None:
    keys = queue_notices(many_unit_notices(1500))  # more than one insertmanyvalues batch
    assert len(keys) == 1500 == len(set(keys))


def test_claim_takes_due_messages_once_and_reclaims_expired_leases(workdir) -> None:
    queue_notices(many_unit_notices(5))
    with session_scope() as s:
        first = outbox.claim(s, now=NOW, lease=LEASE, limit=3)
    assert [r.state for r in first] == ["sending"] * 3
    assert [r.attempts for r in first] == [1, 1, 1]
    assert first[0].lease_until == NOW + LEASE
    with session_scope() as s:
        second = outbox.claim(s, now=NOW, lease=LEASE, limit=10)
    assert {r.id for r in second}.isdisjoint({r.id for r in first}) and len(second) == 2
    with session_scope() as s:
        assert outbox.claim(s, now=NOW + LEASE, lease=LEASE, limit=10) == []  # leases still held
    with session_scope() as s:
        again = outbox.claim(s, now=NOW + LEASE + dt.timedelta(seconds=1), lease=LEASE, limit=10)
    assert sorted(r.id for r in again) == sorted(r.id for r in [*first, *second])
    assert {r.attempts for r in again} == {2}


def test_crashed_too_often_fails_instead_of_looping(workdir) -> None:
    queue_notices(many_unit_notices(1))
    when = NOW
    for _ in range(3):
        with session_scope() as s:
            assert len(outbox.claim(s, now=when, lease=LEASE, limit=10, max_attempts=3)) == 1
        when += LEASE + dt.timedelta(seconds=1)
    with session_scope() as s:
        assert outbox.claim(s, now=when, lease=LEASE, limit=10, max_attempts=3) == []
    (row,) = outbox_rows()
    assert row.state == "failed" and row.attempts == 3
    assert row.last_error == outbox.CRASHED_TOO_OFTEN


def test_temporary_failures_back_off_then_fail(workdir) -> None:
    queue_notices(many_unit_notices(1))
    when = NOW
    expected_waits = [5, 10, 20]
    for wait in expected_waits:
        with session_scope() as s:
            (row,) = outbox.claim(s, now=when, lease=LEASE, limit=10)
            states = outbox.mark_failed(s, id=row.id, error="451 4.3.0 try later",
                                        permanent=False, now=when, max_attempts=4,
                                        backoff=BACKOFF)
        assert states == {row.id: "queued"}
        (row,) = outbox_rows()
        assert row.next_attempt_at == when + dt.timedelta(minutes=wait)
        with session_scope() as s:  # not due yet
            assert outbox.claim(s, now=row.next_attempt_at - dt.timedelta(seconds=1),
                                lease=LEASE, limit=10) == []
        when = row.next_attempt_at
    with session_scope() as s:
        (row,) = outbox.claim(s, now=when, lease=LEASE, limit=10)
        assert outbox.mark_failed(s, ids=[row.id], error="451 again", permanent=False, now=when,
                                  max_attempts=4, backoff=BACKOFF) == {row.id: "failed"}
    (row,) = outbox_rows()
    assert (row.state, row.attempts, row.last_error, row.next_attempt_at) == (
        "failed", 4, "451 again", None)


def test_permanent_failure_fails_at_once_and_sent_is_final(workdir) -> None:
    queue_notices(many_unit_notices(2))
    with session_scope() as s:
        a, b = outbox.claim(s, now=NOW, lease=LEASE, limit=10)
        outbox.mark_failed(s, id=a.id, error="550 5.1.1 no such user", permanent=True, now=NOW,
                           max_attempts=5, backoff=BACKOFF)
        assert outbox.mark_sent(s, ids=[b.id], now=NOW) == 1
        assert outbox.mark_sent(s, ids=[b.id], now=NOW) == 0  # only a held message can be sent
    rows = {r.id: r for r in outbox_rows()}
    assert (rows[a.id].state, rows[a.id].attempts) == ("failed", 1)
    assert (rows[b.id].state, rows[b.id].sent_at, rows[b.id].lease_until) == ("sent", NOW, None)
    with session_scope() as s:
        assert outbox.claim(s, now=NOW + dt.timedelta(days=30), lease=LEASE, limit=10) == []


def test_retry_puts_a_failed_message_back(workdir) -> None:
    (key,) = queue_notices(many_unit_notices(1))
    with session_scope() as s:
        (row,) = outbox.claim(s, now=NOW, lease=LEASE, limit=1)
        outbox.mark_failed(s, id=row.id, error="550 no", permanent=True, now=NOW, max_attempts=5,
                           backoff=BACKOFF)
    with session_scope() as s:
        row = outbox.retry(s, key=key)
    assert (row.state, row.attempts, row.next_attempt_at) == ("queued", 1, None)
    with session_scope() as s:
        assert [r.key for r in outbox.claim(s, now=NOW, lease=LEASE, limit=1)] == [key]


def test_retry_refuses_unknown_and_unfailed_messages(workdir, db_url) -> None:
    (key,) = queue_notices(many_unit_notices(1))
    before = table_snapshot(db_url)
    with pytest.raises(DubanError) as caught, session_scope() as s:
        outbox.retry(s, key="nope")
    assert caught.value.message == "发件箱中没有编号或键为「nope」的邮件"
    assert caught.value.hint == "运行 duban outbox 查看现有邮件的编号"
    with pytest.raises(DubanError) as caught, session_scope() as s:
        outbox.retry(s, key=key)
    assert caught.value.message == f"邮件「{key}」还在等待发送，只有发送失败的邮件可以重发"
    assert table_snapshot(db_url) == before


# -- command line -------------------------------------------------------------------------

def _fail_one(key: str) -> None:
    with session_scope() as s:
        rows = outbox.claim(s, now=NOW, lease=LEASE, limit=100)
        (target,) = [r for r in rows if r.key == key]
        outbox.mark_failed(s, id=target.id, error="550 5.1.1 <u001@example.org>: no such user",
                           permanent=True, now=NOW, max_attempts=5, backoff=BACKOFF)
        outbox.mark_sent(s, ids=[r.id for r in rows if r.key != key], now=NOW)


def test_cli_lists_the_outbox(workdir, cli) -> None:
    keys = queue_notices(many_unit_notices(3))
    _fail_one(keys[1])
    result = cli("outbox", "--json", ok=True)
    data = json.loads(result.stdout)
    assert [d["key"] for d in data] == keys
    assert [d["state"] for d in data] == ["sent", "failed", "sent"]
    failed = data[1]
    assert failed["attempts"] == 1
    assert failed["last_error"] == "550 5.1.1 <u001@example.org>: no such user"
    assert failed["to"] == ['"第1区知识产权局" <u001@example.org>']
    assert failed["subject"] == "【催办】请于7月15日前报送2024年上半年工作总结（沪知局保〔2024〕15号）"
    assert data[0]["sent_at"] == "2024-07-15 09:00:00"  # shown in Shanghai time
    assert data[0]["timezone"] == "Asia/Shanghai"
    only_failed = json.loads(cli("outbox", "--state", "failed", "--json", ok=True).stdout)
    assert [d["key"] for d in only_failed] == [keys[1]]
    table = cli("outbox", ok=True).stdout
    assert "发送失败" in table and "已发送" in table
    assert "合计：已发送 2，发送失败 1" in table
    lines = [line.split() for line in table.splitlines() if "u00" in line]
    assert [line[:5] for line in lines] == [["1", "单位通知", "u000", "已发送", "1"],
                                            ["2", "单位通知", "u001", "发送失败", "1"],
                                            ["3", "单位通知", "u002", "已发送", "1"]]
    assert all(cell_len(line) <= 80 for line in table.splitlines())
    wide = cli("outbox", "--wide", ok=True).stdout
    assert len(wide.splitlines()) > len(table.splitlines()) and "550" in wide  # subjects, errors


def test_cli_retry(workdir, cli) -> None:
    keys = queue_notices(many_unit_notices(2))
    _fail_one(keys[1])
    result = cli("outbox", "retry", keys[1], ok=True)
    assert result.stdout.strip() == "已放回待发送队列：编号 2（已尝试 1 次）。下一次 duban run 时重新发送。"
    assert [r.state for r in outbox_rows()] == ["sent", "queued"]
    from sqlmodel import select

    from models.tables import AuditLog

    with session_scope() as s:
        (entry,) = s.exec(select(AuditLog).where(AuditLog.action == "outbox.retry")).all()
    assert (entry.actor, entry.object_id) == ("测试员", keys[1])


def test_cli_retry_unknown_key(workdir, cli, db_url) -> None:
    queue_notices(many_unit_notices(1))
    before = table_snapshot(db_url)
    result = cli("outbox", "retry", "nope")
    assert result.exit_code == 1
    assert result.stderr == "错误：发件箱中没有编号或键为「nope」的邮件\n提示：运行 duban outbox 查看现有邮件的编号\n"
    assert table_snapshot(db_url) == before


def test_cli_empty_outbox(workdir, cli) -> None:
    # (--help for "outbox" and "outbox retry" is covered by tests/test_cli_help.py)
    assert cli("outbox", ok=True).stdout.strip() == "发件箱里没有邮件。"
    assert json.loads(cli("outbox", "--json", ok=True).stdout) == []


def test_cli_retry_by_short_id_and_all_failed_at_once(workdir, cli, db_url) -> None:
    keys = queue_notices(many_unit_notices(4))
    with session_scope() as s:
        rows = outbox.claim(s, now=NOW, lease=LEASE, limit=100)
        outbox.mark_failed(s, ids=[r.id for r in rows if r.key != keys[0]], error="421 down",
                           permanent=True, now=NOW, max_attempts=5, backoff=BACKOFF)
        outbox.mark_sent(s, ids=[rows[0].id], now=NOW)
    table = cli("outbox", "--state", "failed", ok=True).stdout
    assert [line.split()[0] for line in table.splitlines() if "u00" in line] == ["2", "3", "4"]
    assert "重发：duban outbox retry 编号（或 duban outbox retry --state failed 全部重发）。" in table
    # One by its short id …
    assert cli("outbox", "retry", "2", ok=True).stdout.strip() == (
        "已放回待发送队列：编号 2（已尝试 1 次）。下一次 duban run 时重新发送。")
    # … the rest of one unit, then everything failed, in one command each.
    assert cli("outbox", "retry", "--state", "failed", "--unit", "u003", ok=True).stdout.strip() == (
        "已放回待发送队列：1 封（编号 4）。下一次 duban run 时重新发送。")
    assert cli("outbox", "retry", "--state", "failed", "--since", "2099-01-01",
               ok=True).stdout.strip() == "没有需要重发的邮件（没有符合条件的 failed 邮件）。"
    assert cli("outbox", "retry", "--state", "failed", ok=True).stdout.strip() == (
        "已放回待发送队列：1 封（编号 3）。下一次 duban run 时重新发送。")
    assert [r.state for r in outbox_rows()] == ["sent", "queued", "queued", "queued"]
    before = table_snapshot(db_url)
    wrong = cli("outbox", "retry", "--state", "sent")
    assert (wrong.exit_code, wrong.stderr) == (
        1, "错误：只能重发状态为 failed 的邮件，不能重发 sent\n提示：写成 duban outbox retry --state failed\n")
    both = cli("outbox", "retry")
    flat = "".join(both.stderr.replace("│", "").split())
    assert both.exit_code == 2 and "写一封邮件的编号，或--statefailed（全部重发），二者选一" in flat
    assert table_snapshot(db_url) == before
