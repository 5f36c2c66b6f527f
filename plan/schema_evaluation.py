"""plan.yaml sections for evaluation (通报表扬/通报批评) and requests (请示 → 批复) — issue #5.

Registered in plan.schema.SECTIONS; cross checks live in plan.checks_evaluation.
"""

from __future__ import annotations

from plan.schema import Strict


class Evaluation(Strict):
    """Scoring rules, thresholds and rectification deadlines (filled in by issue #5)."""


class Requests(Strict):
    """Reply and follow-up deadlines for units' requests for instructions (issue #5)."""
