"""The ``sync-plan`` flow: plan.yaml → ledger, in one transaction."""

from __future__ import annotations

from typing import Any

from prefect import flow

from models.db import session_scope
from models.sync import sync_ledger
from plan import load_plan


@flow(name="sync-plan", log_prints=False, persist_result=False)
def sync_plan(plan_path: str = "plan.yaml", actor: str = "duban sync") -> dict[str, Any]:
    """Load and validate plan.yaml, then add/update/archive ledger rows to match it."""
    plan = load_plan(plan_path)
    with session_scope() as session:
        diff = sync_ledger(session, plan, actor=actor)
    return {"added": diff.added, "changed": diff.changed, "archived": diff.archived,
            "restored": diff.restored}
