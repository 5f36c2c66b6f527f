"""Per-recipient delivery on a real loopback SMTP server (issue #11): a 4xx for some
recipients retries only them, a bad address fails only its message, long names fold."""

from __future__ import annotations

import datetime as dt
import email
import json
from email.header import decode_header, make_header
from email.policy import compat32
from typing import TYPE_CHECKING

from models import outbox
from models.db import session_scope
from notifications.delivery import DeliveryReport
from tests.test_delivery_smtp import by_key, deliver
from tests.test_notifications_samples import (
    NOW,
    SENDER,
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
BUSY = "451 4.2.1 Mailbox busy"


def deliveries(server: SmtpServer) -> dict[str, list[str]]:
    """recipient → Message-IDs it received."""
    got: dict[str, list[str]] = {}
    for message in server.received:
        for rcpt in message.rcpt_tos:
            got.setdefault(rcpt, []).append(message.message_id)
    return got


def test_451_for_some_recipients_retries_only_them(workdir, cli, smtp_server: SmtpServer) -> None:
    notices = [unit_notice(item(), to=("a@example.org", "b@example.org"), cc=("c@example.org",)),
               *many_unit_notices(2)]
    keys = queue_notices(notices)
    smtp_server.handler.rcpt_replies = {"b@example.org": BUSY}
    report = deliver()
    assert report == DeliveryReport(sent=2, retrying=1)
    assert (report.partial, report.waiting) == (1, 1)
    assert report.next_attempt_at is not None
    assert report.next_attempt_at[:16] == (NOW + 5 * MIN).isoformat()[:16]
    row = by_key()[keys[0]]
    assert (row.state, row.attempts) == ("queued", 1)
    assert row.last_error == f"部分收件人待重试：b@example.org：{BUSY}"
    assert row.recipient_states == {
        "a@example.org": {"state": "sent", "reply": "250"},
        "c@example.org": {"state": "sent", "reply": "250"},
        "b@example.org": {"state": "retrying", "reply": BUSY}}
    (listed, *_) = json.loads(cli("outbox", "--json", ok=True).stdout)
    assert listed["state_label"] == "部分已发送（已发 2 个，其余待重试）"
    assert listed["recipients"]["b@example.org"] == {"state": "retrying", "reply": BUSY}

    assert deliver(NOW + MIN) == DeliveryReport(skipped=1)  # backing off: nobody gets a copy
    smtp_server.handler.rcpt_replies = {}
    assert deliver(NOW + 6 * MIN) == DeliveryReport(sent=1)
    message_id = by_key()[keys[0]].message_id
    got = deliveries(smtp_server)
    # Everyone exactly once; b on the later run, with the same Message-ID.
    assert {a: got[a] for a in ("a@example.org", "b@example.org", "c@example.org")} == {
        a: [message_id] for a in ("a@example.org", "b@example.org", "c@example.org")}
    assert smtp_server.received[-1].rcpt_tos == ["b@example.org"]
    row = by_key()[keys[0]]
    assert (row.state, row.last_error) == ("sent", None)
    assert {s["state"] for s in row.recipient_states.values()} == {"sent"}


def test_a_recipient_still_refused_after_every_attempt_fails_alone(
        workdir, smtp_server: SmtpServer) -> None:
    (key,) = queue_notices([unit_notice(item(), to=("a@example.org", "b@example.org"))])
    smtp_server.handler.rcpt_replies = {"b@example.org": BUSY}
    assert deliver(max_attempts=2) == DeliveryReport(retrying=1)
    assert deliver(NOW + 6 * MIN, max_attempts=2) == DeliveryReport(sent=1)
    row = by_key()[key]
    assert row.state == "sent"  # settled: delivered to a, failed for good for b
    assert row.last_error == f"部分收件人被拒收：b@example.org：{BUSY}"
    assert deliveries(smtp_server) == {"a@example.org": [row.message_id]}
    with session_scope() as session:
        assert [(u["address"], u["reason"]) for u in outbox.undelivered(session)] == [
            ("b@example.org", BUSY)]
    # retry --state failed does not touch it (the message itself went); nothing sent twice.
    assert deliver(NOW + dt.timedelta(days=1)) == DeliveryReport()


def test_4xx_and_5xx_on_every_recipient_are_settled_one_by_one(
        workdir, smtp_server: SmtpServer) -> None:
    (key,) = queue_notices([unit_notice(item(), to=("gone@example.org", "b@example.org"))])
    smtp_server.handler.rcpt_replies = {"gone@example.org": "550 5.1.1 No such user",
                                        "b@example.org": BUSY}
    assert deliver() == DeliveryReport(retrying=1)
    assert by_key()[key].last_error == (f"部分收件人待重试：b@example.org：{BUSY}。"
                                        "被拒收：gone@example.org：550 5.1.1 No such user")
    smtp_server.handler.rcpt_replies = {"gone@example.org": "550 5.1.1 No such user"}
    assert deliver(NOW + 6 * MIN) == DeliveryReport(sent=1)
    assert [r.rcpt_tos for r in smtp_server.received] == [["b@example.org"]]


def test_an_invalid_address_fails_only_its_message(synced, workdir, cli, smtp_server: SmtpServer) -> None:
    keys = queue_notices(many_unit_notices(3))
    bad = {**{c.name: getattr(outbox_rows()[0], c.name) for c in outbox_rows()[0].__table__.c
              if c.name not in ("id", "recipient_states")},
           "key": "unit-notice|jiading|2024-07-15|r2", "message_id": "<duban.bad@126.com>",
           "unit_id": "jiading", "to": ['"嘉定区知识产权局" <a@b.org>,evil.x.org>']}
    with session_scope() as session:
        outbox.queue(session, [bad])
    assert deliver() == DeliveryReport(sent=3, failed=1)
    row = by_key()[bad["key"]]
    assert (row.state, row.last_error) == (
        "failed", "收件人「\"嘉定区知识产权局\" <a@b.org>,evil.x.org>」不是一个有效的邮箱地址"
                  "（在 plan.yaml 中改正这个单位的联系邮箱）")
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "u000@example.org", "u001@example.org", "u002@example.org"]
    assert all(by_key()[k].state == "sent" for k in keys)
    with session_scope() as session:
        assert [(u["unit"], u["address"], u["reason"]) for u in outbox.undelivered(session)] == [
            ("jiading", None, row.last_error)]

    # The coordinator's next daily email says who did not get their mail and how to resend it.
    from flows.steps import sweep_step
    from notifications.compose import materialise

    sweep_step(synced, today=dt.date(2024, 7, 16))
    (coordinator,) = [r for r in outbox_rows() if r.kind == "coordinator-list"]
    assert "；1处邮件未能送达" in coordinator.subject
    assert ("未能送达的邮件（1 处，邮件服务器已拒收，不再自动重发）：\n"
            f"  1. 嘉定区知识产权局\n     原因：{row.last_error}\n"
            f"     处理：按原因改正后运行 duban outbox retry {row.id}\n") in materialise(coordinator).text


def test_a_250_character_name_is_folded_for_a_strict_server(workdir, smtp_server: SmtpServer) -> None:
    name = ("上海市浦东新区知识产权局" * 21)[:250]
    (key,) = queue_notices([unit_notice(item(unit_name=name), name=name,
                                        to=("pudong@example.org",))], sender=SENDER)
    assert deliver() == DeliveryReport(sent=1)
    (got,) = smtp_server.received
    head = got.data.split(b"\r\n\r\n")[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    raw = email.message_from_bytes(got.data, policy=compat32)  # the header as on the wire
    assert str(make_header(decode_header(raw["To"]))) == f"{name} <pudong@example.org>"
    assert str(make_header(decode_header(raw["Subject"]))) == by_key()[key].subject
    assert by_key()[key].state == "sent"


def test_the_strict_server_refuses_an_unfolded_line(workdir, smtp_server: SmtpServer) -> None:
    # The fault server really enforces 998 octets (so the test above can fail).
    from notifications.failures import PermanentFailure
    from notifications.smtp import SmtpTransport
    from notifications.smtp_settings import SmtpSettings
    from tests.test_notifications_samples import outbox_rows as rows

    queue_notices(many_unit_notices(1))
    settings = SmtpSettings.from_env()
    assert settings is not None
    transport = SmtpTransport(settings)
    from notifications.mime import Outgoing

    message = Outgoing.from_row(rows()[0])
    long_line = b"X-Long: " + b"a" * 991 + b"\r\n"  # 999 octets: aiosmtpd alone takes it
    try:
        transport.send(message, long_line + b"\r\nbody\r\n")
    except PermanentFailure as failure:
        assert failure.message == "服务器拒收：500 5.5.2 Line too long"
    else:
        raise AssertionError("the strict server accepted a 999-octet line")
    finally:
        transport.close()


def test_the_message_id_and_envelope_follow_duban_smtp_from(workdir, smtp_server: SmtpServer,
                                                            monkeypatch) -> None:
    from notifications.compose import default_sender

    monkeypatch.setenv("DUBAN_SMTP_FROM", "督办 <duban@sipa.sh.gov.cn>")
    (key,) = queue_notices(many_unit_notices(1), sender=default_sender("shszcj@126.com"))
    assert deliver() == DeliveryReport(sent=1)
    (got,) = smtp_server.received
    assert got.mail_from == "duban@sipa.sh.gov.cn"  # SPF checks the envelope sender's domain
    assert got.message_id == by_key()[key].message_id
    assert got.message_id.endswith("@sipa.sh.gov.cn>")
    assert got.message["From"].addresses[0].addr_spec == "duban@sipa.sh.gov.cn"  # DMARC
