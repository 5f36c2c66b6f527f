"""``duban jobs``: next run times from plan.yaml's schedules, last runs, who serves."""

from __future__ import annotations

import datetime as dt
import json

from models.db import session_scope
from models.schedule import acquire_lease, claim_run, finish_run


def _jobs(cli, *args: str) -> dict:
    result = cli("jobs", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_next_runs_follow_the_working_day_calendar(workdir, cli):
    data = _jobs(cli, "--today", "2024-06-08")  # Saturday before 端午 (Monday 06-10)
    nxt = {job["id"]: job["next_run"] for job in data["jobs"]}
    assert nxt == {
        "cycle": "2024-06-11T09:00:00+08:00",  # skips Sunday and the holiday Monday
        "digest": "2024-06-10T08:30:00+08:00",  # crontab 1 = Monday, holiday or not
        "evaluate-half-year": "2024-07-22T10:00:00+08:00",  # Saturday 07-20 moved to Monday
        "evaluate-annual": "2024-12-20T10:00:00+08:00",
    }
    assert data["serve"] is None and data["timezone"] == "Asia/Shanghai"
    saturday = {j["id"]: j["next_run"] for j in _jobs(cli, "--today", "2024-09-14")["jobs"]}
    assert saturday["cycle"] == "2024-09-14T09:00:00+08:00"  # make-up working Saturday
    after = {j["id"]: j["next_run"] for j in _jobs(cli, "--today", "2024-12-21")["jobs"]}
    assert after["evaluate-annual"] is None


def test_last_run_and_serve_holder_are_shown(workdir, cli):
    with session_scope() as session:
        claim_run(session, job_id="digest", flow="digest", run_date=dt.date(2024, 7, 8),
                  host="h", pid=1)
        finish_run(session, job_id="digest", run_date=dt.date(2024, 7, 8), error="RuntimeError: 坏了")
        acquire_lease(session, token="t", host="serve-host", pid=777, ttl=dt.timedelta(seconds=90))
    data = _jobs(cli, "--today", "2024-07-09")
    digest = next(j for j in data["jobs"] if j["id"] == "digest")
    assert digest["last_run"] == {"date": "2024-07-08", "state": "failed", "error": "RuntimeError: 坏了"}
    assert (data["serve"]["host"], data["serve"]["pid"]) == ("serve-host", 777)
    text = cli("jobs", "--today", "2024-07-09").output
    assert "2024-07-08 失败" in text
    assert "duban serve 正在运行：主机 serve-host，进程 777" in text
