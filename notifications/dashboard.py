"""The static dashboard under var/reports/<date>/: index, a page per task and per unit.

Plain HTML with inline CSS and server-drawn SVG charts: opens from disk, runs no script
and fetches nothing.  "Sortable" unit tables are one static page per sort order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from notifications.charts import Series, line_chart
from notifications.digest_render import COLORS, DigestView, environment
from plan.digest_rules import Digest, history_series
from plan.evaluation import RUNG_LABELS, RUNG_ORDER
from plan.model import Plan
from plan.status import LIGHT_LABELS, LIGHTS, STATE_LABELS, ReportedProgress, State

History = list[tuple[dt.date, dict[str, Any]]]
# Up to this many units every unit gets its own page, as a city plan always has.  Above it
# (a national plan: 1,000 units made 85–96 MB of pages) only units with something to act on,
# an entry overdue or due soon, get one; the rest are rows in the unit tables and the
# Excel ledger, and the index says how many and why.
ALL_UNIT_PAGES_UP_TO = 200
# Rows of a list on the index page; the rest are "另有 N 项" (all are on the unit and task pages).
INDEX_CAP = 30
# Units in the index's table above ALL_UNIT_PAGES_UP_TO: the units_*.html pages list all.
INDEX_UNIT_CAP = 50
ACTION_STATES = frozenset({State.OVERDUE, State.DUE_SOON})
LIGHT_RANK = {"red": 0, "amber": 1, "green": 2, "grey": 3}
SORTS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "units.html": ("方案中的顺序", lambda u: 0),
    "units-by-light.html": ("灯（红灯在前）", lambda u: (LIGHT_RANK[u["light"]], -u["missing"])),
    "units-by-due.html": ("已到期（多在前）", lambda u: -u["due_so_far"]),
    "units-by-late.html": ("逾期报送（多在前）", lambda u: -u["late"]),
    "units-by-missing.html": ("未报送（多在前）", lambda u: -u["missing"]),
    "units-by-rung.html": ("最高升级（高在前）",
                           lambda u: -(RUNG_ORDER.index(u["worst_rung"]) if u["worst_rung"] else -1)),
}


def _with_today(history: History, today: dt.date, current: dict[str, Any]) -> History:
    return [*[(d, s) for d, s in history if d != today], (today, current)]


def _entry_row(row: Any, state: State, worst: str | None, days: int, progress: ReportedProgress | None,
               *, for_unit: bool, unit_linked: bool) -> str:
    """One entry as table rows, pre-formatted (a template macro call per entry was most of
    the dashboard's time at national scale).  On its unit's page (``for_unit``) with the task
    column and what the unit reported; on its task's page with the unit, linked if it has a page."""
    light = LIGHTS[state]
    title = escape(row.milestone_title) + (" <small>（随报告报送）</small>" if row.report_id else "")
    submitted = row.submitted_on if state in (State.ON_TIME, State.LATE) else None
    tail = (f"<td>{row.due}</td><td><span class=\"light {light.value}\">{LIGHT_LABELS[light]}</span></td>"
            f"<td>{STATE_LABELS[state]}</td><td>{submitted or ''}</td>"
            f"<td class=\"num{' alert' if days else ''}\">{days or ''}</td>"
            f"<td>{RUNG_LABELS.get(worst or '', '')}</td></tr>\n")
    if not for_unit:
        unit_name = escape(row.unit_name)
        unit_cell = (f'<td><a href="../units/{escape(row.unit_id)}.html">{unit_name}</a></td>' if unit_linked
                     else f"<td>{unit_name}</td>")
        return f"<tr><td>{title}</td>{unit_cell}{tail}"
    task = (f'<a href="../tasks/task-{row.task_number:02d}.html">{row.task_number}</a>'
            if row.task_number else "")
    html = f"<tr><td>{task}</td><td>{title}</td>{tail}"
    if progress is not None and progress.lines():
        lines = "<br>".join(str(escape(line)) for line in progress.lines())
        html += f'<tr class="progress"><td colspan="8">{lines}</td></tr>\n'
    return html


def _ranked(items: list[Any], cap: int) -> list[Any]:
    """A list as the index shows it: whole within ``cap``, else the ``cap`` longest overdue."""
    if len(items) <= cap:
        return items
    return sorted(items, key=lambda i: -i["days_overdue"])[:cap]


def write_dashboard(folder: Path, *, view: DigestView, digest: Digest, plan: Plan,
                    history: History, days_overdue: Callable[[dt.date], int],
                    progress: Mapping[int, ReportedProgress] | None = None) -> list[Path]:
    """Write the site into ``folder`` (replacing an earlier one of the same date);
    ``progress`` (entry id → what the unit reported) appears under the entries on unit pages."""
    progress = progress or {}
    env = environment()
    history = _with_today(history, digest.today, digest.snapshot())
    base = {**view.as_dict(), "page_title": "总览", "root": ""}
    written: list[Path] = []

    def put(relative: str, template: str, context: dict[str, Any]) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(context), encoding="utf-8")
        written.append(path)

    charts = {
        "progress": line_chart([Series("完成比例", COLORS["green"], history_series(history, "overall.share"))],
                               title="整体完成比例（历次简报）", y_max=1, percent=True),
        "overdue": line_chart([Series("逾期未报", COLORS["red"], history_series(history, "overall.overdue")),
                               Series("督导检查", COLORS["amber"], history_series(history, "supervised"))],
                              title="逾期未报与督导检查事项数（历次简报）"),
    }
    units_sorted = {name: sorted(view.units, key=key) for name, (_, key) in SORTS.items()}
    acting = {row.unit_id for row, state, _ in digest.entries if state in ACTION_STATES}
    all_pages = len(view.units) <= ALL_UNIT_PAGES_UP_TO
    with_page = {u["unit"] for u in view.units if all_pages or u["unit"] in acting}
    by_light = units_sorted["units-by-light.html"]
    shown_units = by_light if all_pages else by_light[:INDEX_UNIT_CAP]
    lists = {key: _ranked(getattr(view, key), INDEX_CAP) for key in ("supervise", "interview")}
    put("index.html", "dashboard_index.html",
        {**base, "charts": charts, "units_sorted": shown_units, "units_more": len(by_light) - len(shown_units),
         "sort_label": SORTS["units-by-light.html"][0], "with_page": with_page,
         "all_pages": all_pages, "page_threshold": ALL_UNIT_PAGES_UP_TO, "index_cap": INDEX_CAP,
         "supervise_shown": lists["supervise"], "interview_shown": lists["interview"],
         "units_without_page": len(view.units) - len(with_page)})
    for name, (label, _) in SORTS.items():
        put(name, "dashboard_units.html", {**base, "page_title": "各单位情况", "units_sorted": units_sorted[name],
                                           "sort_label": label, "with_page": with_page, "units_more": 0})
    # Entries grouped by reference; each page's rows are formatted when it is written, so only
    # one page's HTML is held at a time (all 400,000 rows at once cost ~70 MB at national scale).
    by_task: dict[int | None, list[tuple[Any, State, str | None]]] = {}
    by_unit: dict[str, list[tuple[Any, State, str | None]]] = {}
    for entry in digest.entries:
        by_task.setdefault(entry[0].task_number, []).append(entry)
        if entry[0].unit_id in with_page:
            by_unit.setdefault(entry[0].unit_id, []).append(entry)

    def rows(entries: list[tuple[Any, State, str | None]], *, unit_page: bool) -> Markup:
        return Markup("".join(
            _entry_row(row, state, worst, days_overdue(row.due) if state is State.OVERDUE else 0,
                       progress.get(row.id), for_unit=unit_page, unit_linked=row.unit_id in with_page)
            for row, state, worst in entries))

    numbers = [t["number"] for t in view.tasks]
    for position, task in enumerate(view.tasks):
        n = task["number"]
        task_charts = {
            "progress": line_chart([Series("完成比例", COLORS["green"], history_series(history, f"tasks.{n}.share"))],
                                   title=f"任务{n}完成比例（历次简报）", y_max=1, percent=True),
            "overdue": line_chart([Series("逾期未报", COLORS["red"], history_series(history, f"tasks.{n}.overdue"))],
                                  title=f"任务{n}逾期未报事项数（历次简报）"),
        }
        put(f"tasks/task-{n:02d}.html", "dashboard_task.html", {
            **base, "root": "../", "page_title": f"任务{n}", "task": task, "charts": task_charts,
            "section_title": plan.sections[task["section"]].title,
            "leads": "、".join(plan.units[u].name for u in plan.leads_of(n) if u in plan.units),
            "summary": plan.tasks[n].summary,
            "rows": rows(by_task.get(n, []), unit_page=False),
            "prev": numbers[position - 1] if position > 0 else None,
            "next": numbers[position + 1] if position + 1 < len(numbers) else None})
    for unit in view.units:
        u = unit["unit"]
        if u not in with_page:
            continue
        unit_charts = {"missing": line_chart(
            [Series("未报送", COLORS["red"], history_series(history, f"units.{u}.missing")),
             Series("逾期报送", COLORS["amber"], history_series(history, f"units.{u}.late"))],
            title="未报送与逾期报送事项数（历次简报）")}
        put(f"units/{u}.html", "dashboard_unit.html", {
            **base, "root": "../", "page_title": unit["name"], "unit": unit, "charts": unit_charts,
            "rows": rows(by_unit.get(u, []), unit_page=True)})
    return written
