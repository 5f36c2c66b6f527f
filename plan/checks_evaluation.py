"""Cross checks for the evaluation and requests sections (issue #5)."""

from __future__ import annotations

from typing import Any


def check(checker: Any) -> None:
    """Called by CrossChecker.run with the checker (use checker.error / checker.warn)."""
