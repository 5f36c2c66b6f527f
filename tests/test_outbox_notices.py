"""Sweep notices are stored as items and rendered when sent: the same bytes every attempt.

The sweep queues each message's Notice as JSON with the template version; delivery, the
.eml folder and preview render it through ``notifications.compose.materialise``.  Rows
queued before migration 0013 keep their bodies and still send.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
from pathlib import Path

import pytest
from sqlalchemy import text, update

from flows.sweep import run_sweep
from models import outbox
from models.db import _alembic_config, get_engine, migrate, session_scope
from models.tables import OutboxMessage
from notifications.compose import materialise, outbox_row
from notifications.delivery import DeliveryReport, deliver_pending
from notifications.render import TEMPLATE_VERSION, render_notice, render_subject
from notifications.transport import FolderTransport, eml_name
from plan.notice import NOTICE_FORMAT, UndeliveredMail, UnmatchedFile, dumps, notice_from_json, notice_to_json
from plan.supervision import EarlierRung, SheetItem, SupervisionSheet
from tests.test_notifications_samples import (
    NOW,
    PLAN_INFO,
    SENDER,
    coordinator_list,
    interview_proposal,
    item,
    unit_notice,
)

JULY_8 = dt.date(2024, 7, 8)


def _samples() -> list:
    chased = EarlierRung("chase", dt.date(2024, 7, 8))
    sheet = SupervisionSheet(
        number="督〔2024〕半年第01号", unit_id="huangpu", unit_name="黄浦区知识产权局",
        items=(SheetItem("m-总结", "2024年上半年工作总结", dt.date(2024, 7, 5), 6, ("word", "pdf-stamped"),
                         True, (chased,)),),
        issued_on=dt.date(2024, 7, 15), deadline=dt.date(2024, 7, 18), feedback="请于7月18日前报送",
        issuer="上海市知识产权局（知识产权保护处）", doc_number=PLAN_INFO.doc_number,
        mailbox=PLAN_INFO.mailbox, contacts=PLAN_INFO.contacts)
    supervised = item("supervise", days=6, earlier=(chased,), task=7, task_title="专项行动")
    return [
        dataclasses.replace(unit_notice(supervised, item("remind", days=3, assumed=True, note="按往年推定",
                                                          title="上交会小结", formats=("word",)),
                                        cc=("lead@example.org",), reply_by=dt.date(2024, 7, 18), sheet=sheet),
                            sheet_attached=True),
        dataclasses.replace(coordinator_list(supervised, item("supervise", unit_id="xuhui", unit_name="徐汇区",
                                                              days=9)),
                            unmatched=(UnmatchedFile("unmatched/a.docx", "认不出单位", "duban record …"),),
                            undelivered=(UndeliveredMail("嘉定区", None, "550 拒收", "duban outbox retry 7"),)),
        interview_proposal(item("interview", days=12, earlier=(EarlierRung("chase", dt.date(2024, 7, 1)),
                                                                EarlierRung("supervise", dt.date(2024, 7, 8))))),
    ]


@pytest.mark.parametrize("index", range(3))
def test_a_stored_notice_reads_back_equal_and_renders_the_same(index: int) -> None:
    notice = _samples()[index]
    stored = notice_to_json(notice)
    assert notice_from_json(stored) == notice
    assert render_notice(notice_from_json(stored)) == render_notice(notice)
    # The subject the outbox lists is the one the message carries.
    assert render_subject(notice) == render_notice(notice).subject


def test_an_unknown_stored_format_is_refused() -> None:
    stored = notice_to_json(_samples()[0]).replace(f'"format":{NOTICE_FORMAT}', '"format":99')
    assert '"format":99' in stored
    with pytest.raises(ValueError, match="format"):
        notice_from_json(stored)


def test_outbox_row_stores_items_not_bodies() -> None:
    notice = _samples()[0]
    row = outbox_row(notice, sender=SENDER)
    assert (row["content"], row["body_text"], row["body_html"]) == ("notice", None, None)
    assert row["template_version"] == TEMPLATE_VERSION
    assert row["subject"] == render_notice(notice).subject
    assert materialise(_Row(row)) == render_notice(notice)


class _Row:
    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


def _sweep(plan, today: dt.date = JULY_8) -> list[str]:
    with session_scope() as session:
        return run_sweep(session, plan=plan, today=today).queued


def test_the_sweep_queues_items_and_delivery_renders_them(synced, tmp_path: Path) -> None:
    keys = _sweep(synced)
    rows = {r.key: r for r in _rows()}
    assert set(keys) == set(rows) and keys
    assert {r.content for r in rows.values()} == {"notice"}
    assert all(r.body_text is None and r.body_html is None and r.template_version == TEMPLATE_VERSION
               for r in rows.values())
    report = deliver_pending(engine_or_session_factory=get_engine(), transport=FolderTransport(tmp_path), now=NOW)
    assert report == DeliveryReport(sent=len(keys))
    for key, row in rows.items():
        msg = email.message_from_bytes((tmp_path / eml_name(key)).read_bytes(), policy=email.policy.default)
        expected = render_notice(notice_from_json(row.notice))
        assert msg["Subject"] == row.subject == expected.subject
        assert msg.get_body(("plain",)).get_content() == expected.text
        assert msg.get_body(("html",)).get_content() == expected.html


def _rows() -> list[OutboxMessage]:
    with session_scope() as session:
        return outbox.list_messages(session)


def test_a_retried_message_is_byte_identical(synced, tmp_path: Path) -> None:
    keys = _sweep(synced)
    first, second = tmp_path / "first", tmp_path / "second"
    deliver_pending(engine_or_session_factory=get_engine(), transport=FolderTransport(first), now=NOW)
    with session_scope() as session:  # every message failed for good, then the coordinator retries
        session.execute(update(OutboxMessage).values(state="failed"))
    with session_scope() as session:
        assert len(outbox.retry_all(session)) == len(keys)
    later = NOW + dt.timedelta(days=1)
    report = deliver_pending(engine_or_session_factory=get_engine(), transport=FolderTransport(second), now=later)
    assert report.sent == len(keys)
    for key in keys:  # same Message-ID, same Date (the queueing time), same bodies and boundaries
        assert (first / eml_name(key)).read_bytes() == (second / eml_name(key)).read_bytes()


def test_a_stored_notice_that_cannot_be_rendered_fails_alone(synced, tmp_path: Path) -> None:
    keys = _sweep(synced)
    broken = sorted(keys)[0]
    with session_scope() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.key == broken).values(notice="{}"))
    report = deliver_pending(engine_or_session_factory=get_engine(), transport=FolderTransport(tmp_path), now=NOW)
    assert (report.sent, report.failed) == (len(keys) - 1, 1)
    row = next(r for r in _rows() if r.key == broken)
    assert row.state == "failed" and row.last_error.startswith("邮件内容无法生成")


def test_a_message_queued_before_0013_keeps_its_bodies_and_sends(db_url: str, tmp_path: Path) -> None:
    from alembic import command

    engine = get_engine(db_url)
    command.upgrade(_alembic_config(engine), "0012")
    with engine.begin() as conn:  # a message rendered and queued by the 0012 version
        conn.execute(text(
            "INSERT INTO outbox (key, message_id, kind, run_date, sender, \"to\", cc, subject, body_text, "
            "body_html, state, attempts, created_at, updated_at) VALUES ('k|old', "
            "'<duban.old@example.org>', 'unit-notice', '2024-07-08', 'shszcj@126.com', "
            "'[\"a@example.org\"]', '[]', '旧主题', '旧正文', '<p>旧正文</p>', 'queued', 0, :now, :now)"),
            {"now": NOW})
    assert migrate(engine) is True
    (row,) = _rows()
    assert (row.content, row.notice, row.body_text) == ("bodies", None, "旧正文")
    report = deliver_pending(engine_or_session_factory=engine, transport=FolderTransport(tmp_path), now=NOW)
    assert report == DeliveryReport(sent=1)
    msg = email.message_from_bytes((tmp_path / eml_name("k|old")).read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "旧主题"
    assert msg.get_body(("plain",)).get_content().strip() == "旧正文"


def test_delivery_renders_each_message_once_per_attempt(synced, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import notifications.compose as compose

    keys = _sweep(synced)
    rendered: list[str] = []
    real = compose.render_notice

    def counting(notice):
        rendered.append(notice.key)
        return real(notice)

    monkeypatch.setattr(compose, "render_notice", counting)
    deliver_pending(engine_or_session_factory=get_engine(), transport=FolderTransport(tmp_path), now=NOW)
    # Messages with several recipients (a unit's contacts, Cc to the lead) are still rendered once.
    assert sorted(rendered) == sorted(keys)
    assert any(len(r.to) + len(r.cc) > 1 for r in _rows())


def test_stored_notices_are_the_standard_librarys_json() -> None:
    # orjson writes them; the bytes must be json.dumps(ensure_ascii=False)'s, whatever a unit
    # name or title holds (control characters, quotes, line separators, astral characters).
    awkward = "黄浦\"区\\局\x00\x1f\x7f\u2028\u2029\t\n😀/<b>"
    notice = _samples()[1]
    notice = dataclasses.replace(notice, recipient_name=awkward,
                                 items=tuple(dataclasses.replace(i, unit_name=awkward, title=awkward)
                                             for i in notice.items))
    stored = notice_to_json(notice)
    assert awkward in json.loads(stored)["recipient_name"]
    assert stored == json.dumps(json.loads(stored), ensure_ascii=False, separators=(",", ":"))
    assert notice_from_json(stored) == notice
    # A value orjson refuses (beyond 64 bits) is written by the standard library instead.
    assert dumps({"n": 2**70, "s": awkward}) == json.dumps({"n": 2**70, "s": awkward}, ensure_ascii=False,
                                                           separators=(",", ":"))
