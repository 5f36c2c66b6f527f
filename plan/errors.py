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

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        label = "警告" if self.severity == "warning" else "错误"
        text = f"{where}: {label}: {self.path}: {self.message}"
        return f"{text}\n    提示：{self.hint}" if self.hint else text

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("severity")
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
        self.problems = list(problems)
        self.warnings = list(warnings)
        first = self.problems[0] if self.problems else None
        file = first.file if first else "plan.yaml"
        super().__init__(
            f"{file} 有 {len(self.problems)} 处错误，未做任何改动",
            "按上面每条提示修改后，运行 duban check 再检查一遍",
        )

    def report(self) -> str:
        return "\n".join(str(p) for p in [*self.problems, *self.warnings])
