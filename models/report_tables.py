"""Tables of a feature module; imported by the migrations environment."""

from __future__ import annotations
