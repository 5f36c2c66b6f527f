"""Commands of a later issue; registered on the app."""

from __future__ import annotations

from flows.cli import app  # noqa: F401
