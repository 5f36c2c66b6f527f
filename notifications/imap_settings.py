"""IMAP settings from ``DUBAN_IMAP_*`` (never from plan.yaml).

The password comes from ``DUBAN_IMAP_PASSWORD`` or the system keyring
(``keyring set duban-imap <user>``); it is kept out of the repr, so it cannot reach a log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from notifications.env_flags import env_flag
from plan.errors import DubanError

ENV_PREFIX = "DUBAN_IMAP_"
KEYRING_SERVICE = "duban-imap"


def _get(name: str) -> str:
    return os.environ.get(ENV_PREFIX + name, "").strip()


def _flag(name: str, default: bool) -> bool:
    return env_flag(ENV_PREFIX + name, default)


def _keyring_password(user: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, user)
    except KeyringError:
        return None


def configured() -> bool:
    """True when ``DUBAN_IMAP_HOST`` is set: ``duban run`` then reads the mailbox first."""
    return bool(_get("HOST"))


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    ssl: bool
    folder: str
    timeout: float
    password: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_env(cls) -> ImapSettings | None:
        """Settings from ``DUBAN_IMAP_*``; None when ``DUBAN_IMAP_HOST`` is not set."""
        host = _get("HOST")
        if not host:
            return None
        use_ssl = _flag("SSL", True)
        raw_port = _get("PORT")
        port = 993 if use_ssl else 143
        if raw_port:
            if not raw_port.isdigit() or not 0 < int(raw_port) <= 65535:
                raise DubanError(f"环境变量 DUBAN_IMAP_PORT 的值「{raw_port}」无效",
                                 "填写 1–65535 之间的端口号，例如 993（SSL）或 143")
            port = int(raw_port)
        user = _get("USER")
        if not user:
            raise DubanError("设置了 DUBAN_IMAP_HOST，但没有设置 DUBAN_IMAP_USER",
                             "把 DUBAN_IMAP_USER 设为联系邮箱的登录名，例如 shszcj@126.com")
        password = os.environ.get(ENV_PREFIX + "PASSWORD") or _keyring_password(user)
        if not password:
            raise DubanError(f"设置了 DUBAN_IMAP_USER={user}，但找不到它的密码",
                             f"设置环境变量 DUBAN_IMAP_PASSWORD（126/163 邮箱填“客户端授权码”），"
                             f"或运行 keyring set {KEYRING_SERVICE} {user} 存入系统密钥环")
        return cls(host=host, port=port, user=user, ssl=use_ssl, folder=_get("FOLDER") or "INBOX",
                   timeout=30.0, password=password)

    def describe(self) -> str:
        mode = "SSL" if self.ssl else "明文"
        return f"IMAP {self.host}:{self.port}（{mode}，用户 {self.user}，文件夹 {self.folder}）"
