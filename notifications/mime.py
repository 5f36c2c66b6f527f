"""One outbox row → the bytes of an RFC 5322 message (multipart: plain text + HTML).

yagmail builds the message skeleton (From with an encoded Chinese name, Subject, Date,
the multipart/alternative structure); we then set what must be exact and ours: To/Cc
with display names, the outbox's Message-ID, and the two bodies we rendered.  We never
hand yagmail a content string (it attaches any string that happens to be a file path),
and every header value is flattened to one line first, so a unit name cannot add a
header or a recipient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.text import MIMEText
from email.policy import EmailPolicy, compat32
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message

from notifications.attachments import Attachment, AttachmentError, read_checked
from notifications.render import one_line


# The standard library's SMTP policy (RFC 5322, CRLF line ends) with refolding off: the
# headers that carry names (From, To, Cc, Subject) are folded by :func:`folded_mailboxes`
# and :func:`folded_text` into RFC 2047 encoded words on lines of at most 78 characters,
# so a 250-character unit name cannot make a line a strict server refuses ("500 Line too
# long").  The policy's own refolding is off because it re-parses address headers and can
# drop the quotes around a display name.  7-bit: any server takes it.
class _WirePolicy(EmailPolicy):
    """A header left raw and non-ASCII by another builder (yagmail, an attachment) is
    encoded the way compat32 always did, instead of failing to serialise."""

    def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
        if isinstance(value, str) and not value.isascii():
            return _COMPAT.fold(name, value)
        return super()._fold(name, value, refold_binary)  # type: ignore[misc]


_COMPAT = compat32.clone(linesep="\r\n")
WIRE = _WirePolicy(linesep="\r\n", refold_source="none")
FOLD_AT = 76  # RFC 2047: an encoded word is at most 75 characters


def folded_text(value: str, header_name: str) -> str:
    """An unstructured header value (Subject) as encoded words on folded lines."""
    return Header(value, "utf-8", maxlinelen=FOLD_AT, header_name=header_name).encode()


def folded_mailboxes(mailboxes: list[tuple[str, str]], header_name: str) -> str:
    """From/To/Cc: each display name as encoded words (atoms: no quoting to get wrong), the
    address on its own folded line when the line would be long; never a line over 78."""
    parts = []
    for name, address in mailboxes:
        short = formataddr((name, address))
        if len(header_name) + len(short) + 4 <= 78 and "\n" not in short:
            parts.append(short)
        elif name:
            parts.append(f"{folded_text(name, header_name)}\n <{address}>")
        else:
            parts.append(address)
    return ",\n ".join(parts)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Outgoing:
    """What a transport needs of one outbox row (detached from the session)."""

    id: int
    key: str
    message_id: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body_text: str
    body_html: str
    created_at: dt.datetime
    attempts: int = 0
    attachments: tuple[Attachment, ...] = ()

    @classmethod
    def from_row(cls, row: Any) -> Outgoing:
        return cls(id=row.id, key=row.key, message_id=row.message_id, sender=row.sender,
                   to=tuple(row.to), cc=tuple(row.cc), subject=row.subject,
                   body_text=row.body_text, body_html=row.body_html,
                   created_at=row.created_at, attempts=row.attempts,
                   attachments=tuple(Attachment.from_json(a) for a in (row.attachments or [])))

    @property
    def from_address(self) -> str:
        return parseaddr(one_line(self.sender))[1]

    @property
    def recipients(self) -> list[str]:
        """Envelope recipients: the To and Cc addresses, each once."""
        return list(dict.fromkeys(addr for _, addr in _mailboxes((*self.to, *self.cc))))


def _mailboxes(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(one_line(name), addr) for name, addr in getaddresses([one_line(v) for v in values])
            if addr]


def build_message(out: Outgoing) -> bytes:
    """The message as sent on the wire (CRLF line ends, 7-bit clean)."""
    name, address = parseaddr(one_line(out.sender))
    name = one_line(name) or address
    to = _mailboxes(out.to)
    cc = _mailboxes(out.cc)
    # yagmail's message builder (what ``prepare_send`` calls), without its string round
    # trip: parsing the string back cost ~10 ms a message.
    addresses = resolve_addresses(address, name, [a for _, a in to], [a for _, a in cc] or None,
                                  None)
    msg = prepare_message(address, name, addresses, one_line(out.subject), None, None,
                          {"Date": format_datetime(out.created_at.astimezone(SHANGHAI))},
                          "utf-8", prettify_html=False, message_id=one_line(out.message_id))
    # yagmail leaves the subject raw; encoded here (RFC 2047) so the SMTP policy can fold it.
    msg.replace_header("Subject", folded_text(one_line(out.subject), "Subject"))
    msg.replace_header("From", folded_mailboxes([(name, address)], "From"))
    # Display names encoded (RFC 2047) but never the address itself.
    msg.replace_header("To", folded_mailboxes(to, "To"))
    if cc:
        msg.replace_header("Cc", folded_mailboxes(cc, "Cc"))
    # RFC 3834: an automatic notice; out-of-office robots should not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    alternative = _only_part(msg, "multipart/alternative")
    related = _only_part(alternative, "multipart/related")
    alternative.set_payload([MIMEText(out.body_text, "plain", "utf-8"), related])
    related.set_payload([MIMEText(out.body_html, "html", "utf-8")])
    for attachment in out.attachments:
        msg.attach(_attachment_part(attachment))
    # Our own boundaries: "=_" never occurs in base64 bodies or encoded words, so no
    # collision check is needed (the stdlib compiles a fresh regex per boundary for it,
    # a third of the build time), and a re-sent copy is byte-for-byte the same.
    tag = hashlib.sha256(out.message_id.encode("utf-8")).hexdigest()[:16]
    for level, part in enumerate((msg, alternative, related)):
        part.set_boundary(f"=_duban_{tag}_{level}")
    return msg.as_bytes(policy=WIRE)


def _attachment_part(attachment: Attachment) -> MIMEApplication:
    """A base64 part whose Chinese file name is RFC 2231-encoded (filename*=utf-8''…)."""
    try:
        data = read_checked(attachment)
    except AttachmentError as exc:
        # Imported here: notifications.failures imports this module.
        from notifications.failures import PermanentFailure

        raise PermanentFailure(str(exc)) from None
    maintype, _, subtype = attachment.content_type.partition("/")
    part = MIMEApplication(data, subtype or "octet-stream")
    if maintype != "application":
        part.replace_header("Content-Type", attachment.content_type)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", one_line(attachment.name)))
    return part


def _only_part(parent: Message, content_type: str) -> Message:
    parts = [p for p in parent.get_payload()
             if isinstance(p, Message) and p.get_content_type() == content_type]
    if len(parts) != 1:
        raise RuntimeError(f"unexpected message structure from yagmail: {content_type}")
    return parts[0]
