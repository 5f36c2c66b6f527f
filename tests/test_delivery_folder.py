"""The embedded default: without SMTP settings, messages become .eml files in var/outbox/."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from models.db import get_engine
from models.tables import OutboxMessage
from notifications.delivery import DeliveryReport, deliver_pending
from notifications.mime import Outgoing
from notifications.transport import FolderTransport, eml_name, transport_from_env
from tests.test_notifications_samples import (
    NOW,
    item,
    many_unit_notices,
    outbox_rows,
    queue_notices,
    unit_notice,
)


@pytest.fixture
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("HOST", "PORT", "USER", "PASSWORD", "FROM", "STARTTLS", "SSL", "TIMEOUT"):
        monkeypatch.delenv(f"DUBAN_SMTP_{key}", raising=False)


def test_eml_files_parse_back_with_both_parts(workdir, no_smtp) -> None:
    notices = [unit_notice(item("chase"), cc=("lead@example.org",)), *many_unit_notices(2)]
    queue_notices(notices)
    transport = transport_from_env()
    assert isinstance(transport, FolderTransport)
    assert transport.folder == workdir / "var" / "outbox"
    report = deliver_pending(engine_or_session_factory=get_engine(), transport=transport, now=NOW)
    assert report == DeliveryReport(sent=3)
    files = sorted((workdir / "var" / "outbox").iterdir())
    assert len(files) == 3
    rows = {r.message_id: r for r in outbox_rows()}
    for path in files:
        assert re.fullmatch(r"[A-Za-z0-9._-]+\.eml", path.name)
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        row = rows[msg["Message-ID"]]
        assert path.name == eml_name(row.key)
        assert msg["Subject"] == row.subject
        assert msg.get_body(("plain",)).get_content() == row.body_text
        assert msg.get_body(("html",)).get_content() == row.body_html
    first = email.message_from_bytes((workdir / "var" / "outbox" / eml_name(notices[0].key))
                                     .read_bytes(), policy=email.policy.default)
    assert [a.addr_spec for a in first["Cc"].addresses] == ["lead@example.org"]
    assert first["To"].addresses[0].display_name == "黄浦区知识产权局"
    assert {r.state for r in outbox_rows()} == {"sent"}
    # The next run writes nothing.
    assert deliver_pending(engine_or_session_factory=get_engine(), transport=transport,
                           now=NOW) == DeliveryReport()
    assert len(list((workdir / "var" / "outbox").iterdir())) == 3


def test_existing_file_is_not_rewritten(tmp_path) -> None:
    row = OutboxMessage(id=1, key="unit-notice|a@example.org|2024-07-15|overdue",
                        message_id="<duban.x@126.com>", kind="unit-notice",
                        run_date=NOW.date(), sender='"督办" <shszcj@126.com>',
                        to=["a@example.org"], cc=[], subject="主题", body_text="正文",
                        body_html="<p>正文</p>", created_at=NOW)
    transport = FolderTransport(tmp_path / "outbox")
    transport.send(Outgoing.from_row(row))
    path = transport.path_for(Outgoing.from_row(row))
    path.write_bytes(b"the first copy")
    transport.send(Outgoing.from_row(row))  # a re-sent copy (after a crash) changes nothing
    assert path.read_bytes() == b"the first copy"
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [path.name]  # no temp files left


def test_file_names_are_safe_and_distinct() -> None:
    a = eml_name("unit-notice|a@example.org|2024-07-15|overdue+remind-5")
    b = eml_name("unit-notice|a@example.org|2024-07-15|overdue remind-5")
    assert a != b
    assert a.startswith("unit-notice_a_at_example.org_2024-07-15_overdue_remind-5-")
    assert re.fullmatch(r"[A-Za-z0-9._-]+\.eml", eml_name("../../etc/passwd|黄浦"))
    assert "/" not in eml_name("../../etc/passwd") and not eml_name("..x").startswith(".")


def test_deliver_flow_uses_the_folder_by_default(workdir, no_smtp) -> None:
    from flows.deliver import deliver

    queue_notices(many_unit_notices(2))
    assert deliver.fn(now_iso=NOW.isoformat()) == {"sent": 2, "failed": 0, "retrying": 0,
                                                   "skipped": 0, "partial": 0, "waiting": 0,
                                                   "next_attempt_at": None}
    assert len(list((workdir / "var" / "outbox").glob("*.eml"))) == 2


def test_supervise_notice_carries_the_printable_sheet(synced, workdir, no_smtp) -> None:
    """A real cycle step: the 督办 email attaches its 督办单 .docx; other notices attach nothing."""
    import datetime as dt
    import io

    import docx

    from flows.steps import deliver_step, sweep_step

    today = dt.date(2024, 7, 8)
    sweep_step(synced, today=today)
    deliver_step(synced, today=today)
    messages = {path.name: email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in (workdir / "var" / "outbox").iterdir()}
    huangpu = next(m for name, m in messages.items() if name.startswith("unit-notice_huangpu_at_"))
    (sheet,) = list(huangpu.iter_attachments())
    assert sheet.get_filename() == "督办单督〔2024〕6月第01号（黄浦区知识产权局）.docx"
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(sheet.get_content())).paragraphs)
    assert "督〔2024〕6月第01号" in text and "黄浦区知识产权局" in text
    assert "可打印的督办单见附件《督办单督〔2024〕6月第01号（黄浦区知识产权局）.docx》。" in \
        huangpu.get_body(("plain",)).get_content()
    # The coordinator keeps a copy to print; nobody else gets an attachment.
    assert (workdir / "var" / "reports" / "2024-07-08" / "supervision" / sheet.get_filename()).exists()
    others = [m for name, m in messages.items() if not name.startswith("unit-notice_")]
    assert others and not any(list(m.iter_attachments()) for m in others)
