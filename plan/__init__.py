"""plan.yaml: loading, validation, expansion, the working-day calendar and the rules.

The names below are loaded on first use: importing the loader pulls in pydantic and the
schema (~0.2 s), which a command that only needs ``plan.errors`` or the file's bytes
(an unchanged ``duban sync``) should not pay.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plan.errors import DubanError, PlanError, Problem
    from plan.loader import load_plan
    from plan.model import ConcreteMilestone, Obligation, Plan

__all__ = ["ConcreteMilestone", "DubanError", "Obligation", "Plan", "PlanError", "Problem",
           "load_plan"]
_HOME = {"DubanError": "plan.errors", "PlanError": "plan.errors", "Problem": "plan.errors",
         "load_plan": "plan.loader", "ConcreteMilestone": "plan.model", "Obligation": "plan.model",
         "Plan": "plan.model"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'plan' has no attribute {name!r}")
