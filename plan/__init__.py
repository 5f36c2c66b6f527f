"""plan.yaml: loading, validation, expansion, the working-day calendar and the rules."""

from plan.errors import DubanError, PlanError, Problem
from plan.loader import load_plan
from plan.model import ConcreteMilestone, Obligation, Plan

__all__ = ["ConcreteMilestone", "DubanError", "Obligation", "Plan", "PlanError", "Problem",
           "load_plan"]
