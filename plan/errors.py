"""The one error type of duban and the problems it carries.

Every refusal a user can meet is a :class:`DubanError` with a Chinese message and a
hint saying what to do.  Problems in plan.yaml are collected as :class:`Problem` rows
(``file:line:column``, key path, message, hint) and raised together as a
:class:`PlanError`, so a coordinator sees every mistake in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]
PathPart = str | int
KeyPath = tuple[PathPart, ...]


def format_path(path: KeyPath) -> str:
    """``("tasks", 7, "milestones", 1, "due")`` → ``tasks[7].milestones[1].due``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(文件)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in an input file, with where and how to fix it."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str
    severity: Severity = "error"
    # Warnings of one ``kind`` (e.g. placeholder addresses) are shown as one summary line;
    # ``subject`` is what the summary lists (a unit id).  Neither is part of the JSON.
    kind: str = ""
    subject: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        label = "警告" if self.severity == "warning" else "错误"
        text = f"{where}: {label}: {self.path}: {self.message}"
        return f"{text}\n    提示：{self.hint}" if self.hint else text

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        for private in ("severity", "kind", "subject"):
            data.pop(private)
        return data


class DubanError(Exception):
    """An expected failure: bad input or a refused action. Shown as one line plus a hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class PlanError(DubanError):
    """plan.yaml is not valid; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[Problem] = ()) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        self.warnings = sorted(warnings, key=lambda p: (p.line, p.column))
        first = self.problems[0] if self.problems else None
        file = first.file if first else "plan.yaml"
        super().__init__(
            f"{file} 有 {len(self.problems)} 处错误，未做任何改动",
            "按上面每条提示修改后，运行 duban check 再检查一遍",
        )

    def report(self, verbose: bool = False) -> str:
        """Every error, then the warnings (placeholder warnings summarised unless verbose)."""
        return "\n".join([*map(str, self.problems), *warning_lines(self.warnings, verbose)])


# The summary line of a kind of warning that repeats for many units.
SUMMARIES = {
    "placeholder-email": "{n} 个单位的联系邮箱仍是 example.org 占位地址：{subjects}",
}


def warning_lines(warnings: Iterable[Problem], verbose: bool = False) -> list[str]:
    """Warnings as printed: one line per kind that repeats (unless ``verbose``), else each."""
    warnings = list(warnings)
    by_kind: dict[str, list[Problem]] = {}
    for w in warnings:
        if w.kind in SUMMARIES:
            by_kind.setdefault(w.kind, []).append(w)
    lines: list[str] = []
    summarised: set[str] = set()
    for w in warnings:
        group = by_kind.get(w.kind, [])
        if verbose or len(group) < 2:
            lines.append(str(w))
        elif w.kind not in summarised:
            summarised.add(w.kind)
            text = SUMMARIES[w.kind].format(n=len(group), subjects="、".join(g.subject for g in group))
            lines.append(f"{w.file}: 警告: {text}；加 --verbose 查看每一处")
    return lines
