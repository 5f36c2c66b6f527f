"""SMTP settings from ``DUBAN_SMTP_*`` (never from plan.yaml).

The password comes from ``DUBAN_SMTP_PASSWORD`` or the system keyring
(``keyring set duban <user>``); it is kept out of the repr, so it cannot reach a log.
"""

from __future__ import annotations

import os
import ssl as tls  # the dataclass has a field named ssl
from dataclasses import dataclass, field

from notifications.env_flags import env_flag
from plan.errors import DubanError

ENV_PREFIX = "DUBAN_SMTP_"


def _flag(name: str, default: bool) -> bool:
    return env_flag(ENV_PREFIX + name, default)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(ENV_PREFIX + name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise DubanError(f"环境变量 {ENV_PREFIX}{name} 的值「{raw}」无效", "填写一个正数")
    return value


def _keyring_password(user: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password("duban", user)
        except KeyringError:
            return None
    except ImportError:
        return None


def _ca_file() -> str | None:
    raw = os.environ.get(ENV_PREFIX + "CA_FILE", "").strip()
    if not raw:
        return None
    if not os.path.isfile(raw):
        raise DubanError(f"环境变量 DUBAN_SMTP_CA_FILE 指向的文件「{raw}」不存在",
                         "填写签发邮件服务器证书的 CA 证书文件（PEM）的路径")
    return raw


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    sender: str | None  # DUBAN_SMTP_FROM
    starttls: bool
    ssl: bool
    timeout: float
    password: str | None = field(default=None, repr=False, compare=False)
    ca_file: str | None = None  # DUBAN_SMTP_CA_FILE: a private CA (PEM) to trust as well

    @classmethod
    def from_env(cls) -> SmtpSettings | None:
        """Settings from ``DUBAN_SMTP_*``; None when ``DUBAN_SMTP_HOST`` is not set."""
        host = os.environ.get(ENV_PREFIX + "HOST", "").strip()
        if not host:
            return None
        use_ssl = _flag("SSL", False)
        starttls = _flag("STARTTLS", not use_ssl)
        if use_ssl and starttls:
            raise DubanError("DUBAN_SMTP_SSL 和 DUBAN_SMTP_STARTTLS 不能同时为 true",
                             "465 端口用 DUBAN_SMTP_SSL=true；587 端口用 DUBAN_SMTP_STARTTLS=true")
        port = _number("PORT", 465 if use_ssl else 587 if starttls else 25)
        if port != int(port) or port > 65535:
            raise DubanError(f"环境变量 DUBAN_SMTP_PORT 的值「{port:g}」无效",
                             "填写 1–65535 之间的端口号，例如 25、465 或 587")
        user = os.environ.get(ENV_PREFIX + "USER", "").strip() or None
        password = os.environ.get(ENV_PREFIX + "PASSWORD") or None
        if user and password is None:
            password = _keyring_password(user)
            if password is None:
                raise DubanError(f"设置了 DUBAN_SMTP_USER={user}，但找不到它的密码",
                                 f"设置环境变量 DUBAN_SMTP_PASSWORD，"
                                 f"或运行 keyring set duban {user} 存入系统密钥环")
        return cls(host=host, port=int(port), user=user,
                   sender=os.environ.get(ENV_PREFIX + "FROM", "").strip() or None,
                   starttls=starttls, ssl=use_ssl, timeout=_number("TIMEOUT", 30.0),
                   password=password, ca_file=_ca_file())

    @property
    def sends_password_in_clear(self) -> bool:
        return bool(self.user) and not self.ssl and not self.starttls

    def tls_context(self) -> tls.SSLContext:
        """The system's trusted CAs, plus ``DUBAN_SMTP_CA_FILE`` when set."""
        context = tls.create_default_context()
        if self.ca_file:
            try:
                context.load_verify_locations(cafile=self.ca_file)
            except (OSError, tls.SSLError) as exc:
                raise DubanError(f"DUBAN_SMTP_CA_FILE 指向的文件「{self.ca_file}」不是可读的 PEM 证书"
                                 f"（{exc}）",
                                 "填写签发邮件服务器证书的 CA 证书（PEM 格式，-----BEGIN CERTIFICATE-----）"
                                 ) from None
        return context

    def describe(self) -> str:
        mode = "SSL" if self.ssl else "STARTTLS" if self.starttls else "明文"
        who = f"，用户 {self.user}" if self.user else ""
        return f"SMTP {self.host}:{self.port}（{mode}{who}）"
