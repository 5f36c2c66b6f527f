"""A received message → sender, subject, body line and attachments, with Chinese decoding.

Real 126/163/Outlook mail labels GBK text "gb2312" (which cannot hold every GBK
character), puts RFC 2047 encoded-words inside filename parameters, uses RFC 2231
parameters, or sends raw 8-bit GBK headers.  Every label of the GB family is decoded as
GB18030 (a superset of all of them), then UTF-8, then GB18030 again as a last resort.
Forwarded messages (``message/rfc822`` parts) are opened: their attachments count, and
each carries the subject of the message it came in.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

_GB = {"gb2312", "gbk", "gb18030", "gb_2312-80", "x-gbk", "euc-cn", "cp936", "csgb2312", "x-euc-cn"}
_SPACES = re.compile(r"\s+")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)


def decode_bytes(data: bytes, charset: str | None) -> str:
    label = (charset or "").strip().lower()
    tries = (["gb18030"] if label in _GB else [label] if label else []) + ["utf-8", "gb18030"]
    for codec in tries:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _raw_bytes(value: str) -> bytes | None:
    """Raw 8-bit header bytes that the parser kept as surrogate escapes, if any."""
    try:
        value.encode("ascii")
        return None
    except UnicodeEncodeError:
        return value.encode("utf-8", errors="surrogateescape")


def decode_text(value: Any) -> str:
    """A header value (encoded-words or raw 8-bit) → one line of text."""
    if value is None:
        return ""
    if isinstance(value, Header):  # raw 8-bit bytes: compat32 keeps them as "unknown-8bit"
        return _SPACES.sub(" ", "".join(
            c if isinstance(c, str) else decode_bytes(c, cs) for c, cs in decode_header(value))).strip()
    text = str(value)
    raw = _raw_bytes(text)
    if raw is not None:
        return _SPACES.sub(" ", decode_bytes(raw, None)).strip()
    out: list[str] = []
    for chunk, charset in decode_header(text):
        out.append(chunk if isinstance(chunk, str) else decode_bytes(chunk, charset))
    return _SPACES.sub(" ", "".join(out)).strip()


def filename_of(part: Message) -> str | None:
    """The attachment's name: RFC 2231 (``filename*=gbk''…``), encoded-words or raw bytes."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        if isinstance(part.get(header), Header):  # raw 8-bit GBK in the header itself
            found = re.search(rf'\b{param}\s*=\s*"([^"]*)"|\b{param}\s*=\s*([^;\s]+)', decode_text(part.get(header)))
            if found:
                return (found.group(1) or found.group(2) or "").strip() or None
            continue
        value = part.get_param(param, header=header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded as latin-1)
            charset, _lang, text = value
            return decode_bytes(text.encode("latin-1", errors="surrogateescape"), charset).strip() or None
        return decode_text(email.utils.unquote(value)) or None
    return None


def clean_subject(subject: str) -> str:
    """The subject without 回复:/转发:/Re:/Fwd: prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    subject: str  # of the message it came in (the forwarded one for a forwarded attachment)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class ParsedMessage:
    message_id: str
    sender: str  # address, lower case
    sender_name: str
    subject: str
    date: dt.datetime | None
    body_line: str  # the first non-empty line of the text body
    attachments: list[Attachment] = field(default_factory=list)
    forwarded_senders: list[str] = field(default_factory=list)


def _sender(msg: Message) -> tuple[str, str]:
    pairs = getaddresses([decode_text(msg.get("from", ""))])
    if not pairs:
        return "", ""
    name, address = pairs[0]
    return name, address.strip().lower()


def _text_body(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())


def _walk(msg: Message, subject: str, out: ParsedMessage, *, depth: int = 0) -> None:
    for part in msg.get_payload() if msg.is_multipart() else [msg]:
        if not isinstance(part, Message):
            continue
        ctype = part.get_content_type()
        if ctype == "message/rfc822" and depth < 5:
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner_msg, Message):
                out.forwarded_senders.append(_sender(inner_msg)[1])
                inner_subject = clean_subject(decode_text(inner_msg.get("subject"))) or subject
                _walk(inner_msg, inner_subject, out, depth=depth + 1)
            continue
        if part.is_multipart():
            _walk(part, subject, out, depth=depth)
            continue
        name = filename_of(part)
        if name:
            data = part.get_payload(decode=True)
            out.attachments.append(Attachment(name, data if isinstance(data, bytes) else b"", subject))
        elif ctype == "text/plain" and not out.body_line:
            lines = [ln.strip() for ln in _text_body(part).splitlines() if ln.strip()]
            out.body_line = lines[0][:80] if lines else ""


def parse_message(data: bytes) -> ParsedMessage:
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    name, address = _sender(msg)
    message_id = " ".join(str(msg.get("message-id", "")).split())
    if not message_id:
        # Without a Message-ID the content is the identity: the same bytes, the same key.
        message_id = f"<sha256.{hashlib.sha256(data).hexdigest()[:32]}@duban.invalid>"
    try:
        date = parsedate_to_datetime(str(msg["date"])) if msg["date"] else None
    except (TypeError, ValueError):
        date = None
    subject = decode_text(msg.get("subject"))
    parsed = ParsedMessage(message_id=message_id[:900], sender=address, sender_name=name,
                           subject=subject, date=date, body_line="")
    _walk(msg, clean_subject(subject), parsed)
    return parsed
