"""The ``deliver`` flow: send what the outbox holds (SMTP, or .eml files in var/outbox/).

Thin on purpose: one flow, no task per message (STACK-NOTES: a task run costs
milliseconds and the server records ~50 a second).
"""

from __future__ import annotations

import datetime as dt

from flows.prefect_env import configure_prefect

configure_prefect()

from prefect import flow  # noqa: E402

from models.db import get_engine, migrate  # noqa: E402
from notifications.delivery import deliver_pending  # noqa: E402
from notifications.transport import transport_from_env  # noqa: E402


def parse_now(now_iso: str | None) -> dt.datetime:
    """An ISO timestamp (UTC when it has no zone), or the current time."""
    if not now_iso:
        return dt.datetime.now(dt.UTC)
    value = dt.datetime.fromisoformat(now_iso)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@flow(name="deliver", log_prints=False, persist_result=False)
def deliver(now_iso: str | None = None) -> dict[str, int | str | None]:
    """Send every due message in the outbox; returns sent / failed / retrying / skipped."""
    transport = transport_from_env()  # settings errors surface before anything is claimed
    engine = get_engine()
    migrate(engine)
    report = deliver_pending(engine_or_session_factory=engine, transport=transport,
                             now=parse_now(now_iso))
    return report.as_json()
