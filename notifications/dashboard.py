"""The static dashboard under var/reports/<date>/: index, a page per task and per unit.

Plain HTML with inline CSS and server-drawn SVG charts: opens from disk, runs no script
and fetches nothing.  "Sortable" unit tables are one static page per sort order.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from notifications.charts import Series, line_chart
from notifications.digest_render import COLORS, DigestView, environment, longest_overdue
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
# Rows of a task page above ALL_UNIT_PAGES_UP_TO: the entries to act on, longest overdue first.
TASK_ROWS_CAP = 200
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


class _Rows:
    """Entries as table rows, pre-formatted (a template macro call per entry was most of the
    dashboard's time at national scale).  The escaped pieces of a row are formatted once per
    milestone, unit, date and state and joined per entry: 400,000 rows at national scale spent
    most of their time escaping the same few hundred titles and names again."""

    def __init__(self, with_page: set[str], progress: Mapping[int, ReportedProgress],
                 days_overdue: Callable[[dt.date], int]) -> None:
        self.with_page = with_page
        self.progress = progress
        self.days_overdue = days_overdue
        self.titles: dict[str, str] = {}
        self.task_cells: dict[int | None, str] = {}
        self.unit_cells: dict[str, str] = {}
        self.states = {state: (f'<td><span class="light {LIGHTS[state].value}">{LIGHT_LABELS[LIGHTS[state]]}'
                               f"</span></td><td>{STATE_LABELS[state]}</td>") for state in State}
        self.rungs = {kind: f"<td>{label}</td></tr>\n" for kind, label in RUNG_LABELS.items()}
        self.tails: dict[tuple[dt.date, State, dt.date | None, str | None], str] = {}
        self.unit_page_heads: dict[str, str] = {}

    def _title(self, row: Any) -> str:
        found = self.titles.get(row.milestone_id)
        if found is None:
            found = self.titles[row.milestone_id] = str(escape(row.milestone_title)) + (
                " <small>（随报告报送）</small>" if row.report_id else "")
        return found

    def _unit(self, row: Any) -> str:
        found = self.unit_cells.get(row.unit_id)
        if found is None:
            name = escape(row.unit_name)
            found = self.unit_cells[row.unit_id] = (
                f'<td><a href="../units/{escape(row.unit_id)}.html">{name}</a></td>' if row.unit_id in self.with_page
                else f"<td>{name}</td>")
        return found

    def _task(self, number: int | None) -> str:
        found = self.task_cells.get(number)
        if found is None:
            found = self.task_cells[number] = (
                f'<td><a href="../tasks/task-{number:02d}.html">{number}</a></td>' if number else "<td></td>")
        return found

    def html(self, entries: list[tuple[Any, State, str | None]], *, unit_page: bool) -> Markup:
        """On a unit's page (``unit_page``) with the task column and what the unit reported;
        on a task's page with the unit, linked if it has a page."""
        out: list[str] = []
        tails, heads = self.tails, self.unit_page_heads
        for row, state, worst in entries:
            submitted = row.submitted_on if state in (State.ON_TIME, State.LATE) else None
            # The cells after the title repeat across the units that owe a milestone.
            key = (row.due, state, submitted, worst)
            tail = tails.get(key)
            if tail is None:
                days = self.days_overdue(row.due) if state is State.OVERDUE else 0
                tail = tails[key] = (f"<td>{row.due}</td>{self.states[state]}<td>{submitted or ''}</td>"
                                     f"<td class=\"num{' alert' if days else ''}\">{days or ''}</td>"
                                     f"{self.rungs.get(worst or '', '<td></td></tr>' + chr(10))}")
            if not unit_page:
                out.append(f"<tr><td>{self._title(row)}</td>{self._unit(row)}{tail}")
                continue
            head = heads.get(row.milestone_id)
            if head is None:  # a milestone's task and title cells, once per milestone
                head = heads[row.milestone_id] = f"<tr>{self._task(row.task_number)}<td>{self._title(row)}</td>"
            out.append(head + tail)
            reported = self.progress.get(row.id)
            if reported is not None and reported.lines():
                lines = "<br>".join(str(escape(line)) for line in reported.lines())
                out.append(f'<tr class="progress"><td colspan="8">{lines}</td></tr>\n')
        return Markup("".join(out))


def _unit_row(u: dict[str, Any], linked: bool) -> Markup:
    """A unit's row in the unit tables (the template did this per unit per page)."""
    name = escape(u["name"])
    cell = f'<a href="units/{escape(u["unit"])}.html">{name}</a>' if linked else name
    return Markup(f'<tr><td>{cell}</td><td><span class="light {escape(u["light"])}">{escape(u["light_label"])}'
                  f'</span></td><td class="num">{u["due_so_far"]}</td><td class="num">{u["on_time"]}</td>'
                  f'<td class="num">{u["late"]}</td><td class="num{" alert" if u["missing"] else ""}">'
                  f'{u["missing"]}</td><td>{escape(u["worst_rung_label"])}</td></tr>')


def _ranked(items: Sequence[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """A list as the index shows it: whole within ``cap``, else the ``cap`` longest overdue."""
    return longest_overdue(items, cap)


def write_dashboard(folder: Path, *, view: DigestView, digest: Digest, plan: Plan,
                    history: History, days_overdue: Callable[[dt.date], int],
                    progress: Mapping[int, ReportedProgress] | None = None) -> list[Path]:
    """Write the site into ``folder`` (replacing an earlier one of the same date);
    ``progress`` (entry id → what the unit reported) appears under the entries on unit pages."""
    with _PageWriter() as writer:
        return _write_pages(folder, writer, view=view, digest=digest, plan=plan, history=history,
                            days_overdue=days_overdue, progress=progress or {})


class _PageWriter:
    """Pages handed to a second thread, which writes each while the next is rendered.

    Creating a file is kernel time that needs no GIL: ~1,000 new pages at national scale
    were 0.5–1 s of the digest's main thread (more when other processes use the disk).  At
    most MAX_PENDING rendered pages wait in memory; a failed write is raised by the next
    ``put`` or when the writer closes, and the pages handed over before are written still."""

    MAX_PENDING = 16

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-pages")
        self._pending: deque[Future[int]] = deque()

    def put(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._pending.append(self._pool.submit(path.write_text, text, encoding="utf-8"))
        if len(self._pending) > self.MAX_PENDING:
            self._pending.popleft().result()

    def __enter__(self) -> _PageWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        self._pool.shutdown(wait=True)  # every page handed over is written, even on an error
        if kind is not None:
            return  # the error that stopped the rendering is the one to raise
        while self._pending:
            self._pending.popleft().result()


def _write_pages(folder: Path, writer: _PageWriter, *, view: DigestView, digest: Digest, plan: Plan,
                 history: History, days_overdue: Callable[[dt.date], int],
                 progress: Mapping[int, ReportedProgress]) -> list[Path]:
    env = environment()
    history = _with_today(history, digest.today, digest.snapshot())
    base = {**view.as_dict(), "page_title": "总览", "root": ""}
    written: list[Path] = []

    def put(relative: str, template: str, context: dict[str, Any]) -> None:
        path = folder / relative
        writer.put(path, env.get_template(template).render(context))
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
    base["unit_rows"] = {u["unit"]: _unit_row(u, u["unit"] in with_page) for u in view.units}
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

    rows = _Rows(with_page, progress, days_overdue).html

    def task_rows(entries: list[tuple[Any, State, str | None]]) -> tuple[Markup, dict[str, int] | None]:
        """A task's rows: all of them up to ALL_UNIT_PAGES_UP_TO units; above it (a national
        task has ~11,000 entries, an 11 MB page) the entries to act on, longest overdue first,
        at most TASK_ROWS_CAP, and the counts of what is left out."""
        if all_pages or len(entries) <= TASK_ROWS_CAP:
            return rows(entries, unit_page=False), None
        acting = sorted((e for e in entries if e[1] in ACTION_STATES),
                        key=lambda e: (e[1] is not State.OVERDUE, e[0].due))
        shown = acting[:TASK_ROWS_CAP]
        return rows(shown, unit_page=False), {"total": len(entries), "acting": len(acting), "shown": len(shown)}

    numbers = [t["number"] for t in view.tasks]
    for position, task in enumerate(view.tasks):
        n = task["number"]
        task_charts = {
            "progress": line_chart([Series("完成比例", COLORS["green"], history_series(history, f"tasks.{n}.share"))],
                                   title=f"任务{n}完成比例（历次简报）", y_max=1, percent=True),
            "overdue": line_chart([Series("逾期未报", COLORS["red"], history_series(history, f"tasks.{n}.overdue"))],
                                  title=f"任务{n}逾期未报事项数（历次简报）"),
        }
        task_rows_html, cut = task_rows(by_task.get(n, []))
        put(f"tasks/task-{n:02d}.html", "dashboard_task.html", {
            **base, "root": "../", "page_title": f"任务{n}", "task": task, "charts": task_charts,
            "section_title": plan.sections[task["section"]].title,
            "leads": "、".join(plan.units[u].name for u in plan.leads_of(n) if u in plan.units),
            "summary": plan.tasks[n].summary,
            "rows": task_rows_html, "rows_cut": cut, "page_threshold": ALL_UNIT_PAGES_UP_TO,
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
