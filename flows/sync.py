"""The ``sync-plan`` flow: plan.yaml → ledger, in one transaction."""

from __future__ import annotations

from typing import Any

from flows.prefect_env import configure_prefect

configure_prefect()

from prefect import flow  # noqa: E402

from flows.steps import sync_step  # noqa: E402
from plan import load_plan  # noqa: E402


@flow(name="sync-plan", log_prints=False, persist_result=False)
def sync_plan(plan_path: str = "plan.yaml", actor: str = "duban sync") -> dict[str, Any]:
    """Load and validate plan.yaml, then add/update/archive ledger rows to match it."""
    return sync_step(load_plan(plan_path), actor=actor)
