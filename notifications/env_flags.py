"""Yes/no settings read from the environment, one rule for SMTP and IMAP alike."""

from __future__ import annotations

import os

from plan.errors import DubanError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_flag(variable: str, default: bool) -> bool:
    """``$variable`` as a boolean; unset or empty is ``default``, anything unclear is refused."""
    raw = os.environ.get(variable, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise DubanError(f"环境变量 {variable} 的值「{raw}」无效", "填写 true 或 false")
