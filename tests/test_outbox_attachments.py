"""Attachments on outbox messages: frozen with their sha256 when queued, sent over SMTP,
byte-identical on every attempt, refused when the frozen file vanished."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl

from models import outbox
from models.db import get_engine, session_scope
from notifications.attachments import freeze, plan_attachment
from notifications.delivery import DeliveryReport, deliver_pending
from notifications.mime import Outgoing, build_message
from notifications.smtp_settings import SmtpSettings
from notifications.transport import SmtpTransport
from tests.test_notifications_samples import NOW, item, outbox_rows, unit_notice

if TYPE_CHECKING:
    from tests.smtp_server import SmtpServer

pytest_plugins = ["tests.smtp_server"]
NAME = "督办台账（截至2024年7月15日）.xlsx"


def queue_with_workbook(workdir: Path) -> tuple[str, bytes]:
    from notifications.compose import outbox_row
    from notifications.render import render_notice

    source = workdir / "ledger.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["单位", "事项"])  # type: ignore[union-attr]
    wb.save(source)
    notice = unit_notice(item("chase", days=2), to=("huangpu@example.org",))
    row = outbox_row(notice, render_notice(notice), sender="督办 <shszcj@126.com>")
    record, data = plan_attachment(row["key"], source, NAME)
    row["attachments"] = [record.as_json()]
    with session_scope() as session:
        assert outbox.queue(session, [row]) == [row["key"]]
    freeze(record, data)
    source.write_bytes(b"rewritten by a later run")  # must not change what is sent
    return row["key"], data


def test_an_attachment_goes_over_smtp_and_a_retry_is_byte_identical(workdir, smtp_server: SmtpServer):
    _, data = queue_with_workbook(workdir)
    [row] = outbox_rows()
    out = Outgoing.from_row(row)
    assert build_message(out) == build_message(out)
    settings = SmtpSettings.from_env()
    assert settings is not None
    report = deliver_pending(engine_or_session_factory=get_engine(), transport=SmtpTransport(settings), now=NOW)
    assert report == DeliveryReport(sent=1, failed=0, retrying=0, skipped=0)
    [received] = smtp_server.received
    [part] = list(received.message.iter_attachments())
    assert part.get_filename() == NAME
    assert hashlib.sha256(part.get_content()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_vanished_attachment_is_refused(workdir, smtp_server: SmtpServer):
    queue_with_workbook(workdir)
    [row] = outbox_rows()
    path = row.attachments[0]["path"]
    (workdir / "var" / path).unlink()
    settings = SmtpSettings.from_env()
    assert settings is not None
    report = deliver_pending(engine_or_session_factory=get_engine(), transport=SmtpTransport(settings), now=NOW)
    assert report.failed == 1 and smtp_server.received == []
    [row] = outbox_rows()
    assert row.state == "failed"
    assert row.last_error == (f"附件「{NAME}」（var/{path}）不见了，拒绝发送缺附件的邮件；"
                              "恢复该文件后用 duban outbox retry 重发")
