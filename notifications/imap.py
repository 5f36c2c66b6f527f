"""The contact mailbox over IMAP (imap-tools): connect, identify, list, fetch, file away.

Transport only: which message means what is decided in :mod:`flows.mail_fetch`.  Every
fetch uses ``BODY.PEEK`` so reading never marks a message read; only :meth:`file_away`
changes the server, and it is called after the message's content is committed.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType

from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError

from notifications.imap_settings import ImapSettings
from plan.errors import DubanError

# Recorded messages are moved here.  A folder rather than a keyword: 126/163 webmail
# shows folders but not IMAP keywords, and their servers do not keep custom keywords
# (no \* in PERMANENTFLAGS); dovecot supports both.  \Seen alone would not do: the
# coordinator reading a message in webmail sets it too.
DONE_FOLDER = "duban-已登记"
# 126/163 refuse SELECT ("Unsafe Login") until the client says who it is.
CLIENT_ID = '("name" "duban" "version" "1.0" "vendor" "duban")'


class ImapFailed(DubanError):
    """The mailbox could not be read: network, login or server refusal."""


@dataclass(frozen=True)
class RawMessage:
    uid: int
    data: bytes


class _RawMailMessage(MailMessage):
    """Keeps the bytes as received: re-serialising could alter raw 8-bit GBK headers."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


class ContactMailbox:
    """One session on the contact mailbox, as a context manager."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.box: BaseMailBox | None = None
        self.uidvalidity = 0

    def _fail(self, exc: BaseException, doing: str) -> ImapFailed:
        detail = str(exc).replace(self.settings.password, "***") if self.settings.password else str(exc)
        return ImapFailed(f"无法{doing}联系邮箱（{self.settings.describe()}）：{type(exc).__name__}: {detail}",
                          "检查网络和 DUBAN_IMAP_HOST/PORT/SSL；126/163 邮箱需在网页版设置中开启 IMAP，"
                          "密码填“客户端授权码”")

    def __enter__(self) -> ContactMailbox:
        s = self.settings
        try:
            if s.ssl:
                self.box = MailBox(s.host, s.port, timeout=s.timeout,
                                   ssl_context=ssl.create_default_context())
            else:
                self.box = MailBoxUnencrypted(s.host, s.port, timeout=s.timeout)
        except (OSError, ssl.SSLError, ImapToolsError) as exc:
            raise self._fail(exc, "连接") from None
        self.box.email_message_class = _RawMailMessage
        try:
            self.box.login(s.user, s.password, initial_folder=None)
        except UnicodeEncodeError:
            raise ImapFailed(f"无法登录联系邮箱（{s.describe()}）：用户名或密码含有中文等非 ASCII 字符",
                             "IMAP 登录只接受 ASCII；126/163 邮箱请使用网页版生成的“客户端授权码”") from None
        except (OSError, ImapToolsError) as exc:
            self._drop()
            raise self._fail(exc, "登录") from None
        try:
            # Sent whatever the capabilities say: 126 does not always announce ID, and a
            # server without it answers BAD, which imaplib raises and we ignore.
            with contextlib.suppress(self.box.client.error):
                self.box.client.xatom("ID", CLIENT_ID)
            self.box.folder.set(s.folder)
            self.uidvalidity = int(self.box.folder.status(s.folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        except (OSError, ImapToolsError, KeyError) as exc:
            self._drop()
            raise self._fail(exc, f"打开文件夹「{s.folder}」的") from None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.box is not None:
            with contextlib.suppress(OSError, ImapToolsError, socket.error):
                self.box.logout()

    def _drop(self) -> None:
        """Close the socket of a session that failed before __exit__ could run."""
        if self.box is not None:
            with contextlib.suppress(OSError):
                self.box.client.shutdown()

    def _box(self) -> BaseMailBox:
        assert self.box is not None, "use ContactMailbox as a context manager"
        return self.box

    def uids(self) -> list[int]:
        try:
            return sorted(int(u) for u in self._box().uids("ALL"))
        except (OSError, ImapToolsError) as exc:
            raise self._fail(exc, "列出") from None

    def fetch(self, uid: int) -> RawMessage | None:
        """The message's bytes, without marking it read; None if it vanished meanwhile."""
        try:
            for msg in self._box().fetch(uid_list=[str(uid)], mark_seen=False):
                assert isinstance(msg, _RawMailMessage)
                return RawMessage(uid, msg.raw)
        except (OSError, ImapToolsError) as exc:
            raise self._fail(exc, "读取") from None
        return None

    def file_away(self, uids: list[int]) -> None:
        """Move recorded messages to :data:`DONE_FOLDER` (created on first use)."""
        if not uids:
            return
        box = self._box()
        try:
            if not box.folder.exists(DONE_FOLDER):
                box.folder.create(DONE_FOLDER)
            box.move([str(u) for u in uids], DONE_FOLDER)
        except (OSError, ImapToolsError) as exc:
            raise self._fail(exc, "归档已登记的邮件到") from None
