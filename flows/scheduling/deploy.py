"""``duban deploy``: plan.yaml's schedules as Prefect deployments on a process work pool.

The schedule section stays the one source of truth: each job becomes one deployment named
after the job id, with the schedule computed by :mod:`flows.scheduling.triggers` — the same
code ``duban serve`` runs:

* a cron job on every day → a Prefect cron schedule with the plan's time zone;
* a working-days-only cron job → an RRULE listing its fire times within the plan period
  (Prefect's cron cannot skip Chinese holidays or add make-up Saturdays);
* a one-off ``at`` job → an RRULE with that single date (moved off non-working days).

What the deployment does not carry: the plan path (``plan.yaml`` in the working directory,
``--workdir`` at deploy time, default the current directory), the database
(``DUBAN_DATABASE_URL`` in the worker's environment) and secrets (the SMTP password from
the worker's environment, or the Prefect Secret block ``duban-smtp-password`` when it
exists).  Flows are imported by module path, so a worker needs duban installed, not a copy
of the source.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.scheduling import triggers
from flows.scheduling.serve import FLOW_PATHS
from plan import schema
from plan.model import Plan

MAX_RRULE = 6000  # Prefect refuses RRULE strings over 6500 characters
SMTP_SECRET_BLOCK = "duban-smtp-password"
TAGS = ["duban"]


@dataclass(frozen=True)
class ScheduleSpec:
    cron: str | None = None
    rrule: str | None = None
    timezone: str = "Asia/Shanghai"

    def as_yaml(self) -> dict[str, Any]:
        key = "cron" if self.cron else "rrule"
        return {key: self.cron or self.rrule, "timezone": self.timezone, "active": True}


@dataclass
class DeploymentSpec:
    name: str
    flow: str
    entrypoint: str  # module path, e.g. flows.cycle:cycle
    parameters: dict[str, Any]
    schedules: list[ScheduleSpec]
    description: str
    job_variables: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"


def _local(moment: dt.datetime, tz: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(tz)).strftime("%Y%m%dT%H%M%S")


def rdate_rules(times: list[dt.datetime], tz: str) -> list[str]:
    """RRULE strings listing ``times`` (local, as Prefect reads them), each short enough."""
    rules: list[str] = []
    chunk: list[str] = []
    for moment in times:
        chunk.append(_local(moment, tz))
        if len(chunk) * 16 > MAX_RRULE:
            rules.append(f"DTSTART:{chunk[0]}\nRDATE:{','.join(chunk)}")
            chunk = []
    if chunk:
        rules.append(f"DTSTART:{chunk[0]}\nRDATE:{','.join(chunk)}")
    return rules


def job_schedules(job: schema.Job, plan: Plan, *, since: dt.date) -> list[ScheduleSpec]:
    """Prefect schedules firing exactly when ``duban serve`` would, from ``since`` on."""
    tz = plan.schedules.timezone
    if job.cron is not None and not job.working_days_only:
        return [ScheduleSpec(cron=job.cron, timezone=tz)]
    start = dt.datetime.combine(max(since, plan.meta.period.start), dt.time(),
                                tzinfo=zoneinfo.ZoneInfo(tz))
    end = dt.datetime.combine(plan.meta.period.end + dt.timedelta(days=1), dt.time(),
                              tzinfo=zoneinfo.ZoneInfo(tz))
    if job.at is not None:  # a one-off job keeps its date even outside the plan period
        at = triggers.at_time(job, plan)
        times = [at] if at.date() >= since else []
    else:
        times = list(triggers.fire_times(job, plan, start, end))
    return [ScheduleSpec(rrule=rule, timezone=tz) for rule in rdate_rules(times, tz)]


def deployment_specs(plan: Plan, *, workdir: Path, since: dt.date,
                     smtp_secret: bool = False) -> list[DeploymentSpec]:
    specs = []
    for job in plan.schedules.jobs:
        variables: dict[str, Any] = {"working_dir": str(workdir.resolve())}
        if smtp_secret:
            variables["env"] = {"DUBAN_SMTP_PASSWORD":
                                "{{ prefect.blocks.secret." + SMTP_SECRET_BLOCK + " }}"}
        specs.append(DeploymentSpec(
            name=job.id, flow=job.flow, entrypoint=FLOW_PATHS[job.flow],
            parameters=dict(job.params), schedules=job_schedules(job, plan, since=since),
            description=f"plan.yaml schedules.jobs[{job.id}]：{triggers.describe(job)}",
            job_variables=variables))
    return specs


def prefect_yaml(specs: list[DeploymentSpec], *, pool: str, workdir: Path) -> dict[str, Any]:
    """The same deployments as a ``prefect.yaml`` for ``prefect deploy --all``."""
    return {
        "name": "duban",
        "prefect-version": _prefect_version(),
        "pull": [],
        "deployments": [{
            "name": spec.name,
            "entrypoint": _file_entrypoint(spec.entrypoint, workdir),
            "description": spec.description,
            "tags": TAGS,
            "parameters": spec.parameters,
            "schedules": [s.as_yaml() for s in spec.schedules],
            "work_pool": {"name": pool, "job_variables": spec.job_variables},
        } for spec in specs],
    }


def _file_entrypoint(module_path: str, workdir: Path) -> str:
    """``flows.cycle:cycle`` → ``flows/cycle.py:cycle`` (``prefect deploy`` wants a file),
    relative to the working directory when the source is there, else absolute."""
    import importlib.util

    module, _, name = module_path.partition(":")
    spec = importlib.util.find_spec(module)
    origin = Path(spec.origin) if spec and spec.origin else Path(module.replace(".", "/") + ".py")
    if origin.resolve().is_relative_to(workdir.resolve()):
        origin = origin.resolve().relative_to(workdir.resolve())
    return f"{origin}:{name}"


def _prefect_version() -> str:
    from importlib.metadata import version

    return version("prefect")


def smtp_secret_exists() -> bool:
    from prefect.blocks.system import Secret

    try:
        Secret.load(SMTP_SECRET_BLOCK)
    except ValueError:
        return False
    return True


def apply(specs: list[DeploymentSpec], *, pool: str) -> list[str]:
    """Register ``specs`` on the Prefect server in ``PREFECT_API_URL``; returns their ids."""
    from prefect.client.schemas.schedules import CronSchedule, RRuleSchedule
    from prefect.deployments.runner import EntrypointType

    from flows.scheduling.serve import resolve

    ids = []
    for spec in specs:
        flow = resolve(spec.entrypoint)
        schedules = [CronSchedule(cron=s.cron, timezone=s.timezone) if s.cron
                     else RRuleSchedule(rrule=s.rrule or "", timezone=s.timezone)
                     for s in spec.schedules]
        deployment = flow.to_deployment(  # type: ignore[attr-defined]
            name=spec.name, schedules=schedules, parameters=spec.parameters,
            description=spec.description, tags=TAGS, job_variables=spec.job_variables,
            entrypoint_type=EntrypointType.MODULE_PATH)
        ids.append(str(deployment.apply(work_pool_name=pool)))
    return ids
