"""notifications/mime.py builds messages with the standard library; yagmail, the mail library
the product names, is the reference.  Each kind of message — Chinese names and subjects, long
names that must fold, Cc, attachments with Chinese file names — is built both ways and must
be the same bytes.  The yagmail path is the builder duban used before issue #13, kept here as
the oracle: yagmail's skeleton, then our own headers, bodies and boundaries on it."""

from __future__ import annotations

import hashlib
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, parseaddr
from pathlib import Path

import pytest
from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message

from notifications.attachments import freeze, plan_attachment
from notifications.mime import (
    SHANGHAI,
    WIRE,
    Outgoing,
    _attachment_part,
    _mailboxes,
    build_message,
    folded_mailboxes,
    folded_text,
)
from notifications.render import one_line
from tests.outgoing_samples import LONG_NAME, outgoing_notice


def _only_part(parent: Message, content_type: str) -> Message:
    [part] = [p for p in parent.get_payload() if isinstance(p, Message) and p.get_content_type() == content_type]
    return part


def built_with_yagmail(out: Outgoing) -> bytes:
    name, address = parseaddr(one_line(out.sender))
    name = one_line(name) or address
    to, cc = _mailboxes(out.to), _mailboxes(out.cc)
    addresses = resolve_addresses(address, name, [a for _, a in to], [a for _, a in cc] or None, None)
    msg = prepare_message(address, name, addresses, one_line(out.subject), None, None,
                          {"Date": format_datetime(out.created_at.astimezone(SHANGHAI))},
                          "utf-8", prettify_html=False, message_id=one_line(out.message_id))
    msg.replace_header("Subject", folded_text(one_line(out.subject), "Subject"))
    msg.replace_header("From", folded_mailboxes([(name, address)], "From"))
    msg.replace_header("To", folded_mailboxes(to, "To"))
    if cc:
        msg.replace_header("Cc", folded_mailboxes(cc, "Cc"))
    msg["Auto-Submitted"] = "auto-generated"
    alternative = _only_part(msg, "multipart/alternative")
    related = _only_part(alternative, "multipart/related")
    alternative.set_payload([MIMEText(out.body_text, "plain", "utf-8"), related])
    related.set_payload([MIMEText(out.body_html, "html", "utf-8")])
    for attachment in out.attachments:
        msg.attach(_attachment_part(attachment))
    tag = hashlib.sha256(out.message_id.encode("utf-8")).hexdigest()[:16]
    for level, part in enumerate((msg, alternative, related)):
        part.set_boundary(f"=_duban_{tag}_{level}")
    return msg.as_bytes(policy=WIRE)


def _attachment(tmp_path: Path, name: str, data: bytes) -> object:
    source = tmp_path / "source" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    record, payload = plan_attachment("2024-07-08|unit-notice|pudong", source, name)
    freeze(record, payload)
    return record


CASES: dict[str, dict[str, object]] = {
    "plain": {},
    "cc and several recipients": dict(to=("浦东新区知识产权局 <pudong@example.org>", "联系人 <li@example.org>"),
                                      cc=("协调处室 <shszcj@126.com>",)),
    "long names and subject fold": dict(to=(f"{LONG_NAME} <long@example.org>",),
                                        subject="【督办】" + "关于报送行政保护工作情况的督办通知" * 6),
    "ascii only": dict(sender="duban <duban@example.org>", to=("unit@example.org",), subject="test",
                       body_text="hello\n", body_html="<p>hello</p>"),
    "bare addresses": dict(sender="shszcj@126.com", to=("pudong@example.org",)),
}


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUBAN_VAR", str(tmp_path / "var"))
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_the_message_is_the_bytes_yagmail_builds(case: str, var: Path) -> None:
    out = outgoing_notice(**CASES[case])
    assert build_message(out) == built_with_yagmail(out)


def test_attachments_with_chinese_names_are_the_bytes_yagmail_builds(var: Path) -> None:
    docx = _attachment(var, "督办单督〔2024〕7月第01号（浦东新区知识产权局）.docx",
                       b"PK\x03\x04" + bytes(range(256)) * 40)
    pdf = _attachment(var, "简报.pdf", b"%PDF-1.7\n" + b"x" * 5000)
    out = outgoing_notice(attachments=(docx, pdf))
    built = build_message(out)
    assert built == built_with_yagmail(out)
    assert b"filename*=utf-8''" in built  # the Chinese name travels RFC 2231-encoded
