"""A console that never passes control characters from data to the terminal.

File names units chose, mail subjects and sender names reach ``duban`` output; an ESC
sequence in one of them could recolour or rewrite the coordinator's terminal.  Rich drops
some control codes (BEL) but not ESC or NUL, so strings are cleaned before printing.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console

# C0 controls except tab and newline, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


class SafeConsole(Console):
    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(strip_controls(o) if isinstance(o, str) else o for o in objects), **kwargs)
