"""Real MIME messages as 126/163/Outlook users send them, for the mailbox tests."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

DATE = dt.datetime(2024, 7, 3, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def gbk_header(text: str) -> str:
    return Header(text, "gbk").encode()


def message(sender: str, subject: str, *, body: str = "您好，材料见附件。",
            attachments: tuple[tuple[str, bytes, str], ...] = (), parts: tuple[MIMEBase, ...] = (),
            message_id: str | None = None) -> MIMEMultipart:
    """``attachments``: (name, bytes, how the name is encoded: rfc2047 | rfc2231 | plain)."""
    msg = MIMEMultipart()
    msg["From"] = f"{gbk_header('经办人')} <{sender}>"
    msg["To"] = "shszcj@126.com"
    msg["Subject"] = gbk_header(subject)
    msg["Date"] = format_datetime(DATE)
    msg["Message-ID"] = message_id or make_msgid(domain="example.org")
    msg.attach(MIMEText(body, "plain", "gbk"))
    for name, data, how in attachments:
        part = MIMEApplication(data)
        if how == "rfc2231":
            part.add_header("Content-Disposition", "attachment", filename=("gbk", "", name))
        elif how == "rfc2047":
            part["Content-Disposition"] = f'attachment; filename="{gbk_header(name)}"'
        else:
            part.add_header("Content-Disposition", "attachment", filename=name)
        msg.attach(part)
    for extra in parts:
        msg.attach(extra)
    return msg


def forwarded(inner: MIMEMultipart) -> MIMEMessage:
    return MIMEMessage(inner)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
