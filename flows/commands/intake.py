"""Intake commands: ``duban stats …``, ``duban ledger …``, ``duban inbox``.

None of them starts Prefect; ``duban inbox`` calls :func:`flows.inbox.process_inbox`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from flows.commands.app import DubanGroup, app
from flows.commands.console import (
    JsonOption,
    MilestoneOption,
    PlanOption,
    RequiredUnitOption,
    Steps,
    TodayOption,
    UnitOption,
    actor,
    err,
    out,
    print_json,
    resolve_today,
)
from flows.commands.terminal import fold
from models.db import session_scope, var_dir
from plan import load_plan, stats_table
from plan.errors import DubanError
from plan.intake_errors import FileRefused
from plan.intake_rules import find_units, period_of
from plan.model import Plan
from plan.status import STATE_LABELS, Classifier
from plan.workdays import WorkCalendar

if TYPE_CHECKING:
    from plan.ledger_sheet import LedgerLine


_HELP = {"help_option_names": ["-h", "--help"]}
# Where a statistics table came from, as the coordinator says it.
SOURCE_LABELS = {"cli": "命令行导入（duban stats import）", "inbox": "收件文件夹", "mail": "联系邮箱"}
stats = typer.Typer(cls=DubanGroup, no_args_is_help=True, context_settings=_HELP,
                    help="行政保护案件统计表：生成模板、导入、查看、导出全市汇总。")
ledger_app = typer.Typer(cls=DubanGroup, no_args_is_help=True, context_settings=_HELP,
                         help="单位工作台账（Excel）：导出给单位填写，导入单位填好的进展。")
app.add_typer(stats, name="stats")
app.add_typer(ledger_app, name="ledger")

PeriodOption = Annotated[str | None, typer.Option(
    "--period", help="统计期间：half-year（上半年）或 annual（全年）。")]
OutputOption = Annotated[Path, typer.Option("-o", "--output", help="输出文件（.xlsx）。")]
FileArgument = Annotated[Path, typer.Argument(help="要导入的 .xlsx 文件。")]
RECENT_DAYS = 30  # a period becomes the default once its due date is this close


def _period(value: str | None) -> str | None:
    if value is not None and value not in stats_table.PERIODS:
        raise typer.BadParameter(f"「{value}」不是统计期间，请写 half-year（上半年）或 annual（全年）",
                                 param_hint="--period")
    return value


def _check_unit(plan: Plan, unit: str | None) -> str | None:
    """The unit id ``--unit`` names (id, name, short name or alias), refused with the nearest."""
    from flows.intake_record import resolve_unit

    return resolve_unit(plan, unit) if unit is not None else None


def _stats_units(plan: Plan) -> list[tuple[str, str]]:
    """Units that owe a statistics table in some period, plan order."""
    owing = {u for m in plan.milestones() if m.stats_table for u in m.units}
    return [(u, plan.units[u].name) for u in plan.units if u in owing]


def default_period(plan: Plan, today: dt.date) -> str:
    """The latest period whose summary is due within 30 days or already past; else the first."""
    reports = sorted((r.due, r.period) for r in plan.reports.values() if r.stats_table and r.period)
    chosen = [p for due, p in reports if due - dt.timedelta(days=RECENT_DAYS) <= today]
    return chosen[-1] if chosen else (reports[0][1] if reports else "half-year")


def _xlsx_output(path: Path) -> Path:
    if path.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"输出文件「{path}」应以 .xlsx 结尾", param_hint="-o")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# -- duban stats ---------------------------------------------------------------------------

@stats.command("template")
def stats_template(output: OutputOption, unit: UnitOption = None, period: PeriodOption = None,
                   plan: PlanOption = "plan.yaml") -> None:
    """生成空白统计表模板（不指定 --unit/--period 时由单位在表头下拉选择）。"""
    from flows.intake_imports import plan_year
    from plan.stats_sheet import build_template

    loaded = load_plan(plan)
    unit = _check_unit(loaded, unit)
    wb = build_template(year=plan_year(loaded), unit=(unit, loaded.units[unit].name) if unit else None,
                        period=_period(period), unit_choices=_stats_units(loaded))
    wb.save(_xlsx_output(output))
    out.print(f"已生成统计表模板：{output}", markup=False)


@stats.command("import")
def stats_import(file: FileArgument, unit: UnitOption = None, period: PeriodOption = None,
                 today: TodayOption = None, plan: PlanOption = "plan.yaml", as_json: JsonOption = False) -> None:
    """导入单位填好的统计表（单位和期间默认取表头），校验后登记到该单位的半年/全年总结。"""
    from flows.intake_imports import import_stats_file, plan_year, unit_aliases, unit_names

    loaded = load_plan(plan)
    unit = _check_unit(loaded, unit)
    if not file.is_file():
        raise DubanError(f"找不到文件 {file}", "检查文件路径")
    try:
        named = find_units(file.stem, unit_names(loaded), unit_aliases(loaded))
        done = import_stats_file(file, plan=loaded, name=str(file), today=resolve_today(today), source="cli",
                                 actor=actor(), unit=unit, unit_from="--unit 指定的单位", period=_period(period),
                                 default_unit=named[0] if len(named) == 1 else None,
                                 default_period=period_of(file.stem))
    except FileRefused as exc:
        if not as_json:
            raise
        print_json({"ok": False, "file": exc.file,
                    "problems": [{"cell": p.cell, "message": p.message, "hint": p.hint} for p in exc.problems]})
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        print_json({"unit": done.unit_id, "period": done.period, "version": done.version,
                    "duplicate": done.duplicate, "replaced": done.replaced,
                    "summary_submitted": done.summary_submitted, "warnings": done.warnings})
        return
    label = stats_table.period_label(done.period, plan_year(loaded))
    if done.duplicate:
        out.print(f"{done.unit_name} {label}统计表与已登记的第 {done.version} 版相同，未重复登记。", markup=False)
    else:
        again = f"，替换第 {done.replaced} 版（旧版保留在历史中）" if done.replaced else ""
        out.print(f"已导入：{done.unit_name} {label}统计表，第 {done.version} 版{again}。", markup=False)
    if not done.summary_submitted:
        out.print("注意：只收到统计表，工作总结（Word 及盖章 PDF）尚未登记，该总结仍按未报送处理。", markup=False)
    for warning in done.warnings:
        err.print(f"警告：{warning}", markup=False)


@stats.command("show")
def stats_show(period: PeriodOption = None, unit: UnitOption = None, today: TodayOption = None,
               plan: PlanOption = "plan.yaml", as_json: JsonOption = False) -> None:
    """在终端查看统计表：全市合计、各单位报送情况（--unit 看某单位的明细）。"""
    from flows.intake_imports import plan_year, unit_names
    from models import intake, ledger

    loaded = load_plan(plan)
    unit = _check_unit(loaded, unit)
    chosen = _period(period) or default_period(loaded, resolve_today(today))
    with session_scope() as session:
        ledger.require_synced(session)  # an empty ledger is not "0/0 个单位已报送"
        status = intake.stats_status(session, chosen)
        totals = intake.citywide_totals(session, chosen)
        history = intake.stats_history(session, period=chosen)
    names = unit_names(loaded)
    current = {r.unit_id: r for r in history if r.is_current}
    if as_json:
        print_json({"period": chosen, "totals": stats_table.as_json_figures(totals.figures),
                    "reported": totals.reported, "missing": totals.missing,
                    "units": {u: None if f is None else {
                        "figures": stats_table.as_json_figures(f), "version": current[u].version,
                        "received_on": current[u].received_on.isoformat(), "warnings": current[u].warnings}
                        for u, f in status.items()}})
        return
    label = stats_table.period_label(chosen, plan_year(loaded))
    figures = status.get(unit) if unit else totals.figures
    if unit and unit not in status:
        raise DubanError(f"「{names[unit]}」不需要报送统计表", "统计表只由报送半年/全年总结的单位填报")
    title = (f"{names[unit]} {label}" if unit
             else f"全市合计 {label}（{len(totals.reported)}/{len(status)} 个单位已报送）")
    table = Table(title=f"{stats_table.TITLE}：{title}", title_justify="left")
    for name in (stats_table.CATEGORY_HEADER, "", stats_table.VALUE_HEADER):
        table.add_column(name)
    for row in stats_table.ROWS:
        first = row.item.id == "cases"
        table.add_row(row.category.name if first else "", row.label,
                      stats_table.display(figures.get(row.key)) if figures else "—")
    out.print(table)
    if unit:
        if unit in current:
            r = current[unit]
            source = SOURCE_LABELS.get(r.source, r.source)
            out.print(f"第 {r.version} 版，收到日期 {r.received_on}，来源：{source}。", markup=False)
        else:
            out.print("尚未报送。")
        return
    out.print("已报送：" + ("、".join(names[u] for u in totals.reported) or "无"), markup=False)
    out.print("未报送：" + ("、".join(names[u] for u in totals.missing) or "无"), markup=False)
    for r in current.values():
        for warning in r.warnings:
            err.print(f"警告：{names[r.unit_id]}：{warning}", markup=False)


@stats.command("export")
def stats_export(output: OutputOption, period: PeriodOption = None, today: TodayOption = None,
                 plan: PlanOption = "plan.yaml") -> None:
    """导出全市汇总表（同一格式，合计数），每个已报送单位一张表，另附「未报送单位」表。"""
    from flows.intake_imports import plan_year, unit_names
    from models import intake, ledger
    from plan.stats_sheet import build_citywide

    loaded = load_plan(plan)
    chosen = _period(period) or default_period(loaded, resolve_today(today))
    with session_scope() as session:
        ledger.require_synced(session)
        status = intake.stats_status(session, chosen)
        totals = intake.citywide_totals(session, chosen)
    names = unit_names(loaded)
    wb = build_citywide(year=plan_year(loaded), period=chosen, totals=totals.figures,
                        reported=len(totals.reported),
                        units=[(u, names[u], f) for u, f in status.items() if f is not None],
                        missing=[(u, names[u]) for u in totals.missing])
    wb.save(_xlsx_output(output))
    out.print(f"已导出 {stats_table.period_label(chosen, plan_year(loaded))}全市汇总表：{output}"
              f"（已报送 {len(totals.reported)} 个单位，未报送 {len(totals.missing)} 个）", markup=False)


# -- duban ledger --------------------------------------------------------------------------

@ledger_app.command("export")
def ledger_export(output: Annotated[Path, typer.Option(
                      "-o", "--output", help="输出文件（指定 --unit 时）或文件夹（所有单位，每单位一个文件）。")],
                  unit: UnitOption = None, today: TodayOption = None, plan: PlanOption = "plan.yaml") -> None:
    """导出单位工作台账（预填条目、截止日期和当前状态），供单位填写责任部门、责任人和进展。"""
    from flows.intake_imports import unit_names
    from models import intake, ledger
    from plan.ledger_sheet import LedgerLine, Progress, build_ledger

    loaded = load_plan(plan)
    unit = _check_unit(loaded, unit)
    as_of = resolve_today(today)
    classifier = Classifier(WorkCalendar(loaded.calendar), as_of, loaded.escalation.due_soon)
    with session_scope() as session:
        ledger.require_synced(session)
        if unit:
            ledger.get_unit(session, unit)
        rows = ledger.entry_rows(session, unit=unit)
        progress = intake.current_progress(session, unit_id=unit)
        flags = intake.progress_flags(session)
    by_unit: dict[str, list[LedgerLine]] = {}
    for r in rows:
        state = STATE_LABELS[classifier.state(due=r.due, submitted_on=r.submitted_on, waived=r.waived)]
        by_unit.setdefault(r.unit_id, []).append(LedgerLine(
            r.id, r.task_number, r.milestone_id, r.milestone_title, r.due,
            state + (f"；{flags[r.id]}" if r.id in flags else ""), progress.get(r.id, Progress())))
    names = unit_names(loaded)
    targets: list[tuple[str, Path]]
    if unit:
        targets = [(unit, _xlsx_output(output))]
    else:
        if output.suffix.lower() == ".xlsx":
            raise typer.BadParameter("导出所有单位时 -o 应是文件夹；只导出一个单位请加 --unit", param_hint="-o")
        output.mkdir(parents=True, exist_ok=True)
        targets = [(u, output / f"{u}-{names[u]}-工作台账.xlsx") for u in by_unit]
    for unit_id, path in targets:
        build_ledger(unit_id=unit_id, unit_name=names[unit_id], plan_title=loaded.meta.title,
                     exported_on=as_of, lines=by_unit.get(unit_id, []), mailbox=loaded.meta.mailbox).save(path)
    where = targets[0][1] if unit else f"{output}/（{len(targets)} 个单位）"
    out.print(f"已导出工作台账：{where}", markup=False)


@ledger_app.command("import")
def ledger_import(file: FileArgument, unit: UnitOption = None, today: TodayOption = None,
                  plan: PlanOption = "plan.yaml", as_json: JsonOption = False) -> None:
    """导入单位填好的工作台账，登记进展（不改变报送状态：标「已完成」的仍需登记报送材料）。"""
    from flows.intake_imports import import_ledger_file
    from models import intake
    from models.ledger_read import DONE_WITHOUT_EVIDENCE

    loaded = load_plan(plan)
    unit = _check_unit(loaded, unit)
    if not file.is_file():
        raise DubanError(f"找不到文件 {file}", "检查文件路径")
    done = import_ledger_file(file, plan=loaded, name=str(file), today=resolve_today(today), source="cli",
                              actor=actor(), unit=unit, unit_from="--unit 指定的单位")
    with session_scope() as session:
        flags = intake.progress_flags(session)
    missing = [e for e in done.changed if flags.get(e, "").startswith(DONE_WITHOUT_EVIDENCE)]
    if as_json:
        print_json({"unit": done.unit_id, "changed": done.changed, "unchanged": done.unchanged,
                    "done_without_evidence": missing})
        return
    if not done.changed:
        out.print(f"{done.unit_name} 的工作台账与已登记的进展相同，没有变化。", markup=False)
        return
    out.print(f"已导入 {done.unit_name} 的工作台账：{len(done.changed)} 条进展更新，"
              f"{done.unchanged} 条无变化。", markup=False)
    if missing:
        out.print(f"其中 {len(missing)} 条标为已完成但尚未登记报送材料（{DONE_WITHOUT_EVIDENCE}），"
                  "仍按未完成督办。", markup=False)


# -- duban inbox ---------------------------------------------------------------------------

class InboxGroup(DubanGroup):
    """``duban inbox [文件夹]`` sorts the inbox; ``duban inbox assign FILE`` places one file.

    A click group cannot have an optional positional argument before its subcommands, so
    a first word that is not a subcommand is passed on as the hidden ``--folder``."""

    VALUE_OPTIONS = ("--today", "--plan", "--folder")

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = list(args)
        i = 0
        while i < len(args):
            word = args[i]
            if word in self.VALUE_OPTIONS:
                i += 2
                continue
            if word.startswith("-"):
                i += 1
                continue
            if word not in self.commands:
                args[i:i + 1] = ["--folder", word]
            break
        return super().parse_args(ctx, args)


inbox_app = typer.Typer(cls=InboxGroup, invoke_without_command=True, context_settings=_HELP,
                        help="处理收件文件夹（duban inbox [文件夹]）；duban inbox assign 登记一个未能自动登记的来件。")
app.add_typer(inbox_app, name="inbox")


@inbox_app.callback()
def inbox(ctx: typer.Context,
          directory: Annotated[Path | None, typer.Option(
              "--folder", hidden=True, help="收件文件夹，默认 var/inbox/。", show_default=False)] = None,
          today: TodayOption = None, plan: PlanOption = "plan.yaml", as_json: JsonOption = False) -> None:
    """处理收件文件夹：按单位文件夹或文件名登记报送、导入统计表和工作台账，认不出的移到 unmatched/。"""
    from flows.intake_imports import unit_names
    from models import ledger

    if ctx.invoked_subcommand is not None:
        return
    from flows.inbox import process_inbox

    loaded = load_plan(plan)
    if directory is not None and not directory.is_dir():
        raise DubanError(f"找不到收件文件夹 {directory}", "检查路径；默认是 var/inbox/")
    folder = directory or var_dir() / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        ledger.require_synced(session, hint="先运行 duban sync，再处理收件文件夹")
    waiting = sum(1 for f in folder.rglob("*")  # what is new: not yet sorted into processed/ or unmatched/
                  if f.is_file() and not {"processed", "unmatched"} & set(f.relative_to(folder).parts[:1]))
    with Steps("收件文件夹") as steps:
        steps.step(f"登记 {folder} 中的 {waiting} 个文件")
        report = process_inbox(plan=loaded, inbox_dir=folder, today=resolve_today(today), actor=actor())
    if as_json:
        print_json(report.as_json())
    else:
        from flows.intake_record import milestone_title

        names = unit_names(loaded)
        for item in report.items:
            who = names.get(item.unit or "", "")
            what = f"{who} · {milestone_title(loaded, item.milestone)}" if item.milestone else who
            mark = {"unmatched": "未处理", "duplicate": "重复", "container": "已打开"}.get(item.outcome, "已登记")
            out.print(fold(f"{mark}：{item.path}" + (f"（{what}）" if what else "") + f" — {item.detail}",
                           out.width), markup=False)
        for skipped in report.skipped:
            out.print(f"跳过：{skipped}（临时文件或系统文件，留在原处）", markup=False)
        for warning in report.warnings:
            err.print(f"警告：{warning}", markup=False)
        out.print(f"收件文件夹 {folder}：登记 {len(report.recorded)} 个，重复 {len(report.by('duplicate'))} 个，"
                  f"未能处理 {len(report.unmatched)} 个。", markup=False)
    if report.unmatched:
        raise DubanError(f"有 {len(report.unmatched)} 个文件未能处理，已移到 {folder / 'unmatched'}",
                         "原因和改法见同名的 .reason.txt 文件；改正后重新放入收件文件夹")


@inbox_app.command("assign")
def inbox_assign(
    file: Annotated[Path, typer.Argument(help="unmatched/ 中的文件（相对收件文件夹或完整路径）。")],
    unit: RequiredUnitOption,
    milestone: MilestoneOption,
    folder: Annotated[Path | None, typer.Option("--folder", help="收件文件夹，默认 var/inbox/。")] = None,
    today: TodayOption = None, plan: PlanOption = "plan.yaml", as_json: JsonOption = False,
) -> None:
    """把一个未能自动登记的来件登记到指定单位和节点，并移出 unmatched/（同 duban record 的查重）。"""
    from flows.intake_assign import assign_unmatched
    from flows.intake_record import milestone_title, resolve_milestone, resolve_unit

    loaded = load_plan(plan)
    unit = resolve_unit(loaded, unit)
    milestone = resolve_milestone(loaded, milestone, unit_id=unit)
    inbox_dir = folder or var_dir() / "inbox"
    done = assign_unmatched(plan=loaded, inbox_dir=inbox_dir, file=file, unit=unit, milestone=milestone,
                            today=resolve_today(today), actor=actor())
    if as_json:
        print_json(done)
        return
    title = milestone_title(loaded, milestone)
    out.print(fold(f"已登记：{done['unit_name']} · {title}，文件 {done['file']}（sha256 {done['sha256'][:12]}），"
                   f"已移到 {done['moved_to']}。", out.width), markup=False)
