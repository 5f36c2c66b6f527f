"""The contact mailbox against a real dovecot on loopback: recorded once, filed after the
commit, unplaced mail listed with its reason, one 回执 per unit."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from imap_tools import MailBoxUnencrypted
from sqlalchemy import func, select
from sqlmodel import col

from flows import mail_fetch
from flows.mail_fetch import fetch_mail
from flows.receipts import mail_acknowledgements, queue_receipts
from models import ledger, mail
from models.db import session_scope
from models.tables import OutboxMessage, Submission
from notifications.imap import DONE_FOLDER
from tests.conftest import table_snapshot
from tests.mail_messages import forwarded, message, zipped

if TYPE_CHECKING:
    from tests.imap_server import ImapAccount

pytest_plugins = ["tests.imap_server"]

DAY = dt.date(2024, 7, 3)
UNKNOWN = ("发件地址 stranger@example.com 不是 plan.yaml 中任何单位的联系人邮箱；"
           "如确是某单位所发，请把该地址加入该单位的 contacts")
NO_ATTACHMENT = "邮件没有附件，无法登记（正文不作为报送材料）"


def real_pdf(marker: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": marker, "/Subject": marker * 40})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def real_docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def mailbox(imap_account: ImapAccount, synced, monkeypatch: pytest.MonkeyPatch) -> ImapAccount:
    for key, value in imap_account.env().items():
        monkeypatch.setenv(key, value)
    return imap_account


def _open(account: ImapAccount) -> MailBoxUnencrypted:
    return MailBoxUnencrypted(account.host, account.port).login(account.user, account.password)


def _append(account: ImapAccount, *messages: bytes) -> None:
    with _open(account) as box:
        for raw in messages:
            box.append(raw, "INBOX", dt=None, flag_set=())


def _subjects(account: ImapAccount, folder: str) -> list[str]:
    with _open(account) as box:
        if not box.folder.exists(folder):
            return []
        box.folder.set(folder)
        return sorted(m.subject for m in box.fetch(mark_seen=False))


def _season() -> list[bytes]:
    """What five senders emailed: GBK names, a zip, a forward, a stranger, no attachment."""
    xuhui = message("XuHui@Example.ORG", "徐汇区2024年上半年工作总结", attachments=(
        ("附件1.docx", real_docx("徐汇区2024年上半年工作总结"), "rfc2047"),
        ("上半年工作总结（盖章）.pdf", real_pdf("xuhui"), "rfc2231")))
    huangpu = message("huangpu@example.org", "黄浦区报送材料", attachments=(
        ("黄浦区2024年上半年工作总结.zip",
         zipped({"黄浦区2024年上半年工作总结.docx": real_docx("黄浦区")}), "rfc2047"),))
    inner = message("changning@example.org", "长宁区2024年上半年工作总结",
                    attachments=(("总结.pdf", real_pdf("changning"), "rfc2047"),))
    changning = message("shszcj@126.com", "转发：长宁区2024年上半年工作总结", parts=(forwarded(inner),))
    stranger = message("stranger@example.com", "2024年上半年工作总结",
                       attachments=(("总结.pdf", real_pdf("stranger"), "rfc2047"),))
    jingan = message("jingan@example.org", "静安区上半年工作总结", body="总结稍后补发。")
    return [m.as_bytes() for m in (xuhui, huangpu, changning, stranger, jingan)]


def _counts(session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(Submission)),
            session.scalar(select(func.count()).select_from(mail.MailMessage)))


def test_a_season_of_mail_is_recorded_once(mailbox: ImapAccount, cli, workdir: Path, db_url: str) -> None:
    _append(mailbox, *_season())
    first = cli("mail", "fetch", "--today", DAY.isoformat(), "--json")
    assert first.exit_code == 1  # two messages could not be placed
    report = json.loads(first.stdout)
    assert sorted(m["unit"] for m in report["recorded"]) == ["changning", "huangpu", "xuhui"]
    assert report["filed"] == 3
    reasons = {m["sender"]: m["reason"].split("\n")[0] for m in report["unplaced"]}
    assert reasons == {"stranger@example.com": UNKNOWN, "jingan@example.org": NO_ATTACHMENT}
    xuhui = next(m for m in report["recorded"] if m["unit"] == "xuhui")
    assert sorted(f["name"] for f in xuhui["files"]) == ["上半年工作总结（盖章）.pdf", "附件1.docx"]
    assert sorted(f["staged_as"] for f in xuhui["files"]) == [
        "xuhui/徐汇区2024年上半年工作总结-上半年工作总结（盖章）.pdf", "xuhui/徐汇区2024年上半年工作总结-附件1.docx"]
    assert "duplicate" not in {f["outcome"] for m in report["recorded"] for f in m["files"]}

    with session_scope() as session:
        for unit in ("xuhui", "huangpu", "changning"):
            assert ledger.get_entry(session, unit_id=unit, milestone_id="half-year-summary").submitted_on == DAY
        for unit in ("jingan",):
            assert ledger.get_entry(session, unit_id=unit, milestone_id="half-year-summary").submitted_on is None
        unplaced = mail.unplaced_messages(session)
        receipts = list(session.scalars(select(OutboxMessage).where(col(OutboxMessage.kind) == "receipt")))
    assert [(u.sender, u.subject, u.reason.split("\n")[0]) for u in unplaced] == [
        ("stranger@example.com", "2024年上半年工作总结", UNKNOWN),
        ("jingan@example.org", "静安区上半年工作总结", NO_ATTACHMENT)]
    assert unplaced[0].date == dt.datetime(2024, 7, 3, 1, 30, tzinfo=dt.UTC)
    assert sorted(r.unit_id or "" for r in receipts) == ["changning", "huangpu", "xuhui"]
    xuhui_receipt = next(r for r in receipts if r.unit_id == "xuhui")
    assert xuhui_receipt.subject == "【回执】徐汇区知识产权局：已登记 2 个文件（沪知局保〔2024〕15号）"
    digest = next(f["sha256"] for f in xuhui["files"] if f["name"] == "附件1.docx")
    assert f"     - 附件1.docx（联系邮箱；校验码 {digest[:12]}）" in xuhui_receipt.body_text
    assert '"徐汇区知识产权局" <xuhui@example.org>' in xuhui_receipt.to
    assert _subjects(mailbox, DONE_FOLDER) == sorted(["转发：长宁区2024年上半年工作总结", "徐汇区2024年上半年工作总结",
                                                      "黄浦区报送材料"])
    assert _subjects(mailbox, "INBOX") == sorted(["2024年上半年工作总结", "静安区上半年工作总结"])
    # Unplaced mail waits in unmatched/ with its reason and command, like an unmatched inbox file,
    # so the coordinator's daily email lists it.
    from flows.inbox_waiting import pending_unmatched

    waiting = pending_unmatched(workdir / "var" / "inbox")
    assert [(w.path.split("/")[:2], w.reason) for w in waiting] == [
        (["unmatched", "联系邮箱"], UNKNOWN), (["unmatched", "联系邮箱"], NO_ATTACHMENT)]
    assert waiting[0].command == f"duban inbox assign {waiting[0].path} --unit 单位名称 --milestone 节点名称"
    assert waiting[1].command == f"duban inbox assign {waiting[1].path} --unit jingan --milestone 节点名称"

    before = table_snapshot(db_url)
    again = cli("mail", "fetch", "--today", DAY.isoformat())
    assert again.exit_code == 0, again.output
    assert "新邮件 0 封（登记 0 封，未能登记 0 封），以前已读 2 封；归档 0 封；新排队回执 0 封。" in again.stdout
    assert table_snapshot(db_url) == before


class Crash(RuntimeError):
    pass


def test_a_crash_between_commit_and_filing_loses_and_doubles_nothing(
        mailbox: ImapAccount, plan, monkeypatch: pytest.MonkeyPatch) -> None:
    _append(mailbox, *_season()[:2])

    def crash(uid: int) -> None:
        raise Crash(uid)

    monkeypatch.setattr(mail_fetch, "after_commit", crash)
    with pytest.raises(Crash):
        fetch_mail(plan=plan, today=DAY, actor="测试员")
    with session_scope() as session:
        assert _counts(session) == (1, 1)  # the first message is recorded and committed
    assert len(_subjects(mailbox, "INBOX")) == 2  # but not yet filed away

    monkeypatch.setattr(mail_fetch, "after_commit", mail_fetch._no_hook)
    report = fetch_mail(plan=plan, today=DAY, actor="测试员")
    assert [m.outcome for m in report.messages] == ["seen", "recorded"]
    assert report.filed == 2
    with session_scope() as session:
        assert _counts(session) == (2, 2)
    assert _subjects(mailbox, "INBOX") == []


def test_a_crash_before_the_commit_records_the_files_once(
        mailbox: ImapAccount, plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files recorded, message row not: the refetch finds the same hashes and adds nothing."""
    _append(mailbox, _season()[0])
    real = mail.record_message

    def crash(session, **values):
        raise Crash(values["uid"])

    monkeypatch.setattr(mail, "record_message", crash)
    with pytest.raises(Crash):
        fetch_mail(plan=plan, today=DAY, actor="测试员")
    with session_scope() as session:
        assert _counts(session) == (1, 0)
    monkeypatch.setattr(mail, "record_message", real)
    report = fetch_mail(plan=plan, today=DAY, actor="测试员")
    assert report.messages[0].outcome == "recorded"
    assert {f["outcome"] for f in report.messages[0].files} == {"duplicate"}
    with session_scope() as session:
        assert _counts(session) == (1, 1)
    # The 回执 still names the files: the unit did send them.
    acks, senders = mail_acknowledgements(today=DAY)
    assert sorted(a.name for a in acks) == ["上半年工作总结（盖章）.pdf", "附件1.docx"]
    assert senders == {"xuhui": ["xuhui@example.org"]}
    assert len(queue_receipts(plan, today=DAY, acks=acks, senders=senders)["queued"]) == 1
    assert queue_receipts(plan, today=DAY, acks=acks, senders=senders)["queued"] == []  # same day: no second


def test_an_unreachable_mailbox_does_not_stop_the_sweep(synced, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.steps import run_cycle
    from tests.smtp_server import free_port

    monkeypatch.setenv("DUBAN_IMAP_HOST", "127.0.0.1")
    monkeypatch.setenv("DUBAN_IMAP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("DUBAN_IMAP_USER", "shszcj@126.com")
    monkeypatch.setenv("DUBAN_IMAP_PASSWORD", "s3cret-授权码")
    monkeypatch.setenv("DUBAN_IMAP_SSL", "false")
    summary = run_cycle(plan=synced, today=dt.date(2024, 7, 8))
    assert summary["mail"]["error"].startswith(
        "无法连接联系邮箱（IMAP 127.0.0.1:" )
    assert "s3cret" not in json.dumps(summary, ensure_ascii=False)
    assert summary["sweep"]["messages_queued"] > 0  # units are still chased


def test_a_wrong_password_is_a_chinese_message_without_the_password(
        mailbox: ImapAccount, plan, monkeypatch: pytest.MonkeyPatch) -> None:
    from notifications.imap import ImapFailed

    monkeypatch.setenv("DUBAN_IMAP_PASSWORD", "wrong-password")
    with pytest.raises(ImapFailed) as caught:
        fetch_mail(plan=plan, today=DAY, actor="测试员")
    assert caught.value.message.startswith(
        f"无法登录联系邮箱（IMAP 127.0.0.1:{mailbox.port}（明文，用户 {mailbox.user}")
    assert "wrong" not in caught.value.message + caught.value.hint


def test_a_run_reads_the_mailbox_and_sends_one_receipt_per_unit(
        mailbox: ImapAccount, synced, workdir: Path) -> None:
    """Mail and inbox feed one 回执 per unit; who emailed is not chased, who did not is."""
    from flows.steps import run_cycle
    from models.tables import Escalation, LedgerEntry

    _append(mailbox, _season()[0])  # xuhui by mail
    inbox = workdir / "var" / "inbox"
    for unit, text in (("xuhui", "徐汇区半年总结 Word 版"), ("pudong", "浦东新区半年总结")):
        (inbox / unit).mkdir(parents=True)
        (inbox / unit / "半年总结.docx").write_bytes(real_docx(text))
    day = dt.date(2024, 7, 8)
    summary = run_cycle(plan=synced, today=day)
    assert summary["mail"]["filed"] == 1
    assert len(summary["intake"]["receipts"]["queued"]) == 2
    with session_scope() as session:
        receipts = {r.unit_id: r for r in session.scalars(
            select(OutboxMessage).where(col(OutboxMessage.kind) == "receipt"))}
        chased = set(session.execute(
            select(col(LedgerEntry.unit_id)).join(Escalation, col(Escalation.entry_id) == col(LedgerEntry.id))
            .where(col(LedgerEntry.milestone_id) == "half-year-summary")).scalars())
    assert sorted(receipts) == ["pudong", "xuhui"]
    assert receipts["xuhui"].subject == "【回执】徐汇区知识产权局：已登记 3 个文件（沪知局保〔2024〕15号）"
    assert "半年总结.docx（收件文件夹；校验码 " in receipts["xuhui"].body_text
    assert "附件1.docx（联系邮箱；校验码 " in receipts["xuhui"].body_text
    assert {"xuhui", "pudong"}.isdisjoint(chased) and "huangpu" in chased

    again = run_cycle(plan=synced, today=day)
    assert again["mail"]["recorded"] == [] and again["intake"]["receipts"]["queued"] == []


def test_fetch_without_a_configured_mailbox_is_refused(synced, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUBAN_IMAP_HOST", raising=False)
    result = cli("mail", "fetch", "--today", DAY.isoformat())
    assert result.exit_code == 1
    assert "错误：没有设置联系邮箱（环境变量 DUBAN_IMAP_HOST）\n" in result.output
