"""plan.yaml sections for evaluation (通报表扬/通报批评) and requests (请示 → 批复) — issue #5.

Registered in plan.schema.SECTIONS; cross checks live in plan.checks_evaluation.
Every key has a default so a plan without these sections still loads; the defaults are
the values shipped in plan.yaml.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from plan.schema import Id, Name, Period, RungKind, Strict

Points = float


class LateRule(Strict):
    """逾期报送: points off per working day late, capped per obligation."""

    per_day: Points = Field(default=1, ge=0)
    max: Points = Field(default=10, ge=0)


class MissingRule(Strict):
    """截至评估日仍未报送: a fixed deduction plus per working day overdue, capped."""

    points: Points = Field(default=10, ge=0)
    per_day: Points = Field(default=1, ge=0)
    max: Points = Field(default=30, ge=0)


class RungRule(Strict):
    """Points off for the highest rung an obligation reached (counted once per obligation)."""

    chase: Points = Field(default=0, ge=0)
    supervise: Points = Field(default=3, ge=0)
    interview: Points = Field(default=6, ge=0)


class StatsRule(Strict):
    """行政保护案件统计表 of the period: not sent / sent with blank or invalid cells."""

    missing: Points = Field(default=5, ge=0)
    incomplete: Points = Field(default=3, ge=0)


class ReviewRule(Strict):
    """整改复查 outcome of an earlier evaluation."""

    failed: Points = Field(default=10, ge=0)


class Rules(Strict):
    late: LateRule = Field(default_factory=LateRule)
    missing: MissingRule = Field(default_factory=MissingRule)
    rungs: RungRule = Field(default_factory=RungRule)
    stats_table: StatsRule = Field(default_factory=StatsRule)
    review: ReviewRule = Field(default_factory=ReviewRule)


class Commend(Strict):
    """通报表扬: units at or above ``min_score`` with a clean record, best ``max_units``."""

    min_score: Points = Field(default=100, ge=0)
    max_units: int = Field(default=5, ge=0)


class Criticise(Strict):
    """通报批评: units below ``below``, or with any obligation that reached ``rung``."""

    below: Points = Field(default=80, ge=0)
    rung: RungKind | None = "interview"


class Deadline(Strict):
    """A deadline counted from the evaluation date (working days, per calendar.count)."""

    within: int = Field(default=20, ge=1, le=250)


class Evaluation(Strict):
    """Scoring rules, thresholds and rectification deadlines."""

    scope: list[Id] = Field(default_factory=lambda: ["reporting-units"])
    base: Points = Field(default=100, ge=0)
    rules: Rules = Field(default_factory=Rules)
    commend: Commend = Field(default_factory=Commend)
    criticise: Criticise = Field(default_factory=Criticise)
    rectification: Deadline = Field(default_factory=lambda: Deadline(within=20))
    interview: Deadline = Field(default_factory=lambda: Deadline(within=10))
    # Optional last due date counted per period (default: everything due by the evaluation date).
    cutoff: dict[Period, dt.date] = Field(default_factory=dict)
    signer: Name | None = None  # 落款; None: the plan's issuer (plan.issuer)
    # 附注（此件主动公开） on the 通报; the plan's own notice was published, so true by default.
    public: bool = True
    # 抄送 line of the 版记; none when the 通报 goes only to the 主送 units.
    cc: Name | None = None


class Requests(Strict):
    """Reply and follow-up deadlines for units' requests for instructions."""

    division: Id = "protection-division"
    reply_within: int = Field(default=10, ge=1, le=250)
    follow_up_within: int = Field(default=20, ge=1, le=250)
