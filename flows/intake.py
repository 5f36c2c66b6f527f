"""The ``intake-inbox`` flow: the inbox as one coarse Prefect step.

``process_inbox`` (plain, no Prefect) is re-exported here for ``duban run``, which calls
it before the sweep so that a unit that sent its summary is not chased.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.console import actor as current_actor
from flows.console import resolve_today
from flows.inbox import InboxReport, process_inbox
from flows.prefect_env import configure_prefect
from models.db import var_dir
from plan import load_plan

configure_prefect()

from prefect import flow  # noqa: E402  (after the quiet defaults)

__all__ = ["InboxReport", "intake_inbox", "process_inbox"]


@flow(name="intake-inbox", log_prints=False, persist_result=False)
def intake_inbox(plan_path: str = "plan.yaml", inbox: str | None = None,
                 today: str | None = None) -> dict[str, Any]:
    """Record what units dropped in the inbox; unmatched files go to unmatched/ with a reason."""
    report = process_inbox(plan=load_plan(plan_path), inbox_dir=Path(inbox) if inbox else var_dir() / "inbox",
                           today=resolve_today(today), actor=current_actor())
    return report.as_json()
