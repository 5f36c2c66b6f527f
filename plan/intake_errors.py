"""Refusals of a file a unit sent: every problem names its place (``统计表!C7``).

A workbook is checked completely and refused as a whole, so a unit fixes every
mistake in one round and nothing from a bad file is ever half-recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plan.errors import DubanError


@dataclass(frozen=True)
class CellProblem:
    cell: str  # "统计表!C7", or "" when the problem is the whole file
    message: str
    hint: str

    def __str__(self) -> str:
        where = f"{self.cell}：" if self.cell else ""
        return f"{where}{self.message}"


class FileRefused(DubanError):
    """A file that cannot be taken in; nothing from it was recorded."""

    def __init__(self, file: str, problems: Iterable[CellProblem]) -> None:
        self.file = file
        self.problems = list(problems)
        if len(self.problems) == 1:
            only = self.problems[0]
            message = f"{file} {only}" if only.cell else f"{file}：{only.message}"
            hint = only.hint
        else:
            lines = "\n".join(f"  {p}（{p.hint}）" for p in self.problems)
            message = f"{file} 有 {len(self.problems)} 处错误，未导入任何内容：\n{lines}"
            hint = "按每条说明改正后重新导入"
        super().__init__(message, hint)

    @property
    def reason(self) -> str:
        """One text for a ``.reason.txt`` file: what is wrong and what to do."""
        return "\n".join(f"{p}\n  提示：{p.hint}" for p in self.problems)


def refuse(file: str, message: str, hint: str, cell: str = "") -> FileRefused:
    return FileRefused(file, [CellProblem(cell, message, hint)])
