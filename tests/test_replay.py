"""``duban replay``: the cycle's sweep for every working day, on a scratch ledger."""

from __future__ import annotations

import datetime as dt
import json

from models.db import session_scope
from models.ledger import record_submission
from tests.conftest import table_snapshot


def _replay(cli, *args: str) -> dict:
    result = cli("replay", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_replay_uses_real_submissions_and_changes_nothing(synced, db_url, cli):
    with session_scope() as session:
        record_submission(session, unit_id="huangpu", milestone_id="work-plan",
                          submitted_on=dt.date(2024, 6, 3), source="cli", actor="测试员")
    before = table_snapshot(db_url)
    data = _replay(cli, "--from", "2024-06-03", "--to", "2024-06-14")
    assert table_snapshot(db_url) == before  # the real ledger is only read
    days = [d["date"] for d in data["days"]]
    # 06-08/09 weekend and 06-10 端午 are not working days
    assert days == ["2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06", "2024-06-07",
                    "2024-06-11", "2024-06-12", "2024-06-13", "2024-06-14"]
    assert data["submissions_copied"] == 1
    chased = {m["unit_id"] for d in data["days"] for m in d["messages"]
              if d["date"] == "2024-06-06" and m["kind"] == "unit-notice"}
    assert "xuhui" in chased and "huangpu" not in chased  # huangpu sent its work plan
    assert all(d["actually_sent"] == 0 for d in data["days"])


def test_replay_is_deterministic_and_prints_per_day(synced, cli):
    first = _replay(cli, "--from", "2024-07-01", "--to", "2024-07-12")
    second = _replay(cli, "--from", "2024-07-01", "--to", "2024-07-12")
    assert [d["messages"] for d in first["days"]] == [d["messages"] for d in second["days"]]
    text = cli("replay", "--from", "2024-07-08", "--to", "2024-07-08").output
    assert text.splitlines()[-1].startswith("2024-07-08 至 2024-07-08：1 个工作日，回放邮件 ")


def test_replay_refuses_a_reversed_period(workdir, cli):
    result = cli("replay", "--from", "2024-07-08", "--to", "2024-07-01")
    assert result.exit_code == 2
    assert "结束日期 2024-07-01 早于开始日期 2024-07-08" in result.output
