"""Helpers for tests that break a copy of the shipped plan.yaml on purpose.

Each malformed plan is the shipped text with one small edit, so the tests keep
following plan.yaml as coordinators change it; line and column numbers in pinned
messages are computed from the edited text (``at``) rather than typed in.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import PLAN


def shipped() -> str:
    return PLAN.read_text(encoding="utf-8")


def edit(*pairs: tuple[str, str], text: str | None = None) -> str:
    """The shipped text with each ``old`` replaced (exactly once) by ``new``."""
    out = shipped() if text is None else text
    for old, new in pairs:
        assert out.count(old) == 1, f"plan.yaml 里「{old}」应恰好出现一次"
        out = out.replace(old, new)
    return out


def at(text: str, needle: str, offset: int = 0, occurrence: int = 1) -> str:
    """``line:column`` (1-based) of the ``occurrence``-th ``needle`` in ``text``, plus ``offset``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    if needle.startswith("\n"):  # "\nkey:" finds a top-level key; report the key itself
        index += 1
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{column + offset}"


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    return int(at(text, needle, occurrence=occurrence).split(":")[0])


def error(where: str, path: str, message: str, hint: str, file: str = "plan.yaml") -> str:
    """A problem exactly as ``duban check`` prints it."""
    return f"{file}:{where}: 错误: {path}: {message}\n    提示：{hint}"


def warning(where: str, path: str, message: str, hint: str, file: str = "plan.yaml") -> str:
    return f"{file}:{where}: 警告: {path}: {message}\n    提示：{hint}"


def write_plan(folder: Path, content: str | bytes, name: str = "plan.yaml") -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
