"""Text from the plan or from units, made safe for Markdown.

The digest's Markdown is published as a Prefect artifact, which the UI renders: a unit name
or note holding ``<img onerror=…>`` or a ``|`` would become HTML or break a table.  Markdown
writers pass every value through :func:`escape_markdown`; their own markup stays in the
template.
"""

from __future__ import annotations

from typing import Any

_REPLACE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|"})


def escape_markdown(value: Any) -> Any:
    """HTML-escape a string and protect table pipes; other values pass unchanged."""
    return value.translate(_REPLACE) if isinstance(value, str) else value
