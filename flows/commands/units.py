"""``duban units`` and ``duban milestones``: the ids next to the names a coordinator knows.

Every ``--unit``/``--milestone`` accepts a name too, so these lists are for reading, for
scripts (``--json``) and for the rare case where a name is ambiguous.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from flows.commands.app import app
from flows.commands.console import JsonOption, PlanOption, out, print_json
from plan import load_plan

ROLE_LABELS = {"reporting": "报送单位", "task-only": "只承担任务"}
SOURCE_LABELS = {"seed": "通知原文", "confirmed": "已确认", "assumed": "推定（待确认）"}
WideOption = Annotated[bool, typer.Option("--wide", help="显示单位全称（终端较宽时用）。")]


@app.command()
def units(plan: PlanOption = "plan.yaml", wide: WideOption = False, as_json: JsonOption = False) -> None:
    """列出全部单位：编号、简称、全称和角色；--unit 写其中任何一个都可以。"""
    loaded = load_plan(plan)
    if as_json:
        print_json([{"id": u.id, "short_name": u.short, "name": u.name, "kind": u.kind,
                     "role": u.resolved_role, "aliases": list(u.aliases)} for u in loaded.units.values()])
        return
    table = Table(title=f"单位（共 {len(loaded.units)} 个）", title_justify="left")
    table.add_column("编号", no_wrap=True)
    table.add_column("简称", no_wrap=True)
    table.add_column("全称", overflow="fold")
    table.add_column("角色", no_wrap=True)
    for u in loaded.units.values():
        # 80 columns: the full name only where the short one is not just its abbreviation
        full = u.name if wide or u.short not in u.name else ""
        table.add_row(u.id, u.short, full, ROLE_LABELS[u.resolved_role])
    out.print(table)
    if not wide:
        out.print("全称一栏空着的，就是简称加上「区知识产权局」等；加 --wide 显示全部全称。")


@app.command()
def milestones(
    unit: Annotated[str | None, typer.Option("--unit", show_default=False,
                                             help="只列这个单位要报送的节点（编号、名称或简称）。")] = None,
    plan: PlanOption = "plan.yaml",
    as_json: JsonOption = False,
) -> None:
    """列出节点：编号、名称、截止日期和日期来源；--milestone 写编号或名称（开头几个字）都可以。"""
    from flows.intake_record import resolve_unit

    loaded = load_plan(plan)
    unit_id = resolve_unit(loaded, unit) if unit else None
    chosen = sorted((m for m in loaded.milestones() if unit_id is None or unit_id in m.units),
                    key=lambda m: (m.due, m.task or 0, m.id))
    if as_json:
        print_json([{"id": m.id, "title": m.title, "due": m.due.isoformat(), "task": m.task,
                     "source": m.source, "units": list(m.units)} for m in chosen])
        return
    who = f"{loaded.units[unit_id].name}的" if unit_id else ""
    table = Table(title=f"{who}节点（共 {len(chosen)} 个）", title_justify="left")
    table.add_column("截止", no_wrap=True)
    table.add_column("编号", no_wrap=True)
    table.add_column("名称", overflow="fold")
    table.add_column("日期来源", no_wrap=True)
    for m in chosen:
        table.add_row(m.due.isoformat(), m.id, m.title, SOURCE_LABELS.get(m.source, m.source))
    out.print(table)
