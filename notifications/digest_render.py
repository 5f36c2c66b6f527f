"""The leadership digest rendered: HTML email (inline CSS, tables, no script), its plain-text
alternative, and Markdown (also the Prefect artifact).  Rendering only: data comes in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from models.reports import Statistics
from notifications.markdown_text import escape_markdown
from plan.digest_rules import Digest, Item, Progress, bar, percent
from plan.evaluation import RUNG_LABELS
from plan.model import Plan
from plan.status import LIGHT_LABELS, STATE_LABELS, Light

TEMPLATES = Path(__file__).with_name("templates")
MARKDOWN_LIST_CAP = 100  # rows per supervision list in digest.md
LIST_CAP = 10  # rows per list in the email; the rest is "另有 N 项" and in the attached workbook
# Units in the email's table: every unit of a city plan; at national scale (1,000 units made a
# 1 MB email) the units with the most documents missing, the rest in the attached workbook.
UNIT_CAP = 50
COLORS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#9e9e9e"}
FONT = ("'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC','Source Han Sans SC',"
        "'WenQuanYi Micro Hei',sans-serif")


def environment(*, markdown: bool = False) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=lambda name: bool(name and name.endswith((".html", ".html.j2"))),
                      finalize=escape_markdown if markdown else None,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pct"] = percent
    env.filters["textbar"] = bar
    env.globals["colors"] = COLORS
    env.globals["font"] = FONT
    return env


@dataclass
class FollowUp:
    """An open 整改 / 约谈 / 请示 line for the digest."""

    kind: str
    unit: str
    title: str
    due: dt.date
    state: str
    days_overdue: int = 0


@dataclass
class DigestView:
    """Everything the templates read, as plain values."""

    plan_title: str
    doc_number: str
    today: dt.date
    since: dt.date | None
    overall: dict[str, Any]
    sections: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    units: list[dict[str, Any]]
    supervise: Sequence[dict[str, Any]]
    interview: Sequence[dict[str, Any]]
    newly_submitted: Sequence[dict[str, Any]]
    newly_overdue: Sequence[dict[str, Any]]
    newly_supervised: Sequence[dict[str, Any]]
    statistics: dict[str, Any] | None
    follow_ups: list[FollowUp] = field(default_factory=list)
    documents: dict[str, int] = field(default_factory=dict)
    attention: list[dict[str, Any]] = field(default_factory=list)
    assumed: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # file names the email carries

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _progress(p: Progress) -> dict[str, Any]:
    data = p.as_json()
    data["light_label"] = LIGHT_LABELS[Light(data["light"])]
    data["color"] = COLORS[data["light"]]
    data["pct"] = round(p.share * 100)
    return data


def _item(i: Item) -> dict[str, Any]:
    return {**i.as_json(), "due": i.due, "fired_on": i.fired_on, "submitted_on": i.submitted_on}


class Items(Sequence[dict[str, Any]]):
    """One of the view's lists (督导检查, 约谈, 新逾期 …) as the templates read it: an item
    becomes its dict only when read.  At national scale these lists hold ~116,000 entries,
    of which the pages and the email show a few dozen (their lengths, a slice, the longest
    overdue); turning all of them into dicts up front was ~5% of the digest."""

    __slots__ = ("_items",)

    def __init__(self, items: Sequence[Item]) -> None:
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [_item(i) for i in self._items[index]]
        return _item(self._items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(_item, self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # compared by content, like the list it stands for

    def __repr__(self) -> str:
        return f"Items({len(self)} items)"

    def longest_overdue(self, cap: int) -> list[dict[str, Any]]:
        """What :func:`longest_overdue` gives for the dicts, ranking the items themselves."""
        if len(self._items) <= cap:
            return list(self)
        return [_item(i) for i in sorted(self._items, key=lambda i: -i.days_overdue)[:cap]]

    def units(self) -> set[str]:
        """The units on the list."""
        return {i.unit_id for i in self._items}


def view(digest: Digest, plan: Plan, statistics: Statistics | None,
         follow_ups: list[FollowUp] | None = None) -> DigestView:
    sections = [{"number": n, "title": plan.sections[n].title, **_progress(p)}
                for n, p in digest.sections.items() if n in plan.sections]
    tasks = [{"number": n, "title": plan.tasks[n].title, "section": plan.tasks[n].section,
              **_progress(p)} for n, p in digest.tasks.items() if n in plan.tasks]
    units = []
    for line in digest.units:
        data = line.as_json()
        data["light_label"] = LIGHT_LABELS[line.light]
        data["color"] = COLORS[line.light.value]
        data["max_days"] = line.max_days
        data["missing_titles"] = list(line.missing_titles)
        units.append(data)
    return DigestView(
        plan_title=plan.meta.title, doc_number=plan.meta.doc_number, today=digest.today,
        since=digest.since, overall=_progress(digest.overall), sections=sections, tasks=tasks,
        units=units, supervise=Items(digest.supervise), interview=Items(digest.interview),
        newly_submitted=Items(digest.newly_submitted), newly_overdue=Items(digest.newly_overdue),
        newly_supervised=Items(digest.newly_supervised),
        statistics=statistics.as_json() if statistics else None,
        follow_ups=follow_ups or [],
        documents=digest.documents.as_json(),
        attention=[a.as_json() for a in digest.attention],
        assumed=[_item(i) for i in digest.assumed],
    )


@dataclass(frozen=True)
class DigestEmail:
    subject: str
    html: str
    text: str


def headline(v: DigestView) -> str:
    """The digest's first sentence: documents, not ledger rows (pinned in tests)."""
    d, t = v.documents, v.today
    return (f"截至{t.year}年{t.month}月{t.day}日，各单位应报文件 {d['due']} 件：按时报送 {d['on_time']} 件，"
            f"逾期报送 {d['late']} 件，逾期未报 {d['missing']} 件。")


def aside(v: DigestView) -> str:
    """What the headline leaves out on purpose, said plainly (empty when nothing is)."""
    d = v.documents
    parts = []
    if d.get("assumed_open"):
        parts.append(f"截止日期为推定的事项 {d['assumed_open']} 项未报（推定，待确认，不计入逾期）")
    if d.get("task_only_open"):
        parts.append(f"局机关处室 {d['task_only_open']} 项未报（仅提醒，不列入督办）")
    return "另有" + "；".join(parts) + "。" if parts else ""


def subject(v: DigestView) -> str:
    return f"【督办简报】{v.plan_title}进展（截至{v.today.year}年{v.today.month}月{v.today.day}日）"


def email_units(units: list[dict[str, Any]], cap: int = UNIT_CAP) -> tuple[list[dict[str, Any]], int]:
    """The unit rows the email shows and how many reporting units it leaves out.

    Within the cap every unit is shown in plan order; above it, the ``cap`` reporting units
    with the most documents missing (then the longest overdue), still in plan order, so the
    email stays readable and under 1 MB at any scale.  Task-only offices are always listed.
    """
    reporting = [u for u in units if not u["task_only"]]
    if len(reporting) <= cap:
        return units, 0
    worst = sorted(reporting, key=lambda u: (-u["missing"], -u["max_days"]))[:cap]
    keep = {id(u) for u in worst}
    return [u for u in units if u["task_only"] or id(u) in keep], len(reporting) - cap


def render_email(v: DigestView) -> DigestEmail:
    env = environment()
    units, units_more = email_units(v.units)
    context = {**v.as_dict(), "subject": subject(v), "headline": headline(v), "aside": aside(v),
               "cap": LIST_CAP, "units": units, "units_more": units_more, "unit_cap": UNIT_CAP}
    return DigestEmail(subject(v), env.get_template("digest_email.html").render(context),
                       env.get_template("digest_email.txt").render(context))


def longest_overdue(items: Sequence[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """A list as a capped page shows it: whole within ``cap``, else the ``cap`` longest overdue
    (in list order among equals)."""
    if isinstance(items, Items):
        return items.longest_overdue(cap)
    if len(items) <= cap:
        return list(items)
    return sorted(items, key=lambda i: -i["days_overdue"])[:cap]


def render_markdown(v: DigestView) -> str:
    """digest.md: the digest for reading.  A national plan's supervision lists ran to 71,000
    lines (7 MB); each shows the MARKDOWN_LIST_CAP longest overdue and counts the rest."""
    return environment(markdown=True).get_template("digest.md.j2").render(
        {**v.as_dict(), "subject": subject(v), "headline": headline(v), "aside": aside(v), "cap": LIST_CAP,
         "supervise_shown": longest_overdue(v.supervise, MARKDOWN_LIST_CAP),
         "interview_shown": longest_overdue(v.interview, MARKDOWN_LIST_CAP)})


def units_table(v: DigestView) -> list[dict[str, Any]]:
    """The rows of the ``digest-units`` table artifact (Chinese column names)."""
    return [{"单位": u["name"], "灯": u["light_label"], "已到期": u["due_so_far"], "按时": u["on_time"],
             "逾期报送": u["late"], "未报送": u["missing"], "最高升级": u["worst_rung_label"]}
            for u in v.units]


STATE_TEXT = {s.value: label for s, label in STATE_LABELS.items()}
RUNG_TEXT = RUNG_LABELS
