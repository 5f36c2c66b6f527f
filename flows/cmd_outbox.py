"""Outbox commands (duban outbox, duban outbox retry) — issue #3."""

from __future__ import annotations

from flows.cli import app  # noqa: F401
