"""The ``evaluate`` flow: proposed 通报表扬 / 通报批评 lists for a period, as a Prefect run.

Thin: the work is :func:`flows.report_jobs.run_evaluation`; this adds a Markdown artifact
(key ``evaluation-<period>``) so each evaluation stays visible in the Prefect UI.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.prefect_env import configure_prefect

configure_prefect()

from prefect import flow  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402

from flows.report_jobs import run_evaluation  # noqa: E402


@flow(name="evaluate", log_prints=False, persist_result=False)
def evaluate(plan_path: str = "plan.yaml", period: str = "half-year", today: str | None = None,
             actor: str = "duban evaluate", include: list[str] | None = None,
             exclude: list[str] | None = None, target: str | None = None,
             reason: str | None = None) -> dict[str, Any]:
    """Score units for ``period`` as of ``today`` and write the draft notices."""
    from flows.clock import today_in_shanghai

    day = dt.date.fromisoformat(today) if today else today_in_shanghai()
    result = run_evaluation(plan_path=plan_path, period=period, today=day, actor=actor,
                            include=include, exclude=exclude, target=target, reason=reason)
    create_markdown_artifact(key=f"evaluation-{period}", markdown=result.markdown,
                             description=f"{period} 评估建议名单 {day}")
    return result.as_json()
