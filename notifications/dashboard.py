"""The static dashboard under var/reports/<date>/: index, a page per task and per unit.

Plain HTML with inline CSS and server-drawn SVG charts: opens from disk, runs no script
and fetches nothing.  "Sortable" unit tables are one static page per sort order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from notifications.charts import Series, line_chart
from notifications.digest_render import COLORS, DigestView, environment
from plan.digest_rules import Digest, history_series
from plan.evaluation import RUNG_LABELS, RUNG_ORDER
from plan.model import Plan
from plan.status import LIGHT_LABELS, LIGHTS, STATE_LABELS, ReportedProgress, State

History = list[tuple[dt.date, dict[str, Any]]]
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


def _entry(row: Any, state: State, worst: str | None, days: int,
           progress: ReportedProgress | None = None) -> dict[str, Any]:
    light = LIGHTS[state].value
    return {"task": row.task_number, "title": row.milestone_title, "unit": row.unit_id,
            "unit_name": row.unit_name, "due": row.due, "light": light,
            "light_label": LIGHT_LABELS[LIGHTS[state]], "state_label": STATE_LABELS[state],
            "submitted_on": row.submitted_on if state in (State.ON_TIME, State.LATE) else None,
            "days_overdue": days, "rung_label": RUNG_LABELS.get(worst or "", ""),
            "report": row.report_id,
            # the unit's own word from its ledger workbook; shown on its page, escaped there
            "progress": progress.lines() if progress else []}


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
    put("index.html", "dashboard_index.html",
        {**base, "charts": charts, "units_sorted": units_sorted["units-by-light.html"],
         "sort_label": SORTS["units-by-light.html"][0]})
    for name, (label, _) in SORTS.items():
        put(name, "dashboard_units.html", {**base, "page_title": "各单位情况", "units_sorted": units_sorted[name],
                                           "sort_label": label})
    entries = [_entry(row, state, worst, days_overdue(row.due) if state is State.OVERDUE else 0,
                      progress.get(row.id))
               for row, state, worst in digest.entries]
    by_task: dict[int | None, list[dict[str, Any]]] = {}
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_task.setdefault(e["task"], []).append(e)
        by_unit.setdefault(e["unit"], []).append(e)
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
            "entries": by_task.get(n, []),
            "prev": numbers[position - 1] if position > 0 else None,
            "next": numbers[position + 1] if position + 1 < len(numbers) else None})
    for unit in view.units:
        u = unit["unit"]
        unit_charts = {"missing": line_chart(
            [Series("未报送", COLORS["red"], history_series(history, f"units.{u}.missing")),
             Series("逾期报送", COLORS["amber"], history_series(history, f"units.{u}.late"))],
            title="未报送与逾期报送事项数（历次简报）")}
        put(f"units/{u}.html", "dashboard_unit.html", {
            **base, "root": "../", "page_title": unit["name"], "unit": unit, "charts": unit_charts,
            "entries": by_unit.get(u, [])})
    return written
