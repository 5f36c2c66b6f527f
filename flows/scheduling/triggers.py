"""When each job of plan.yaml's ``schedules`` fires: the one reading of the schedule that
both ``duban serve`` (APScheduler) and ``duban deploy`` (Prefect) use.

Two rules live here:

* cron lines mean what they mean in crontab: day-of-week ``1`` is Monday and ``0``/``7``
  Sunday.  APScheduler 3's ``CronTrigger.from_crontab`` reads ``1`` as *Tuesday*, so
  day-of-week fields are translated to names before APScheduler sees them.
* ``working_days_only`` jobs fire on working days of the plan's calendar (调休 included).
  A one-off ``at`` job that falls on a non-working day moves to the next working day at the
  same time — skipping it would mean it never runs.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from plan import schema
from plan.model import Plan
from plan.workdays import WorkCalendar

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 = Sunday
# How late a missed run may still start.  A cron job catches up within a day (a machine off
# overnight runs the morning's cycle once when it starts); a one-off job within a week.
CRON_GRACE = dt.timedelta(hours=24)
AT_GRACE = dt.timedelta(days=7)


def _weekday_number(token: str) -> int:
    token = token.strip().lower()
    if token[:3] in WEEKDAYS:
        return WEEKDAYS.index(token[:3])
    number = int(token)
    if not 0 <= number <= 7:
        raise ValueError(f"星期值 {token} 超出 0–7")
    return number % 7


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field as APScheduler day names (``1-5`` → ``mon,tue,…,fri``)."""
    if field.strip() in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        part, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if part in ("*", ""):
            first, last = 0, 6
        elif "-" in part:
            lo, hi = part.split("-", 1)
            first, last = _weekday_number(lo), _weekday_number(hi)
            if hi.strip() == "7":
                last = 7
        else:
            first = last = _weekday_number(part)
            if step_text:
                last = 6
        if last < first:
            last += 7
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(WEEKDAYS[day] for day in sorted(days, key=lambda d: (d + 6) % 7))


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    minute, hour, day, month, weekday = expression.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                       day_of_week=crontab_weekdays(weekday), timezone=timezone)


class WorkingDayTrigger(BaseTrigger):
    """Fires when the wrapped trigger does, but only on the plan's working days."""

    def __init__(self, trigger: BaseTrigger, calendar: schema.Calendar) -> None:
        self.trigger = trigger
        self.calendar = calendar
        self._work: WorkCalendar | None = None

    def __getstate__(self) -> dict[str, Any]:  # the job store pickles triggers
        return {"trigger": self.trigger, "calendar": self.calendar}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.trigger, self.calendar, self._work = state["trigger"], state["calendar"], None

    @property
    def work(self) -> WorkCalendar:
        if self._work is None:
            self._work = WorkCalendar(self.calendar)
        return self._work

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None,
                           now: dt.datetime) -> dt.datetime | None:
        fire = self.trigger.get_next_fire_time(previous_fire_time, now)
        for _ in range(3660):  # ten years of non-working days at most
            if fire is None or self.work.is_workday(fire.date()):
                return fire
            fire = self.trigger.get_next_fire_time(fire, fire)
        return None

    def __str__(self) -> str:
        return f"{self.trigger}（仅工作日）"

    def __repr__(self) -> str:
        return f"<WorkingDayTrigger {self.trigger!r}>"


def at_time(job: schema.Job, plan: Plan) -> dt.datetime:
    """When a one-off job runs: its ``at`` in the plan's time zone, moved to the next working
    day when it falls on a non-working day and the job is for working days only."""
    assert job.at is not None
    tz = zoneinfo.ZoneInfo(plan.schedules.timezone)
    at = job.at.replace(tzinfo=tz) if job.at.tzinfo is None else job.at.astimezone(tz)
    if job.working_days_only:
        work = WorkCalendar(plan.calendar)
        day = at.date()
        while not work.is_workday(day):
            day += dt.timedelta(days=1)
        at = at.replace(year=day.year, month=day.month, day=day.day)
    return at


def job_trigger(job: schema.Job, plan: Plan) -> BaseTrigger:
    if job.at is not None:
        return DateTrigger(run_date=at_time(job, plan), timezone=plan.schedules.timezone)
    assert job.cron is not None
    trigger: BaseTrigger = cron_trigger(job.cron, plan.schedules.timezone)
    return WorkingDayTrigger(trigger, plan.calendar) if job.working_days_only else trigger


def grace(job: schema.Job) -> dt.timedelta:
    return AT_GRACE if job.at is not None else CRON_GRACE


def signature(job: schema.Job, plan: Plan) -> str:
    """Everything that decides when and how a job runs; a stored job whose signature
    differs is rescheduled, an identical one keeps its next run time (and its misfires)."""
    when = at_time(job, plan).isoformat() if job.at is not None else job.cron
    params = ",".join(f"{k}={job.params[k]}" for k in sorted(job.params))
    calendar = plan.calendar.model_dump_json() if job.working_days_only else ""
    tz = plan.schedules.timezone
    return f"{job.flow}|{when}|{tz}|{job.working_days_only}|{params}|{calendar}"


def fire_times(job: schema.Job, plan: Plan, start: dt.datetime,
               end: dt.datetime) -> Iterator[dt.datetime]:
    """Every fire time of ``job`` in [start, end)."""
    trigger = job_trigger(job, plan)
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        if fire >= start:
            yield fire
        fire = trigger.get_next_fire_time(fire, fire)


def day_bounds(day: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    tz = zoneinfo.ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def next_fire(job: schema.Job, plan: Plan, now: dt.datetime) -> dt.datetime | None:
    """The next time ``job`` fires at or after ``now`` (None: a one-off job in the past)."""
    fire = job_trigger(job, plan).get_next_fire_time(None, now)
    if fire is not None and fire < now:  # DateTrigger answers its date whatever ``now`` is
        return None
    return fire


def describe(job: schema.Job) -> str:
    """The schedule in words, for ``duban jobs``."""
    if job.at is not None:
        return f"一次：{job.at:%Y-%m-%d %H:%M}"
    return f"cron {job.cron}" + ("（仅工作日）" if job.working_days_only else "")



def stale_catch_up(job: schema.Job, plan: Plan, now: dt.datetime) -> bool:
    """Whether running a cron job at ``now`` would only catch up an earlier day's missed run
    while the job still fires later today — then it should wait for today's run."""
    if job.at is not None:
        return False
    tz = zoneinfo.ZoneInfo(plan.schedules.timezone)
    today = now.astimezone(tz).date()
    missed = list(fire_times(job, plan, now - grace(job), now + dt.timedelta(microseconds=1)))
    if missed and missed[-1].astimezone(tz).date() == today:
        return False
    later = next_fire(job, plan, now + dt.timedelta(seconds=1))
    return later is not None and later.astimezone(tz).date() == today
