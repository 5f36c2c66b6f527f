"""Commands over the ledger: status, record, waive.  None of them starts Prefect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.cells import cell_len
from rich.control import strip_control_codes
from rich.segment import Segment, Segments
from rich.style import Style
from rich.table import Table
from rich.text import Text

from flows.commands.app import app
from flows.commands.console import (
    JsonOption,
    MilestoneOption,
    PlanOption,
    RequiredUnitOption,
    TodayOption,
    UnitOption,
    actor,
    out,
    parse_date,
    print_json,
    resolve_today,
)
from flows.commands.terminal import fold
from plan import load_plan
from plan.errors import DubanError
from plan.status import (
    LIGHT_LABELS,
    LIGHTS,
    STATE_LABELS,
    Classifier,
    Light,
    ReportedProgress,
    State,
    tally,
)
from plan.workdays import WorkCalendar

TaskOption = Annotated[int | None, typer.Option("--task", help="任务序号（1–18）。")]

LIGHT_STYLE = {Light.GREEN: "green", Light.AMBER: "yellow", Light.RED: "red", Light.GREY: "dim"}


def _light(light: Light) -> str:
    return f"[{LIGHT_STYLE[light]}]●{LIGHT_LABELS[light]}[/]"


@app.command()
def status(
    today: TodayOption = None,
    unit: UnitOption = None,
    task: TaskOption = None,
    show_all: Annotated[bool, typer.Option("--all", help="列出全部条目（默认只列红灯、黄灯条目）。")] = False,
    ids: Annotated[bool, typer.Option("--ids", help="在每个条目下另起一行显示单位编号和节点编号。")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="显示单位全称（默认用简称，适合 80 列终端）。")] = False,
    plan: PlanOption = "plan.yaml",
    as_json: JsonOption = False,
) -> None:
    """台账状态：每条义务的截止日期、状态和红黄绿灯，以及按任务、按单位的合计；
    --unit 时在条目下显示该单位在工作台账里报的最新进展。"""
    as_of = resolve_today(today)
    loaded = load_plan(plan)
    if unit:  # the name lookup is imported only when there is a name to look up
        from flows.intake_record import resolve_unit

        unit = resolve_unit(loaded, unit)
    else:
        unit = None
    classifier = Classifier(WorkCalendar(loaded.calendar), as_of, loaded.escalation.due_soon)
    rows, flags, progress = _read_status(unit, task)
    states = [classifier.state(due=r.due, submitted_on=r.submitted_on, waived=r.waived) for r in rows]
    per_task, per_unit, overall = tally(rows, states)
    unit_names = {r.unit_id: r.unit_name for r in rows}
    task_titles = {r.task_number: r.task_title for r in rows if r.task_number is not None}
    if as_json:
        print_json({
            "today": as_of.isoformat(),
            "entries": [{
                "unit": r.unit_id, "unit_name": r.unit_name, "milestone": r.milestone_id,
                "title": r.milestone_title, "task": r.task_number, "due": r.due.isoformat(),
                "submitted_on": r.submitted_on.isoformat() if r.submitted_on and r.submitted_on <= as_of else None,
                "state": s.value, "state_label": STATE_LABELS[s], "light": LIGHTS[s].value,
                "days_overdue": classifier.days_overdue(r.due) if s is State.OVERDUE else 0,
                "flag": flags.get(r.id),
                "progress": progress[r.id].as_json() if r.id in progress else None,
            } for r, s in zip(rows, states, strict=True)],
            "totals": {
                "tasks": [{"task": n, "title": task_titles[n], **t.as_json()} for n, t in sorted(per_task.items())],
                "units": [{"unit": u, "name": unit_names[u], **t.as_json()} for u, t in per_unit.items()],
                "all": overall.as_json(),
            },
        })
        return
    if not wide:  # 80 columns: 浦东 rather than 浦东新区知识产权局
        unit_names = {u: loaded.units[u].short if u in loaded.units else name for u, name in unit_names.items()}
    _print_status(rows, states, per_task, per_unit, overall, classifier, show_all or bool(unit or task),
                  unit_names, task_titles, flags, progress if unit else {}, ids=ids)


def _read_status(unit: str | None, task: int | None) -> tuple[list[Any], dict[int, str], dict[int, ReportedProgress]]:
    """The entries, their flags ("reported done, evidence missing", issue #4) and what the
    units said in their workbooks (shown under each entry with --unit).

    A current SQLite ledger is read with sqlite3 (models.ledger_read), which spares the
    command SQLAlchemy's import; anything that needs explaining (an empty ledger, an unknown
    unit or task) and PostgreSQL go through the ORM, which words the refusal."""
    from models.ledger_read import (
        entry_rows_sqlite,
        is_synced_sqlite,
        live_task_sqlite,
        live_unit_sqlite,
        progress_flags_sqlite,
        reported_progress_sqlite,
    )
    from models.lite import sqlite_reader

    with sqlite_reader() as conn:
        if (conn is not None and is_synced_sqlite(conn) and (not unit or live_unit_sqlite(conn, unit))
                and (task is None or live_task_sqlite(conn, task))):
            return (entry_rows_sqlite(conn, unit=unit, task=task), progress_flags_sqlite(conn),
                    reported_progress_sqlite(conn, unit_id=unit))
    from models import intake, ledger
    from models.db import session_scope

    with session_scope() as session:
        ledger.require_synced(session)
        if unit:
            ledger.get_unit(session, unit)
        if task is not None:
            ledger.get_task(session, task)
        return (ledger.entry_rows(session, unit=unit, task=task), intake.progress_flags(session),
                intake.reported_progress(session, unit_id=unit))


def _day(day: Any, as_of: Any) -> str:
    """07-05 within the year of the title's date (截至 2024-07-08), the full date otherwise."""
    return day.strftime("%m-%d") if day.year == as_of.year else day.isoformat()


def _print_entries(shown: list[tuple[Any, State]], classifier: Classifier, unit_names: dict[str, str],
                   flags: dict[int, str], progress: dict[int, ReportedProgress], *, ids: bool) -> None:
    """The entries table for an 80-column terminal: no vertical rules, short unit names,
    and what does not fit a column — the ids (--ids) and the unit's reported progress
    (--unit) — on indented full-width lines under its entry, so no id is folded and the
    状态 column keeps its width.  One header table and one table per entry share fixed
    column widths, since rich cannot span a cell across columns."""
    as_of = classifier.today
    dated = any(r.submitted_on and r.submitted_on <= as_of for r, _s in shown)
    # Cells are the strings rich's Text would hold (control codes stripped as Text does); the
    # light is the one styled cell, made from its markup once per light (issue #13: ~600 rows
    # of Text objects, appends and per-row wrapping were most of the command's time).
    lights = {light: Text.from_markup(_light(light), emoji=False) for light in Light}
    cells: list[list[str]] = []
    row_lights: list[Text] = []
    for r, s in shown:
        detail = STATE_LABELS[s]
        if s is State.OVERDUE:
            detail += f" {classifier.days_overdue(r.due)} 个工作日"
        if r.id in flags:
            detail += " ⚑"
        submitted = _day(r.submitted_on, as_of) if r.submitted_on and r.submitted_on <= as_of else ""
        light = lights[LIGHTS[s]]
        row_lights.append(light)
        cells.append([light.plain, *map(strip_control_codes, (
            unit_names.get(r.unit_id, r.unit_name), r.milestone_title, str(r.task_number or ""),
            _day(r.due, as_of), detail, *([submitted] if dated else [])))])
    names = ("灯", "单位", "节点", "任务", "截止", "状态", "报送日期")[: 7 if dated else 6]
    measured = {text: cell_len(text) for row in cells for text in row}
    widths = [max([cell_len(name), *(measured[row[i]] for row in cells)]) for i, name in enumerate(names)]
    # 节点 takes what the others leave (2 padding + 1 separator per column), wrapping if need be.
    rest = out.width - sum(w for i, w in enumerate(widths) if i != 2) - 3 * len(names) + 1
    widths[2] = max(8, min(widths[2], rest))

    def table(header: bool) -> Table:
        t = Table(box=box.SIMPLE_HEAD, show_edge=False, show_header=header, padding=(0, 1))
        for name, width in zip(names, widths, strict=True):
            t.add_column(name, width=width, no_wrap=name != "节点", overflow="fold")
        return t

    out.print(f"台账条目（截至 {as_of}）", markup=False)
    out.print(table(True))
    # One table per entry drew the same lines as one table for them all, and rich's per-cell
    # layout of ~600 rows was most of the command's time (issue #13).  When the columns fit the
    # terminal, each row is written as the lines that table draws: a space of padding each side
    # of a cell, a space between columns, cells padded to their width, and 节点 wrapped by rich's
    # own Text.wrap (as the table does, once per distinct title) with the other cells blank on
    # its continuation lines.  The lines of a run of entries go to the console as the segments
    # rich's Text would have made of them — plain text, and each light in its style — without
    # Text's line splitting; a tab (which Text expands) keeps them a Text.  Wider than the
    # terminal (--wide), rich squeezes the columns: the rows stay in a table.
    # tests/test_status_output.py holds what the tables drew before.
    drawn = sum(widths) + 3 * len(widths) - 1 <= out.width
    node = names.index("节点")
    last = len(widths) - 1
    pieces: list[tuple[str, str | None]] = []  # (text, style of the span over it)
    run = table(False)
    wraps: dict[str, list[str]] = {}

    def node_lines(title: str) -> list[str]:
        if title not in wraps:
            # A title that fits needs no wrapping (tabs and newlines would change it: rich
            # expands and splits them).
            fits = measured[title] <= widths[node] and "\t" not in title and "\n" not in title
            wraps[title] = [title] if fits else [line.plain for line in Text(title).wrap(
                out, widths[node], justify="left", overflow="fold")]
        return wraps[title]

    def flush() -> None:
        nonlocal pieces, run
        if pieces:
            if any("\t" in text for text, _style in pieces):
                block = Text()
                for text, style in pieces:
                    block.append(text, style)
                out.print(block, no_wrap=True, crop=False)
            else:
                null = Style.null()
                out.print(Segments([*(Segment(text, out.get_style(style, default=null) if style else null)
                                      for text, style in pieces), Segment.line()]), crop=False)
            pieces = []
        if run.row_count:
            out.print(run)
            run = table(False)

    for (r, _s), row, light in zip(shown, cells, row_lights, strict=True):
        if not drawn:
            run.add_row(light.copy(), *map(Text, row[1:]))
        for k, node_line in enumerate(node_lines(row[node]) if drawn else []):
            line: list[str] = ["\n "] if pieces else [" "]
            for i, width in enumerate(widths):
                cell = node_line if i == node else row[i] if k == 0 else ""
                if i == 0 and k == 0:  # the light: its markup's spans over the cell
                    pieces.append(("".join(line), None))
                    line = []
                    at = 0
                    for span in light.spans:
                        if span.start > at:
                            pieces.append((cell[at:span.start], None))
                        pieces.append((cell[span.start:span.end], str(span.style)))
                        at = span.end
                    line.append(cell[at:])
                else:
                    line.append(cell)
                line.append(" " * (width - (cell_len(cell) if i == node else measured[cell] if cell else 0))
                            + (" " if i == last else "   "))
            pieces.append(("".join(line), None))
        extra = [f"{r.unit_id}  {r.milestone_id}"] if ids else []
        extra += progress[r.id].lines() if r.id in progress else []
        if extra:
            flush()
            lines = Table.grid()
            lines.add_column(width=4)
            lines.add_column(overflow="fold")
            for extra_line in extra:
                lines.add_row("", Text(extra_line))
            out.print(lines)
    flush()


def _print_status(rows: list[Any], states: list[State], per_task: dict[int, Any], per_unit: dict[str, Any],
                  overall: Any, classifier: Classifier, show_all: bool, unit_names: dict[str, str],
                  task_titles: dict[int, str | None], flags: dict[int, str],
                  progress: dict[int, ReportedProgress], *, ids: bool = False) -> None:
    as_of = classifier.today
    shown = [(r, s) for r, s in zip(rows, states, strict=True)
             if show_all or (LIGHTS[s] in (Light.RED, Light.AMBER) and s is not State.LATE)]
    if shown:
        _print_entries(shown, classifier, unit_names, flags, progress, ids=ids)
        flagged = [(r, flags[r.id]) for r, _s in shown if r.id in flags]
        for r, flag in flagged:
            out.print(f"⚑ {r.unit_name} · {r.milestone_title}：{flag}", markup=False)
    columns = [s for s in State]
    for title, items in (("按任务合计", [(f"{n}. {task_titles[n]}", t) for n, t in sorted(per_task.items())]),
                         ("按单位合计", [(unit_names[u], t) for u, t in per_unit.items()])):
        if len(items) <= 1 and title == "按任务合计" and not per_task:
            continue
        table = Table(title=title, title_justify="left")
        table.add_column("", overflow="fold")
        table.add_column("灯", no_wrap=True)
        for s in columns:
            table.add_column(STATE_LABELS[s], justify="right", overflow="fold")
        for label, t in items:
            table.add_row(label, _light(t.light), *[str(t.counts[s]) for s in columns])
        out.print(table)
    counts = overall.counts
    out.print(f"截至 {as_of}：共 {overall.total} 条；已逾期 {counts[State.OVERDUE]}，即将到期 "
              f"{counts[State.DUE_SOON]}，按时报送 {counts[State.ON_TIME]}，逾期报送 {counts[State.LATE]}。")


@app.command()
def record(
    unit: RequiredUnitOption,
    milestone: MilestoneOption,
    date: Annotated[str | None, typer.Option("--date", help="报送日期（YYYY-MM-DD），默认为 --today。")] = None,
    files: Annotated[list[Path] | None, typer.Option("--file", help="报送的文件，可重复。")] = None,
    note: Annotated[str | None, typer.Option("--note", help="备注。")] = None,
    today: TodayOption = None,
    plan: PlanOption = "plan.yaml",
    as_json: JsonOption = False,
) -> None:
    """登记一次报送。逾期报送照常登记并标为逾期；文件计算哈希后存入 var/files/。"""
    from models import ledger
    from models.db import session_scope
    from models.files import store_file

    as_of = resolve_today(today)
    calendar = WorkCalendar(load_plan(plan).calendar)  # lateness is counted in working days
    submitted_on = parse_date(date) or as_of
    if submitted_on > as_of:
        raise DubanError(f"报送日期 {submitted_on} 晚于今天（{as_of}）",
                         "检查 --date；补登过去某天的报送时，--today 不能早于 --date")
    missing = [str(f) for f in files or [] if not Path(f).is_file()]
    if missing:
        raise DubanError(f"找不到文件 {'、'.join(missing)}", "检查 --file 的路径")
    from flows.intake_record import milestone_title, refuse_foreign, resolve_milestone, resolve_unit

    loaded = load_plan(plan)
    unit = resolve_unit(loaded, unit)
    milestone = resolve_milestone(loaded, milestone, unit_id=unit)
    with session_scope() as session:
        # Refuse an unknown unit/milestone, or a file already recorded for another unit,
        # before any file is copied into var/files/.
        ledger.get_entry(session, unit_id=unit, milestone_id=milestone)
        refuse_foreign(session, plan=loaded, unit_id=unit, files=[Path(f) for f in files or []])
        stored = [store_file(Path(f)).as_json() for f in files or []]
        done = ledger.record_submission(session, unit_id=unit, milestone_id=milestone,
                                        submitted_on=submitted_on, source="cli", actor=actor(),
                                        note=note, files=stored)
        unit_name = ledger.get_unit(session, unit).name
    days_late = calendar.between(done.entry.due, done.submission.submitted_on)
    if as_json:
        print_json({"submission": done.submission.id, "unit": unit, "milestone": milestone,
                    "submitted_on": done.submission.submitted_on.isoformat(), "late": done.late,
                    "duplicate": done.duplicate, "files": done.submission.files})
        return
    if done.duplicate:
        out.print(f"这些文件已在 {done.submission.submitted_on} 登记过，未重复登记。")
        return
    timing = "按时"
    if done.late:  # a Saturday after a Friday due date is late by no working day: say which
        timing = f"逾期 {days_late} 个工作日" if days_late > 0 else "截止日后的休息日报送，逾期不足 1 个工作日"
    title = milestone_title(loaded, milestone)
    out.print(fold(f"已登记：{unit_name} · {title}，报送日期 {submitted_on}（{timing}，截止 {done.entry.due}）"
                   + (f"，文件 {len(stored)} 个" if stored else "") + "。", out.width), markup=False)


@app.command()
def waive(
    unit: RequiredUnitOption,
    milestone: MilestoneOption,
    reason: Annotated[str, typer.Option("--reason", help="豁免理由（记入审计日志）。")],
    plan: PlanOption = "plan.yaml",
) -> None:
    """豁免一条台账义务（例如该单位不承担此项工作），不再提醒和催办。"""
    from flows.intake_record import milestone_title, resolve_milestone, resolve_unit
    from models import ledger
    from models.db import session_scope

    if not reason.strip():
        raise DubanError("豁免理由不能为空", "用 --reason 写明理由")
    loaded = load_plan(plan)
    unit = resolve_unit(loaded, unit)
    milestone = resolve_milestone(loaded, milestone, unit_id=unit)
    with session_scope() as session:
        entry = ledger.waive_entry(session, unit_id=unit, milestone_id=milestone, reason=reason,
                                   actor=actor())
    title = milestone_title(loaded, milestone)
    out.print(f"已豁免：{loaded.units[unit].name} · {title}（截止 {entry.due}）。", markup=False)
