"""Supervision-cycle commands (run, preview, outbox) — issue #3."""

from __future__ import annotations

from flows.cli import app  # noqa: F401
