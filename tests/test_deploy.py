"""``duban deploy``: Prefect deployments from plan.yaml's schedules, firing exactly when
``duban serve`` would."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from pathlib import Path

import yaml

from flows.scheduling.deploy import deployment_specs
from plan.workdays import WorkCalendar

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def _server_dates(spec) -> list[dt.datetime]:
    """What Prefect's own scheduler makes of our schedules."""
    from prefect.server.schemas.schedules import CronSchedule, RRuleSchedule

    dates: list[dt.datetime] = []
    for s in spec.schedules:
        schedule = (CronSchedule(cron=s.cron, timezone=s.timezone) if s.cron
                    else RRuleSchedule(rrule=s.rrule, timezone=s.timezone))
        dates += asyncio.run(schedule.get_dates(
            n=400, start=dt.datetime(2024, 5, 1, tzinfo=SH), end=dt.datetime(2025, 1, 1, tzinfo=SH)))
    return [d.astimezone(SH).replace(tzinfo=SH) for d in dates]


def test_deployments_fire_on_the_plans_working_days(plan, tmp_path):
    specs = {s.name: s for s in deployment_specs(plan, workdir=tmp_path, since=dt.date(2024, 5, 14))}
    assert list(specs) == ["cycle", "digest", "evaluate-half-year", "evaluate-annual"]
    cycle = specs["cycle"]
    assert (cycle.flow, cycle.entrypoint, cycle.parameters) == ("cycle", "flows.cycle:cycle", {})
    assert cycle.job_variables == {"working_dir": str(tmp_path.resolve())}
    calendar = WorkCalendar(plan.calendar)
    expected = [dt.datetime(2024, 5, 14, 9, tzinfo=SH) + dt.timedelta(days=n) for n in range(232)]
    expected = [d for d in expected if calendar.is_workday(d.date())]
    dates = _server_dates(cycle)
    assert dates == expected
    assert dt.datetime(2024, 9, 14, 9, tzinfo=SH) in dates  # make-up Saturday
    assert dt.datetime(2024, 6, 10, 9, tzinfo=SH) not in dates  # 端午

    digest = specs["digest"]
    assert [(s.cron, s.timezone) for s in digest.schedules] == [("30 8 * * 1", "Asia/Shanghai")]
    assert {d.weekday() for d in _server_dates(digest)} == {0}  # Mondays, as in crontab

    half = specs["evaluate-half-year"]
    assert half.parameters == {"period": "half-year"}
    assert _server_dates(half) == [dt.datetime(2024, 7, 22, 10, tzinfo=SH)]  # off Saturday


def test_only_future_runs_are_listed(plan, tmp_path):
    specs = {s.name: s for s in deployment_specs(plan, workdir=tmp_path, since=dt.date(2024, 12, 21))}
    assert specs["evaluate-annual"].schedules == []  # past: manual runs only
    assert _server_dates(specs["cycle"])[0] == dt.datetime(2024, 12, 23, 9, tzinfo=SH)


def test_smtp_secret_block_is_wired_into_the_worker_environment(plan, tmp_path):
    spec = deployment_specs(plan, workdir=tmp_path, since=dt.date(2024, 5, 14), smtp_secret=True)[0]
    assert spec.job_variables["env"] == {
        "DUBAN_SMTP_PASSWORD": "{{ prefect.blocks.secret.duban-smtp-password }}"}


def test_write_prefect_yaml(workdir, cli):
    result = cli("deploy", "--write-prefect-yaml", "--pool", "duban-pool", "--today", "2024-07-01")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"已写入 {workdir / 'prefect.yaml'}：4 个部署。"
                                     "在该目录运行 prefect deploy --all 注册。")
    data = yaml.safe_load((workdir / "prefect.yaml").read_text(encoding="utf-8"))
    names = [d["name"] for d in data["deployments"]]
    assert names == ["cycle", "digest", "evaluate-half-year", "evaluate-annual"]
    first = data["deployments"][0]
    assert first["work_pool"] == {"name": "duban-pool",
                                  "job_variables": {"working_dir": str(workdir.resolve())}}
    path, _, name = first["entrypoint"].partition(":")
    assert name == "cycle" and Path(path).is_absolute() and Path(path).name == "cycle.py"
    assert first["schedules"][0]["timezone"] == "Asia/Shanghai"
    assert "RDATE:20240701T090000," in first["schedules"][0]["rrule"]


def test_deploy_needs_a_prefect_server(workdir, cli, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = cli("deploy")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "错误：没有设置 PREFECT_API_URL，不知道把部署注册到哪个 Prefect 服务器",
        "提示：先运行 prefect server start，再 export PREFECT_API_URL=http://127.0.0.1:4200/api"]
