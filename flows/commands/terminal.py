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


# A line may break before a CJK character or at a space, never inside an ASCII run or a path
# (an id, a path, a number or a command must stay whole to be copied); closing punctuation stays
# with what precedes it and opening punctuation with what follows, as Chinese typesetting does.
_TOKEN = re.compile(r"[^\s、，；。（）]*/[^\s、，；。（）]*|[\x21-\x7e]+|\s+|.")
_CLOSING = set("，。、；：！？）」』》〉”’")
_OPENING = set("（「『《〈“‘")


def fold(text: str, width: int, indent: int = 2, after: str = "") -> str:
    """``text`` with every line wider than ``width`` cells broken into lines that fit, the
    continuation lines indented by ``indent`` spaces more than the line they continue.
    With ``after`` (e.g. "、"), Chinese text breaks only after those characters, so a list of
    names is never broken inside a name."""
    from rich.cells import cell_len

    folded: list[str] = []
    for line in text.split("\n"):
        if cell_len(line) <= width:
            folded.append(line)
            continue
        lead = " " * (len(line) - len(line.lstrip(" ")) + indent)
        tokens: list[str] = []
        for token in _TOKEN.findall(line):
            glued = tokens and not tokens[-1].isspace() and not token.isspace() and (
                token in _CLOSING or tokens[-1][-1] in _OPENING
                or (after and tokens[-1][-1] not in after))
            if glued:
                tokens[-1] += token
            else:
                tokens.append(token)
        current: list[str] = []
        for token in tokens:
            so_far = "".join(current)
            if so_far.strip() and cell_len(so_far + token.rstrip()) > width:
                cut = _break_at(current, width, token)
                folded.append("".join(current[:cut]).rstrip())
                rest = current[cut:]
                while rest and rest[0].isspace():
                    rest.pop(0)
                current = [lead, *rest]
                if token.isspace() and not rest:
                    continue
            current.append(token)
        folded.append("".join(current).rstrip())
    return "\n".join(folded)


def _break_at(tokens: list[str], width: int, following: str) -> int:
    """Where to end a full line: after the last Chinese comma or stop in its second half (a
    clause stays whole), else at its last space that does not join two ASCII words ("sha256
    2f22…"), else at the end."""
    from rich.cells import cell_len

    half = [i for i in range(len(tokens), 0, -1) if cell_len("".join(tokens[:i])) >= width // 2]
    for i in half:
        if tokens[i - 1][-1] in "，；、。：":
            return i
    for i in half:
        after = tokens[i] if i < len(tokens) else following
        if tokens[i - 1].isspace() and not (i >= 2 and tokens[i - 2][-1:].isascii() and after[:1].isascii()):
            return i
    return len(tokens)
