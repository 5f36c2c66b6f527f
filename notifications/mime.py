"""One outbox row → the bytes of an RFC 5322 message (multipart: plain text + HTML).

Built once per message with the standard library's ``email`` package: multipart/mixed →
alternative (plain text, related → HTML) → attachments, our own headers (From/To/Cc with
encoded display names, the outbox's Message-ID, Auto-Submitted) and the two bodies we
rendered.  Every header value is flattened to one line first, so a unit name cannot add a
header or a recipient.  (Until issue #13 yagmail built the skeleton and we replaced every
part of it; building it directly is the same bytes at a fraction of the cost.)
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from notifications.attachments import Attachment, AttachmentError, read_checked
from notifications.render import one_line


# The standard library's compat32 policy with CRLF line ends, except that a header we folded
# ourselves is written exactly as folded: From, To, Cc and Subject are folded by
# :func:`folded_mailboxes` and :func:`folded_text` into RFC 2047 encoded words on lines of at
# most 78 characters, so a 250-character unit name cannot make a line a strict server refuses
# ("500 Line too long").  compat32 rather than the SMTP/default policy: those parse every
# header into a header object on each read, which was most of the time spent building a
# message (issue #13), and their refolding can drop the quotes around a display name.  A
# non-ASCII value (an attachment's, say) is encoded the way compat32 always does.  7-bit:
# any server takes it.
class _WirePolicy(Compat32):
    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if isinstance(value, str) and value.isascii():
            return f"{name}: {self.linesep.join(value.splitlines())}{self.linesep}"
        return super()._fold(name, value, sanitize)  # type: ignore[misc]


WIRE = _WirePolicy(linesep="\r\n")
FOLD_AT = 76  # RFC 2047: an encoded word is at most 75 characters


def folded_text(value: str, header_name: str) -> str:
    """An unstructured header value (Subject) as encoded words on folded lines."""
    return Header(value, "utf-8", maxlinelen=FOLD_AT, header_name=header_name).encode()


def folded_mailboxes(mailboxes: Sequence[tuple[str, str]], header_name: str) -> str:
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

    # Parsed once per message (delivery asks for both several times; issue #13's profile).
    @functools.cached_property
    def from_address(self) -> str:
        return parseaddr(one_line(self.sender))[1]

    @functools.cached_property
    def recipients(self) -> list[str]:
        """Envelope recipients: the To and Cc addresses, each once."""
        return list(dict.fromkeys(addr for _, addr in _mailboxes((*self.to, *self.cc))))


@functools.lru_cache(maxsize=1024)  # a run repeats the same Cc and sender thousands of times
def _mailboxes(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((one_line(name), addr) for name, addr in getaddresses([one_line(v) for v in values])
                 if addr)


def build_message(out: Outgoing) -> bytes:
    """The message as sent on the wire (CRLF line ends, 7-bit clean).

    Joined directly from header lines and base64 parts: the same bytes the standard
    library's generator writes for :func:`build_message_stdlib` (pinned by
    tests/test_mime_direct.py over varied inputs) at well under half the cost, since the
    generator walks and re-serialises every part and header object (issue #13).  A header
    that is not plain ASCII once folded (an address with non-ASCII characters, say) takes
    the standard library's path, which encodes it the compat32 way.
    """
    name, address = parseaddr(one_line(out.sender))
    name = one_line(name) or address
    to = _mailboxes(out.to)
    cc = _mailboxes(out.cc)
    tag = hashlib.sha256(out.message_id.encode("utf-8")).hexdigest()[:16]
    headers = [("Content-Type", f'multipart/mixed; boundary="=_duban_{tag}_0"'),
               ("MIME-Version", "1.0"),
               ("Date", format_datetime(out.created_at.astimezone(SHANGHAI))),
               ("Subject", folded_text(one_line(out.subject), "Subject")),
               ("From", folded_mailboxes([(name, address)], "From")),
               ("To", folded_mailboxes(to, "To"))]
    if cc:
        headers.append(("Cc", folded_mailboxes(cc, "Cc")))
    headers.append(("Message-ID", one_line(out.message_id)))
    headers.append(("Auto-Submitted", "auto-generated"))
    if not all(value.isascii() for _, value in headers):
        return build_message_stdlib(out)
    # _WirePolicy._fold for an ASCII value: the value's own lines joined by CRLF.
    head = "".join(f"{key}: {_CRLF.join(value.splitlines())}{_CRLF}" for key, value in headers)
    text = _TEXT_PART + _base64_lines(out.body_text)
    html = _HTML_PART + _base64_lines(out.body_html)
    related = _multipart("related", f"=_duban_{tag}_2", [html])
    alternative = _multipart("alternative", f"=_duban_{tag}_1", [text, related])
    parts = [alternative, *(_attachment_part(a).as_bytes(policy=WIRE) for a in out.attachments)]
    return head.encode("ascii") + b"\r\n" + _body(f"=_duban_{tag}_0", parts)


_CRLF = "\r\n"
_TEXT_PART = (b'Content-Type: text/plain; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
              b"Content-Transfer-Encoding: base64\r\n\r\n")
_HTML_PART = _TEXT_PART.replace(b"text/plain", b"text/html")


def _base64_lines(body: str) -> bytes:
    # email.base64mime.body_encode: 57 bytes (76 characters) a line, each line ended.
    return base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")


def _body(boundary: str, parts: list[bytes]) -> bytes:
    """A multipart body as email.generator writes it: first delimiter, parts separated by
    CRLF-delimiter lines, the close delimiter."""
    b = boundary.encode("ascii")
    return (b"--" + b + b"\r\n" + (b"\r\n--" + b + b"\r\n").join(parts)
            + b"\r\n--" + b + b"--\r\n")


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    return (f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\nMIME-Version: 1.0\r\n\r\n'
            .encode("ascii") + _body(boundary, parts))


def build_message_stdlib(out: Outgoing) -> bytes:
    """The same message through the standard library's MIME classes and generator: the
    reference for :func:`build_message` and its path for non-ASCII header values."""
    name, address = parseaddr(one_line(out.sender))
    name = one_line(name) or address
    to = _mailboxes(out.to)
    cc = _mailboxes(out.cc)
    # Our own boundaries: "=_" never occurs in base64 bodies or encoded words, so no
    # collision check is needed (the stdlib compiles a fresh regex per boundary for it),
    # and a re-sent copy is byte-for-byte the same.
    tag = hashlib.sha256(out.message_id.encode("utf-8")).hexdigest()[:16]
    msg = MIMEMultipart("mixed", boundary=f"=_duban_{tag}_0")
    msg["Date"] = format_datetime(out.created_at.astimezone(SHANGHAI))
    # Names and subject as RFC 2047 encoded words on folded lines (never the address itself).
    msg["Subject"] = folded_text(one_line(out.subject), "Subject")
    msg["From"] = folded_mailboxes([(name, address)], "From")
    msg["To"] = folded_mailboxes(to, "To")
    if cc:
        msg["Cc"] = folded_mailboxes(cc, "Cc")
    msg["Message-ID"] = one_line(out.message_id)
    # RFC 3834: an automatic notice; out-of-office robots should not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    related = MIMEMultipart("related", f"=_duban_{tag}_2", [MIMEText(out.body_html, "html", "utf-8")])
    msg.attach(MIMEMultipart("alternative", f"=_duban_{tag}_1",
                             [MIMEText(out.body_text, "plain", "utf-8"), related]))
    for attachment in out.attachments:
        msg.attach(_attachment_part(attachment))
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
