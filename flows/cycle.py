"""The ``cycle`` flow: sync → mail → inbox → sweep → deliver as coarse Prefect tasks.

Never a task per ledger entry: each step is set-based (see flows.steps).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.prefect_env import configure_prefect

configure_prefect()

from prefect import flow, task  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402

from flows import steps  # noqa: E402
from plan import load_plan  # noqa: E402

intake_task = task(name="intake")(steps.intake_step)
mail_task = task(name="mail")(steps.mail_step)
sync_task = task(name="sync")(steps.sync_step)
sweep_task = task(name="sweep")(steps.sweep_step)
deliver_task = task(name="deliver")(steps.deliver_step)


@flow(name="cycle", log_prints=False, persist_result=False)
def cycle(plan_path: str = "plan.yaml", today: str | None = None, inbox: str | None = None,
          actor: str = "duban run") -> dict[str, Any]:
    """One supervision cycle as of ``today`` (YYYY-MM-DD; default: today in Shanghai)."""
    from flows.clock import today_in_shanghai

    day = dt.date.fromisoformat(today) if today else today_in_shanghai()
    # quote(): Prefect must not walk the whole plan to record task parameters.
    plan: Any = quote(load_plan(plan_path))
    return {
        "today": day.isoformat(),
        # Sync first so the inbox can match files against an up-to-date ledger.
        "sync": sync_task(plan, actor=actor),
        # The contact mailbox before the inbox: both feed the same 回执 of this run.
        "mail": mail_task(plan, today=day, actor=actor),
        "intake": intake_task(plan, today=day, inbox=inbox, actor=actor),
        "sweep": sweep_task(plan, today=day, inbox=inbox),
        "deliver": deliver_task(plan, today=day),
    }
