"""The shape of plan.yaml, declared once.

These pydantic models check types and required keys; cross-references (unknown
units, duplicate ids, dates outside the plan period…) are checked in
:mod:`plan.checks`.  Field names here are the keys coordinators write.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from plan.addresses import is_address

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
# Ids become file names (dashboard pages units/<id>.html) and bounded database columns
# (unit.id 64, rung ids joined into outbox keys of 255): longer ids crash later stages.
MAX_ID = 40
# A unit's name is part of file names (督办单…（name）.docx, <id>-<name>-工作台账.xlsx); at 3
# bytes per Chinese character, 50 keeps them under the 255-byte limit of common file systems.
MAX_UNIT_NAME = 50

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=MAX_ID)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# Line breaks and tabs: a name or title ends up in mail headers, Excel cells, XML and
# PostgreSQL text; other control characters are already refused by plan.source.
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")


# Invisible format characters (zero-width space, bidi overrides, BOM, soft hyphen…), usually
# pasted from web pages: a name holding one looks right but never matches a file or mail
# naming the unit, and a bidi override can reorder what a 通报 shows.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")


def _one_line(value: str) -> str:
    if _BREAKS.search(value):
        raise PydanticCustomError("one_line", "a name must be one line")
    found = _INVISIBLE.search(value)
    if found:
        raise PydanticCustomError("invisible_char", "invisible character U+{code}",
                                  {"code": f"{ord(found.group()):04X}"})
    return value


def _address(value: str) -> str:
    if not is_address(value):
        raise PydanticCustomError("email_address", "not a plain email address")
    return value


# Names and titles: one line of text (units, groups, tasks, milestones, reports, people).
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_one_line)]
UnitName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_UNIT_NAME),
                     AfterValidator(_one_line)]
# The same address rule as the sender (notifications.compose.check_address).
Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_address)]

# Documented bounds (README, plan.yaml): ladder offsets in days, task/section numbers, and
# the years any date may fall in (the plan period lies inside them; every other date
# inside the plan period).
MAX_OFFSET = 250
MAX_NUMBER = 9999
MAX_OCCURRENCES = 260  # a recurring milestone: five years of weeks
FIRST_YEAR, LAST_YEAR = 2000, 2100

UnitKind = Literal["district", "special-area", "division", "centre"]
ContactRole = Literal["责任人", "联系人"]
RungKind = Literal["remind", "chase", "supervise", "interview"]
# What each kind is called in what people read (run summaries, replay, scores, the digest).
RUNG_KIND_NAMES: dict[str, str] = {"remind": "提醒", "chase": "催办", "supervise": "督办", "interview": "约谈建议"}
Audience = Literal["unit", "lead", "coordinator", "leadership"]
MilestoneKind = Literal["progress", "event", "campaign", "deadline"]
Period = Literal["half-year", "annual"]
FileFormat = Literal["word", "pdf-stamped", "pdf", "xlsx"]
FlowName = Literal["cycle", "digest", "evaluate"]
# Where a date comes from: the notice states it (seed), a coordinator confirmed an inferred
# date (confirmed), or it is still an inference (assumed: reminded, never escalated past 催办,
# never scored, never cited in a 通报).
DateSource = Literal["seed", "confirmed", "assumed"]
# reporting: owes documents and may be supervised, interviewed and publicly criticised.
# task-only: carries tasks and gets reminders, but is never escalated past 催办, never asked for
# a stamped PDF and never named in a 通报 (the bureau's own divisions, centres the notice
# does not address).
UnitRole = Literal["reporting", "task-only"]


class Strict(BaseModel):
    # Unknown keys are reported as warnings by plan.checks.unknown_keys, not here.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class Contact(Strict):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)
    name: Name
    email: Email
    role: ContactRole = "联系人"
    phone: str | None = None


class DateRange(Strict):
    start: dt.date
    end: dt.date


class PlanMeta(Strict):
    id: Id
    title: Name
    doc_number: Name
    issuer: Name
    issued: dt.date
    period: DateRange
    coordinator: Id
    mailbox: Email
    contacts: list[Contact] = Field(min_length=1)
    leadership: list[Contact] = Field(min_length=1)


class Calendar(Strict):
    count: Literal["working-days", "calendar-days"] = "working-days"
    send_on_non_working_days: bool = False
    extra_holidays: list[dt.date] = []
    extra_workdays: list[dt.date] = []


class Rung(Strict):
    id: Id
    kind: RungKind
    # Working (or calendar) days from the due date; ±250 is about a year of working days.
    offset: int = Field(ge=-MAX_OFFSET, le=MAX_OFFSET)
    to: list[Audience] = Field(min_length=1)
    cc: list[Audience] = []


class Escalation(Strict):
    due_soon: int = Field(default=5, ge=0, le=60)
    # 督办单的办理时限：发出后多少个工作日内办结（催办邮件的“请于…前报送”同样按此计算）。
    response_days: int = Field(default=3, ge=1, le=30)
    rungs: list[Rung] = Field(min_length=1)


class Job(Strict):
    id: Id
    flow: FlowName
    cron: str | None = None
    at: dt.datetime | None = None
    working_days_only: bool = True
    params: dict[str, Any] = {}


class Schedules(Strict):
    timezone: Text = "Asia/Shanghai"
    jobs: list[Job] = []


class Unit(Strict):
    id: Id
    name: UnitName
    kind: UnitKind
    role: UnitRole | None = None  # None: division → task-only, every other kind → reporting
    contacts: list[Contact] = []
    aliases: list[Name] = []  # other names units use in file names and mail (奉贤快维中心)
    # What 80-column tables show; by default the name without 上海市/知识产权局/区 (黄浦, 浦东).
    short_name: UnitName | None = None

    @property
    def short(self) -> str:
        if self.short_name is not None:
            return self.short_name
        from plan.intake_rules import unit_aliases  # the same derivation the inbox matches

        return unit_aliases(self.name)[-1]

    @property
    def resolved_role(self) -> UnitRole:
        if self.role is not None:
            return self.role
        return "task-only" if self.kind == "division" else "reporting"

    @property
    def reports_publicly(self) -> bool:
        """May be supervised (督导检查), interviewed (约谈) and named in a 通报."""
        return self.resolved_role == "reporting"


class Group(Strict):
    id: Id
    name: Name
    members: list[Id] = Field(min_length=1)


class Section(Strict):
    number: int = Field(ge=1, le=MAX_NUMBER)
    title: Name


class Report(Strict):
    id: Id
    title: Name
    due: dt.date
    units: list[Id] = Field(min_length=1)
    formats: list[FileFormat] = []
    stats_table: bool = False
    period: Period | None = None
    note: str | None = None
    source: DateSource = "seed"


class Recurrence(Strict):
    unit: Literal["week", "month", "quarter"]
    day: int = Field(ge=1, le=31)
    start: dt.date
    end: dt.date


class Milestone(Strict):
    id: Id
    title: Name
    kind: MilestoneKind
    due: dt.date | None = None
    report: Id | None = None
    every: Recurrence | None = None
    window: DateRange | None = None
    units: list[Id] | None = None
    note: str | None = None
    # None: a report-tied milestone takes its report's source; a dated one is "assumed".
    source: DateSource | None = None


class Task(Strict):
    number: int = Field(ge=1, le=MAX_NUMBER)
    section: int = Field(ge=1, le=MAX_NUMBER)
    title: Name
    summary: Text
    lead: list[Id] = Field(min_length=1)
    units: list[Id] = Field(min_length=1)
    owners_confirmed: bool = True
    owners_note: str | None = None
    milestones: list[Milestone] = []


from plan.schema_evaluation import Evaluation, Requests  # noqa: E402  (they subclass Strict)

# Top-level sections and the model validating each item (lists) or the whole (mappings).
SECTIONS: dict[str, tuple[type[BaseModel], bool, bool]] = {
    # key: (model, is_list, required)
    "plan": (PlanMeta, False, True),
    "calendar": (Calendar, False, False),
    "escalation": (Escalation, False, True),
    "schedules": (Schedules, False, False),
    "units": (Unit, True, True),
    "groups": (Group, True, False),
    "sections": (Section, True, True),
    "reports": (Report, True, False),
    "tasks": (Task, True, True),
    "evaluation": (Evaluation, False, False),
    "requests": (Requests, False, False),
}
