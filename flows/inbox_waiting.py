"""The inbox's folder names, and the files still waiting in ``unmatched/`` with their notes.

Kept apart from :mod:`flows.inbox` (which imports the whole intake: spreadsheet readers,
converters, the intake tables) because every daily sweep lists the waiting files for the
coordinator's list, and most days nothing is imported at all.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from plan.notice import UnmatchedFile

PROCESSED, UNMATCHED = "processed", "unmatched"
REASON_SUFFIX = ".reason.txt"


def assign_command(rel: str, unit: str | None) -> str:
    """The one command that records an unmatched file (placeholders where unknown)."""
    return f"duban inbox assign {_quote(rel)} --unit {unit or '单位名称'} --milestone 节点名称"


def _quote(text: str) -> str:
    """Shell-quote only when needed: Chinese names stay readable in the email."""
    return shlex.quote(text) if any(c in text for c in " \t\"'$`\\;&|<>()*?[]{}!#~") else text


def pending_unmatched(inbox: Path) -> list[UnmatchedFile]:
    """Files still waiting in ``unmatched/``, with the reason and command written beside them."""
    folder = inbox / UNMATCHED
    out: list[UnmatchedFile] = []
    if not folder.is_dir():
        return out
    for note in sorted(folder.rglob("*" + REASON_SUFFIX)):
        target = note.with_name(note.name[: -len(REASON_SUFFIX)])
        if not target.exists():
            continue
        lines = note.read_text(encoding="utf-8").splitlines()
        field = {line.split("：", 1)[0]: line.split("：", 1)[1] for line in lines if "：" in line}
        rel = target.relative_to(inbox).as_posix()
        out.append(UnmatchedFile(rel, field.get("原因", ""), field.get("登记命令") or assign_command(rel, None)))
    return out
