"""Sending over SMTP: messages built by :mod:`notifications.mime` over ONE connection per run.

We own the :class:`smtplib.SMTP` connection (yagmail's ``send()``, which the project used
first, logs in for every message and never closes, STACK-NOTES).  Replies are sorted into
temporary (4xx, timeouts, dropped connections: try again later) and permanent (5xx for
this message: it fails, the rest still go).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl

from notifications.failures import (
    Accepted,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from notifications.mime import Outgoing, build_message
from notifications.smtp_settings import SmtpSettings
from plan.errors import DubanError

log = logging.getLogger("duban.smtp")

# OpenSSL verify codes (X509_V_ERR_*) → what the operator should do.
_SELF_SIGNED = {18}  # depth zero self-signed certificate
_UNKNOWN_ISSUER = {19, 20, 21}  # self-signed in chain, issuer unknown, cannot verify leaf
_EXPIRED = {9, 10}  # not yet valid, expired
_HOSTNAME = {62}  # hostname mismatch


def tls_hint(code: int, settings: SmtpSettings) -> str:
    """The fix for one certificate failure (not one hint for every failure)."""
    trusted = (f"（当前 DUBAN_SMTP_CA_FILE={settings.ca_file} 没有签发这张证书）"
               if settings.ca_file else "")
    if code in _SELF_SIGNED:
        return ("服务器用的是自签名证书：把这张证书存成 PEM 文件，设置 DUBAN_SMTP_CA_FILE=该文件"
                f"{trusted}")
    if code in _UNKNOWN_ISSUER:
        return ("证书由系统不认识的 CA（例如单位内部 CA）签发：把该 CA 的证书存成 PEM 文件，"
                f"设置 DUBAN_SMTP_CA_FILE=该文件{trusted}")
    if code in _EXPIRED:
        return "服务器证书已过期或尚未生效：请邮件管理员更换证书，并确认本机时间正确"
    if code in _HOSTNAME:
        return "确认 DUBAN_SMTP_HOST 与证书上的主机名一致（用证书上的名字，而不是 IP 地址）"
    return "请邮件管理员检查服务器证书；内部 CA 签发的证书可用 DUBAN_SMTP_CA_FILE 指定该 CA"


def _reply(code: int, text: bytes | str) -> str:
    body = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(body.split())}"


class SmtpTransport:
    """Sends over one SMTP connection, opened on the first message and reopened if dropped."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None
        self._warned = False

    def __repr__(self) -> str:
        return f"SmtpTransport({self.settings!r})"

    # connection ------------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = s.tls_context()
        if s.sends_password_in_clear and not self._warned:
            self._warned = True
            log.warning("警告：%s没有加密（DUBAN_SMTP_STARTTLS=false），登录密码将以明文发送；"
                        "请改用 STARTTLS（587 端口）或 DUBAN_SMTP_SSL=true（465 端口），"
                        "只在可信的内网中继上这样设置", s.describe())
        conn: smtplib.SMTP | None = None
        try:
            if s.ssl:
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            self._greet(conn)
            if s.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if s.user:
                conn.login(s.user, s.password or "")
            return conn
        except smtplib.SMTPAuthenticationError as exc:
            self._drop(conn)
            raise DubanError(f"{s.describe()}拒绝登录：{_reply(exc.smtp_code, exc.smtp_error)}",
                             "检查 DUBAN_SMTP_USER 和密码（DUBAN_SMTP_PASSWORD 或系统密钥环）",
                             ) from None
        except smtplib.SMTPNotSupportedError:
            self._drop(conn)
            raise DubanError(f"{s.describe()}不支持 STARTTLS 或登录",
                             "确认端口和加密方式；内网明文中继可设 DUBAN_SMTP_STARTTLS=false",
                             ) from None
        except ssl.SSLCertVerificationError as exc:
            self._drop(conn)
            raise DubanError(f"{s.describe()}的证书校验失败：{exc.verify_message}",
                             tls_hint(exc.verify_code, s)) from None
        except ssl.SSLError as exc:
            self._drop(conn)
            raise DubanError(f"{s.describe()}的 TLS 握手失败：{exc.reason or exc}",
                             "确认端口和加密方式一致：465 端口用 DUBAN_SMTP_SSL=true，"
                             "587 端口用 DUBAN_SMTP_STARTTLS=true") from None
        except smtplib.SMTPResponseException as exc:
            self._drop(conn)
            reply = _reply(exc.smtp_code, exc.smtp_error)
            raise ServerUnavailable(f"连接 {s.describe()}失败：{reply}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop(conn)
            reason = _describe_os_error(exc)
            raise ServerUnavailable(f"连接 {s.describe()}失败：{reason}") from None

    @staticmethod
    def _greet(conn: smtplib.SMTP) -> None:
        code, reply = conn.ehlo()
        if 400 <= code < 500:  # e.g. 421 too many connections: the server, not us
            raise smtplib.SMTPResponseException(code, reply)
        if code >= 500:  # an old server without EHLO
            code, reply = conn.helo()
            if not 200 <= code < 300:
                raise smtplib.SMTPResponseException(code, reply)

    @staticmethod
    def _drop(conn: smtplib.SMTP | None) -> None:
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def _connection(self) -> smtplib.SMTP:
        # smtplib sets sock to None when it closes (e.g. after a 421).
        if self._conn is None or getattr(self._conn, "sock", None) is None:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            self._drop(conn)

    # sending ---------------------------------------------------------------------------
    def send(self, message: Outgoing, data: bytes | None = None) -> Accepted:
        """Send one message (``data``: its wire bytes, if already built)."""
        data = data if data is not None else build_message(message)
        try:
            return self._send_once(message, data)
        except _ClosedBy421:
            # "421 closing": the server refused this message and hung up (often a limit on
            # messages per connection).  Nothing was accepted, so one more try on a fresh
            # connection cannot duplicate anything.
            try:
                return self._send_once(message, data)
            except _ClosedBy421 as again:
                raise TemporaryFailure(again.message) from None

    def _send_once(self, message: Outgoing, data: bytes) -> Accepted:
        conn = self._connection()
        try:
            refused = conn.sendmail(message.from_address, message.recipients, data)
        except smtplib.SMTPRecipientsRefused as exc:
            self._reset(conn)
            reasons = {a: _reply(c, t) for a, (c, t) in exc.recipients.items()}
            text = "收件人全部被拒收：" + "；".join(f"{a}：{r}" for a, r in reasons.items())
            codes = [c for c, _ in exc.recipients.values()]
            if all(c >= 500 for c in codes):
                raise PermanentFailure(text, reasons) from None
            if 421 in codes and self._conn is None:
                raise _ClosedBy421(text) from None
            raise TemporaryFailure(text, reasons) from None
        except smtplib.SMTPServerDisconnected as exc:
            # Unknown whether the server took the message: retried on a later run, with
            # the same Message-ID (the documented duplicate window).
            self._conn = None
            raise TemporaryFailure(f"连接在发送途中断开：{_describe_os_error(exc)}") from None
        except smtplib.SMTPResponseException as exc:
            self._reset(conn)
            text = f"服务器拒收：{_reply(exc.smtp_code, exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(text) from None
            if exc.smtp_code == 421 and self._conn is None:
                raise _ClosedBy421(text) from None
            raise TemporaryFailure(text) from None
        except (OSError, smtplib.SMTPException) as exc:
            # A timeout or reset mid-message: the connection's state is unknown, start over.
            self._drop(conn)
            self._conn = None
            raise TemporaryFailure(f"发送中断：{_describe_os_error(exc)}") from None
        return Accepted({a: _reply(c, t) for a, (c, t) in refused.items()})

    def _reset(self, conn: smtplib.SMTP) -> None:
        if getattr(conn, "sock", None) is None:
            self._conn = None


class _ClosedBy421(TemporaryFailure):
    """The server answered 421 and closed the connection (nothing accepted)."""


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝（服务器未启动或端口不对）"
    # smtplib reports a read timeout as "Connection unexpectedly closed: timed out".
    if isinstance(exc, (TimeoutError, socket.timeout)) or "timed out" in str(exc):
        return "连接超时（服务器没有应答）"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"服务器断开了连接（{exc}）"
    if isinstance(exc, socket.gaierror):
        return f"找不到主机（{exc.strerror}）"
    return f"{type(exc).__name__}: {exc}"
