"""Building ahead in a helper process (notifications/build_ahead.py, issue #13): every
claimed message is sent once, in claim order, with the bytes this process would have built;
when the helper fails the rest is built here, with a warning in the log."""

from __future__ import annotations

import collections
import datetime as dt
import logging
import multiprocessing
import os
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from models.db import get_engine, session_scope
from notifications import build_ahead, delivery
from notifications.build_ahead import Builder, Built, build
from notifications.compose import outbox_row
from notifications.delivery import DeliveryReport, deliver_pending
from notifications.transport import transport_from_env
from tests.test_notifications_samples import NOW, SENDER, many_unit_notices, outbox_rows

if TYPE_CHECKING:
    from tests.smtp_server import SmtpServer

pytest_plugins = ["tests.smtp_server"]

CRASH_AT = 63  # the row id at which the helper dies (after build_ahead.HEAD)


def crash_in_helper(row: Any) -> Built:
    """The helper's builder in the failure tests: dies at row CRASH_AT, in the helper only."""
    if multiprocessing.parent_process() is not None and row.id == CRASH_AT:
        os._exit(3)
    return build(row)


def claimed_rows(count: int) -> list[SimpleNamespace]:
    """Rows as delivery claims them: stored notices, rendered when built."""
    created = dt.datetime(2024, 7, 15, 1, 0, tzinfo=dt.UTC)
    return [SimpleNamespace(**outbox_row(n, sender=SENDER), id=i + 1, created_at=created,
                            attachments=[])
            for i, n in enumerate(many_unit_notices(count))]


def test_the_helper_builds_every_row_once_in_order_with_the_same_bytes() -> None:
    rows = claimed_rows(120)
    builder = Builder(threshold=10)
    try:
        built = list(builder.built(rows))
        again = list(builder.built(rows[:60]))  # the same helper, a second batch
    finally:
        builder.close()
    assert [b.row_id for b in built] == [r.id for r in rows]
    assert [b.row_id for b in again] == [r.id for r in rows[:60]]
    here = [build(r) for r in rows]
    assert [b.data for b in built] == [b.data for b in here]
    assert all(b.data and b.failure is None for b in built)


def test_small_batches_build_here_without_a_helper() -> None:
    builder = Builder()
    assert len(claimed_rows(5)) < build_ahead.BUILD_AHEAD_FROM
    assert [b.row_id for b in builder.built(claimed_rows(5))] == [1, 2, 3, 4, 5]
    assert builder._executor is None


def test_a_dead_helper_falls_back_to_building_here(caplog: pytest.LogCaptureFixture) -> None:
    rows = claimed_rows(100)
    builder = Builder(remote=crash_in_helper, threshold=10)
    with caplog.at_level(logging.WARNING, logger="duban.delivery"):
        try:
            built = list(builder.built(rows))
            later = list(builder.built(rows[:20]))  # the rest of the run stays in-process
        finally:
            builder.close()
    assert [b.row_id for b in built] == [r.id for r in rows]  # none lost, none twice
    assert [b.data for b in built] == [build(r).data for r in rows]
    assert [b.row_id for b in later] == list(range(1, 21))
    [warning] = [r for r in caplog.records if "辅助进程出错" in r.getMessage()]
    assert "BrokenProcessPool" in warning.getMessage() and "改在主进程组装" in warning.getMessage()


def test_a_row_that_cannot_be_rendered_fails_alone() -> None:
    rows = claimed_rows(30)
    rows[4].notice = {"broken": True}
    builder = Builder(threshold=10)
    try:
        built = list(builder.built(rows))
    finally:
        builder.close()
    assert [b.row_id for b in built] == [r.id for r in rows]
    assert built[4].data is None and built[4].failure.startswith("邮件内容无法生成")
    assert all(b.data for i, b in enumerate(built) if i != 4)


def queue_stored_notices(count: int) -> list[str]:
    from models import outbox

    with session_scope() as session:
        return outbox.queue(session, [outbox_row(n, sender=SENDER) for n in many_unit_notices(count)])


@pytest.mark.parametrize("remote", ["helper", "helper dies"])
def test_delivery_with_a_helper_sends_each_message_once_in_order(
        remote: str, workdir, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(build_ahead, "BUILD_AHEAD_FROM", 10)
    started: list[Builder] = []
    original = Builder._start

    def spy(self: Builder) -> Any:
        started.append(self)
        return original(self)

    monkeypatch.setattr(Builder, "_start", spy)
    if remote == "helper dies":
        monkeypatch.setattr(delivery, "Builder", lambda: Builder(remote=crash_in_helper))
    keys = queue_stored_notices(150)
    with caplog.at_level(logging.WARNING, logger="duban.delivery"):
        report = deliver_pending(engine_or_session_factory=get_engine(),
                                 transport=transport_from_env(), now=NOW, batch=70)
    assert report == DeliveryReport(sent=150)
    assert started  # the helper was used
    rows = {r.key: r for r in outbox_rows()}
    assert {r.state for r in rows.values()} == {"sent"}
    sent_ids = smtp_server.handler.message_ids()
    assert sent_ids == [rows[k].message_id for k in keys]  # claim order, each once
    assert set(collections.Counter(sent_ids).values()) == {1}
    # The bytes on the wire are the ones this process builds.
    assert smtp_server.received[40].data.rstrip(b"\r\n") == build(rows[keys[40]]).data.rstrip(b"\r\n")
    warned = [r for r in caplog.records if "辅助进程出错" in r.getMessage()]
    assert len(warned) == (1 if remote == "helper dies" else 0)


def test_postgres_sent_records_do_not_leave_synchronous_commit_off(workdir, smtp_server: SmtpServer) -> None:
    """The sent record's commit skips the WAL flush only inside its own transaction (SET
    LOCAL): no connection goes back to the pool with synchronous_commit off.  (That the
    record survives the sender's death is tests/test_delivery_processes.py's kill test.)"""
    from sqlalchemy import text

    from models import outbox

    engine = get_engine()
    queue_stored_notices(3)
    report = deliver_pending(engine_or_session_factory=engine, transport=transport_from_env(), now=NOW)
    assert report == DeliveryReport(sent=3)
    with session_scope() as session:
        recorder = outbox.SentRecorder(session)
        expected = "SET LOCAL synchronous_commit TO OFF" if engine.dialect.name == "postgresql" else None
        assert recorder._before == expected
        # psycopg 3 sends SET LOCAL and the UPDATE in one round trip
        assert (recorder._client_cursor is not None) == (engine.dialect.name == "postgresql")
    if engine.dialect.name == "postgresql":
        for _ in range(engine.pool.size()):
            with engine.connect() as conn:
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"


UNGUARDED = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
with open({marker!r}, "a") as f:  # top level, no __main__ guard: must run once
    f.write("ran\\n")
from notifications.build_ahead import Builder
from tests.test_delivery_build_ahead import claimed_rows
builder = Builder(threshold=10)
built = list(builder.built(claimed_rows(80)))
builder.close()
print(len(built), len({{b.row_id for b in built}}), builder._broken)
"""


def test_the_helper_does_not_rerun_an_unguarded_main_script(tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    marker = tmp_path / "ran.txt"
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(root=root, marker=str(marker)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["80", "80", "False"]  # built by the helper, no fallback
    assert marker.read_text() == "ran\n"
