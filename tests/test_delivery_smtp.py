"""Delivery to a real SMTP server on loopback (aiosmtpd), including the faults it can show."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from typing import TYPE_CHECKING, ClassVar

import pytest

from models.db import get_engine
from notifications.delivery import DeliveryReport, deliver_pending
from notifications.smtp_settings import SmtpSettings
from notifications.transport import SmtpTransport
from plan.errors import DubanError
from tests.test_notifications_samples import (
    NOW,
    coordinator_list,
    item,
    many_unit_notices,
    outbox_rows,
    queue_notices,
    unit_notice,
)

if TYPE_CHECKING:
    from tests.smtp_server import SmtpServer

pytest_plugins = ["tests.smtp_server"]

MIN = dt.timedelta(minutes=1)


def deliver(now: dt.datetime = NOW, **kwargs) -> DeliveryReport:
    settings = SmtpSettings.from_env()
    assert settings is not None
    return deliver_pending(engine_or_session_factory=get_engine(),
                           transport=SmtpTransport(settings), now=now, **kwargs)


def by_key() -> dict:
    return {r.key: r for r in outbox_rows()}


def test_messages_arrive_decoded_with_the_right_headers(workdir, smtp_server: SmtpServer) -> None:
    notices = [
        unit_notice(item("chase", days=2), item("remind", days=3, title="具体工作计划"),
                    to=("huangpu@example.org", "huangpu-lead@example.org"),
                    cc=("lead-unit@example.org",)),
        unit_notice(item("remind", days=5, unit_id="xuhui", unit_name="徐汇区知识产权局"),
                    to=("xuhui@example.org",)),
        coordinator_list(item("supervise", days=5)),
    ]
    queue_notices(notices)
    report = deliver()
    assert report == DeliveryReport(sent=3, failed=0, retrying=0, skipped=0)
    assert smtp_server.handler.connections == 1  # one SMTP connection for the whole run
    received = {r.message_id: r for r in smtp_server.received}
    rows = by_key()
    assert len(received) == 3 == len(smtp_server.received)  # one message per notice
    assert {r.state for r in rows.values()} == {"sent"}

    huangpu = received[rows[notices[0].key].message_id]  # the outbox row's Message-ID
    msg = huangpu.message
    assert msg["Subject"] == "【催办】请于7月15日前报送2024年上半年工作总结等2项（沪知局保〔2024〕15号）"
    assert "=?utf-8?" in huangpu.data.decode("ascii")  # encoded words on the wire, 7-bit clean
    (sender,) = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("上海市知识产权局督办", "shszcj@126.com")
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("黄浦区知识产权局", "huangpu@example.org"), ("黄浦区知识产权局", "huangpu-lead@example.org")]
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["lead-unit@example.org"]
    assert sorted(huangpu.rcpt_tos) == sorted(["huangpu@example.org", "huangpu-lead@example.org",
                                               "lead-unit@example.org"])
    assert huangpu.mail_from == "shszcj@126.com"
    assert msg["Message-ID"] == rows[notices[0].key].message_id
    assert msg["Auto-Submitted"] == "auto-generated"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    assert "一、催办事项" in plain.get_content() and "二、提醒事项" in plain.get_content()
    assert "<!DOCTYPE html>" in html.get_content()
    assert plain.get_content() == rows[notices[0].key].body_text

    xuhui = received[rows[notices[1].key].message_id].message
    assert "Cc" not in xuhui
    coordinator = received[rows[notices[2].key].message_id].message
    assert coordinator["Subject"] == "【督导检查名单】2024年7月15日：1个单位1项材料逾期未报送"

    # A second run has nothing left to send.
    assert deliver(NOW + MIN) == DeliveryReport()
    assert len(smtp_server.received) == 3


def test_unit_name_cannot_add_a_header_or_a_recipient(workdir, smtp_server: SmtpServer) -> None:
    evil = "<script>alert(1)</script>黄浦区\r\nBcc: evil@example.org"
    notice = unit_notice(item("chase", unit_name=evil, title=evil), name=evil)
    queue_notices([notice])
    assert deliver().sent == 1
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["huangpu@example.org"]
    msg = got.message
    assert "Bcc" not in msg
    assert b"\nBcc:" not in got.data and b"evil@example.org" not in got.data.split(b"\r\n\r\n")[0]
    assert msg["Subject"] == ("【催办】请于7月15日前报送<script>alert(1)</script>黄浦区 Bcc: evil@example.org"
                              "（沪知局保〔2024〕15号）")
    assert [a.addr_spec for a in msg["To"].addresses] == ["huangpu@example.org"]
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_server_that_refuses_connections_backs_off_then_fails(workdir, monkeypatch) -> None:
    from tests.smtp_server import free_port

    port = free_port()  # nothing listens there
    monkeypatch.setenv("DUBAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DUBAN_SMTP_PORT", str(port))
    monkeypatch.setenv("DUBAN_SMTP_STARTTLS", "false")
    queue_notices(many_unit_notices(3))
    report = deliver(batch=2)
    # The batch in hand counts an attempt; the server is down, so the run stops there.
    assert report == DeliveryReport(sent=0, failed=0, retrying=2, skipped=1)
    rows = outbox_rows()
    assert [(r.state, r.attempts) for r in rows] == [("queued", 1), ("queued", 1), ("queued", 0)]
    assert rows[0].last_error == f"连接 SMTP 127.0.0.1:{port}（明文）失败：连接被拒绝（服务器未启动或端口不对）"
    first_wait = rows[0].next_attempt_at - NOW
    assert MIN * 5 <= first_wait < MIN * 5 + dt.timedelta(seconds=5)

    # Before the backoff has passed, only the untried message is attempted.
    assert deliver(NOW + MIN, batch=10) == DeliveryReport(retrying=1, skipped=2)
    when = NOW + dt.timedelta(hours=1)
    assert deliver(when, batch=10) == DeliveryReport(retrying=3)
    rows = outbox_rows()
    assert [r.attempts for r in rows] == [2, 2, 2]
    assert MIN * 10 <= rows[0].next_attempt_at - when < MIN * 10 + dt.timedelta(seconds=5)
    report = deliver(NOW + dt.timedelta(hours=3), batch=10, max_attempts=3)
    assert report == DeliveryReport(failed=3)
    assert [(r.state, r.attempts) for r in outbox_rows()] == [("failed", 3)] * 3


def test_451_is_temporary_and_the_next_run_sends(workdir, smtp_server: SmtpServer) -> None:
    keys = queue_notices(many_unit_notices(3))
    rows = by_key()
    slow = rows[keys[1]].message_id
    smtp_server.handler.data_reply = lambda got: "451 4.3.0 Try again later" if got.message_id == slow else None
    assert deliver() == DeliveryReport(sent=2, retrying=1)
    row = by_key()[keys[1]]
    assert (row.state, row.attempts, row.last_error) == ("queued", 1, "服务器拒收：451 4.3.0 Try again later")
    smtp_server.handler.data_reply = None
    assert deliver(NOW + MIN * 6) == DeliveryReport(sent=1)
    assert sorted(smtp_server.handler.message_ids()) == sorted(r.message_id for r in outbox_rows())
    assert {r.state for r in outbox_rows()} == {"sent"}


def test_421_closes_the_connection_the_rest_still_go(workdir, smtp_server: SmtpServer) -> None:
    keys = queue_notices(many_unit_notices(4))
    rows = by_key()
    busy = rows[keys[1]].message_id
    smtp_server.handler.data_reply = (
        lambda got: "421 4.7.0 Too busy, closing" if got.message_id == busy else None)
    assert deliver() == DeliveryReport(sent=3, retrying=1)
    row = by_key()[keys[1]]
    assert (row.state, row.last_error) == ("queued", "服务器拒收：421 4.7.0 Too busy, closing")
    assert len(smtp_server.received) == 3
    assert smtp_server.handler.connections >= 2  # reconnected after the 421


def test_421_once_is_retried_at_once_on_a_new_connection(workdir, smtp_server: SmtpServer) -> None:
    queue_notices(many_unit_notices(4))
    answered = {"n": 0}

    def per_connection_limit(got) -> str | None:
        answered["n"] += 1
        return "421 4.7.0 Too many messages, closing" if answered["n"] == 3 else None

    smtp_server.handler.data_reply = per_connection_limit
    assert deliver() == DeliveryReport(sent=4)
    assert len(set(smtp_server.handler.message_ids())) == 4 == len(smtp_server.received)


def test_550_for_one_recipient_fails_that_message_only(workdir, smtp_server: SmtpServer) -> None:
    notices = many_unit_notices(3)
    notices.append(unit_notice(item(), to=("gone@example.org", "ok@example.org")))
    keys = queue_notices(notices)
    smtp_server.handler.rcpt_replies = {"u001@example.org": "550 5.1.1 No such user",
                                        "gone@example.org": "550 5.1.1 No such user"}
    assert deliver() == DeliveryReport(sent=3, failed=1)
    rows = by_key()
    assert (rows[keys[1]].state, rows[keys[1]].attempts) == ("failed", 1)
    assert rows[keys[1]].last_error == "收件人全部被拒收：u001@example.org：550 5.1.1 No such user"
    assert [rows[k].state for k in (keys[0], keys[2])] == ["sent", "sent"]
    # Partly refused: delivered to the others, and the refusal is on record.
    assert rows[keys[3]].state == "sent"
    assert rows[keys[3]].last_error == "部分收件人被拒收：gone@example.org：550 5.1.1 No such user"
    assert len(smtp_server.received) == 3
    # A permanent failure is not retried.
    smtp_server.handler.rcpt_replies = {}
    assert deliver(NOW + dt.timedelta(days=1)) == DeliveryReport()


def test_dropped_connection_mid_batch(workdir, smtp_server: SmtpServer) -> None:
    keys = queue_notices(many_unit_notices(5))
    rows = by_key()
    victim = rows[keys[2]].message_id
    dropped = {"done": False}

    def drop_once(got) -> bool:
        if got.message_id == victim and not dropped["done"]:
            dropped["done"] = True
            return True
        return False

    smtp_server.handler.drop = drop_once
    report = deliver()
    # The message in flight waits for the next run; the rest went over a new connection.
    assert report == DeliveryReport(sent=4, retrying=1)
    row = by_key()[keys[2]]
    assert row.state == "queued" and row.attempts == 1
    assert row.last_error.startswith("连接在发送途中断开")
    assert deliver(NOW + MIN * 6) == DeliveryReport(sent=1)
    ids = smtp_server.handler.message_ids()
    assert sorted(ids) == sorted(r.message_id for r in outbox_rows())  # each exactly once
    assert {r.state for r in outbox_rows()} == {"sent"}


def test_server_that_never_answers_times_out(workdir, monkeypatch) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # never says hello
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("DUBAN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("DUBAN_SMTP_PORT", str(listener.getsockname()[1]))
        monkeypatch.setenv("DUBAN_SMTP_STARTTLS", "false")
        monkeypatch.setenv("DUBAN_SMTP_TIMEOUT", "0.5")
        queue_notices(many_unit_notices(2))
        assert deliver() == DeliveryReport(retrying=2)
        assert outbox_rows()[0].last_error.endswith("（明文）失败：连接超时（服务器没有应答）")
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_settings_from_the_environment(monkeypatch) -> None:
    for key in ("HOST", "PORT", "USER", "PASSWORD", "FROM", "STARTTLS", "SSL", "TIMEOUT"):
        monkeypatch.delenv(f"DUBAN_SMTP_{key}", raising=False)
    assert SmtpSettings.from_env() is None
    monkeypatch.setenv("DUBAN_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("DUBAN_SMTP_USER", "duban@example.org")
    monkeypatch.setenv("DUBAN_SMTP_PASSWORD", "s3cret-pw")
    settings = SmtpSettings.from_env()
    assert settings is not None
    assert (settings.port, settings.starttls, settings.ssl, settings.timeout) == (587, True, False, 30)
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in repr(SmtpTransport(settings))
    assert settings.password == "s3cret-pw"
    monkeypatch.setenv("DUBAN_SMTP_SSL", "true")
    monkeypatch.setenv("DUBAN_SMTP_STARTTLS", "true")
    with pytest.raises(DubanError) as caught:
        SmtpSettings.from_env()
    assert caught.value.message == "DUBAN_SMTP_SSL 和 DUBAN_SMTP_STARTTLS 不能同时为 true"
    monkeypatch.setenv("DUBAN_SMTP_STARTTLS", "false")
    assert SmtpSettings.from_env().port == 465
    monkeypatch.setenv("DUBAN_SMTP_STARTTLS", "maybe")
    with pytest.raises(DubanError) as caught:
        SmtpSettings.from_env()
    assert (caught.value.message, caught.value.hint) == (
        "环境变量 DUBAN_SMTP_STARTTLS 的值「maybe」无效", "填写 true 或 false")
    monkeypatch.setenv("DUBAN_SMTP_STARTTLS", "false")
    monkeypatch.setenv("DUBAN_SMTP_PORT", "abc")
    with pytest.raises(DubanError) as caught:
        SmtpSettings.from_env()
    assert caught.value.message == "环境变量 DUBAN_SMTP_PORT 的值「abc」无效"


def test_password_from_the_keyring(monkeypatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1
        store: ClassVar[dict[tuple[str, str], str]] = {
            ("duban", "duban@example.org"): "from-keyring"}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        monkeypatch.delenv("DUBAN_SMTP_PASSWORD", raising=False)
        monkeypatch.setenv("DUBAN_SMTP_HOST", "smtp.example.org")
        monkeypatch.setenv("DUBAN_SMTP_USER", "duban@example.org")
        assert SmtpSettings.from_env().password == "from-keyring"
        monkeypatch.setenv("DUBAN_SMTP_USER", "other@example.org")
        with pytest.raises(DubanError) as caught:
            SmtpSettings.from_env()
        assert caught.value.message == "设置了 DUBAN_SMTP_USER=other@example.org，但找不到它的密码"
        assert caught.value.hint == ("设置环境变量 DUBAN_SMTP_PASSWORD，"
                                     "或运行 keyring set duban other@example.org 存入系统密钥环")
    finally:
        keyring.set_keyring(previous)


def test_login_and_a_refused_login(workdir, monkeypatch) -> None:
    from aiosmtpd.smtp import AuthResult

    from tests.smtp_server import login_server

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) in {("duban@example.org", "right"),
                                                       (b"duban@example.org", b"right")}
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535

    with login_server(authenticate, monkeypatch, "wrong") as (handler, port):
        queue_notices(many_unit_notices(2))
        with pytest.raises(DubanError) as caught:
            deliver()
        assert caught.value.message.startswith(
            f"SMTP 127.0.0.1:{port}（明文，用户 duban@example.org）拒绝登录：535")
        assert "wrong" not in caught.value.message
        # A setting problem is not the messages' fault: they go back untouched.
        assert [(r.state, r.attempts) for r in outbox_rows()] == [("queued", 0), ("queued", 0)]
        monkeypatch.setenv("DUBAN_SMTP_PASSWORD", "right")
        assert deliver() == DeliveryReport(sent=2)
        assert len(handler.received) == 2


def test_a_slow_batch_renews_its_lease(workdir, smtp_server: SmtpServer) -> None:
    from sqlalchemy import select

    from models.db import session_scope
    from models.tables import OutboxMessage

    queue_notices(many_unit_notices(4))
    smtp_server.handler.delay = 0.4
    leases: list[dt.datetime] = []

    def look(_) -> None:
        with session_scope() as s:
            leases.extend(s.scalars(select(OutboxMessage.lease_until)
                                    .where(OutboxMessage.state == "sending")))

    smtp_server.handler.after_accept = look
    lease = dt.timedelta(seconds=1)
    assert deliver(lease=lease) == DeliveryReport(sent=4)
    # Claimed at ~NOW, so without renewal every lease would end at ~NOW + 1 s; the batch
    # takes ~1.6 s and renews once more than half the lease has gone.
    assert max(leases) > NOW + lease + dt.timedelta(seconds=0.4)
