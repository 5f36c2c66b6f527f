"""The ``digest`` flow: the leadership digest as of a date, plus its Prefect artifacts.

Thin: the work is :func:`flows.report_jobs.run_digest`; this adds artifacts with stable
keys so the Prefect UI keeps the digest's history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.prefect_env import configure_prefect

configure_prefect()

from prefect import flow  # noqa: E402
from prefect.artifacts import (  # noqa: E402
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)

from flows.report_jobs import run_digest  # noqa: E402

OVERVIEW_KEY = "digest-overview"
UNITS_KEY = "digest-units"
PROGRESS_KEY = "digest-progress"


@flow(name="digest", log_prints=False, persist_result=False)
def digest(plan_path: str = "plan.yaml", today: str | None = None, email: bool = True) -> dict[str, Any]:
    """Leadership digest as of ``today`` (YYYY-MM-DD; default: today in Shanghai)."""
    from flows.clock import today_in_shanghai

    day = dt.date.fromisoformat(today) if today else today_in_shanghai()
    result = run_digest(plan_path=plan_path, today=day, email=email)
    create_markdown_artifact(key=OVERVIEW_KEY, markdown=result.markdown,
                             description=f"督办简报 {day}")
    create_table_artifact(key=UNITS_KEY, table=result.units_table, description=f"各单位情况 {day}")
    create_progress_artifact(key=PROGRESS_KEY, progress=round(result.progress * 100, 1),
                             description=f"方案整体完成比例 {day}")
    return result.summary
