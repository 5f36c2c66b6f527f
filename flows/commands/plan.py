"""Commands about the plan itself: init, check, sync."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows.commands.app import app, print_problems
from flows.commands.console import JsonOption, PlanArgument, TodayOption, actor, err, out, print_json
from flows.commands.terminal import fold
from models.db import database_url, get_engine, migrate, var_dir
from plan.errors import DubanError, PlanError, Problem, warning_lines

if TYPE_CHECKING:
    from plan.model import Plan


@app.command()
def init() -> None:
    """创建 var/ 目录、迁移台账数据库，预先编译邮件和公文模板、准备 Prefect 本地数据库，让第一次运行更快。"""
    from flows.prefect_env import configure_prefect

    for sub in ("", "outbox", "files", "inbox", "reports", "log"):
        (var_dir() / sub).mkdir(parents=True, exist_ok=True)
    applied = migrate(get_engine())
    out.print(f"台账数据库：{get_engine().url.render_as_string(hide_password=True)}"
              f"（{'已迁移到最新版本' if applied else '已是最新版本'}）")
    prepare_caches()
    out.print(f"邮件和公文模板：{var_dir() / 'cache'}（已预先编译）")
    configure_prefect()
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
        env=os.environ.copy(), capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise DubanError("Prefect 本地数据库准备失败：" + (result.stderr.strip().splitlines() or ["?"])[-1],
                         "检查 PREFECT_HOME 目录是否可写；也可以跳过，第一次运行时会自动准备")
    out.print(f"Prefect 本地数据库：{os.environ['PREFECT_HOME']}（已就绪）")


def prepare_caches() -> None:
    """Compile the notice templates and build the empty GB/T 9704 documents into var/cache,
    so the first ``duban run`` costs what every later one does."""
    from notifications import gbt9704, render

    render.precompile()
    for draft in (False, True):
        gbt9704.prepare_template(draft=draft)


def plan_summary(plan: Plan) -> dict[str, Any]:
    return {
        "tasks": len(plan.tasks),
        "units": len(plan.units),
        "milestones": len(plan.milestones()),
        "entries": len(plan.obligations()),
        "unconfirmed_owners": len(plan.unconfirmed_owners()),
    }


def _problems_json(problems: list[Problem]) -> list[dict[str, object]]:
    return [p.as_json() for p in problems]


VerboseOption = Annotated[bool, typer.Option(
    "--verbose", help="逐条列出全部警告（默认把同一类占位地址警告合并成一行）。")]


@app.command()
def check(plan: PlanArgument = "plan.yaml", as_json: JsonOption = False,
          verbose: VerboseOption = False) -> None:
    """检查 plan.yaml：列出全部错误和警告（文件:行:列、键路径、原因、改法）。有效时退出码 0。"""
    from plan.loader import load_plan

    try:
        loaded = load_plan(plan)
    except PlanError as exc:
        if as_json:  # always complete: scripts read every warning
            print_json({"ok": False, "tasks": 0, "units": 0, "milestones": 0, "entries": 0,
                        "unconfirmed_owners": 0, "warnings": _problems_json(exc.warnings),
                        "errors": _problems_json(exc.problems)})
            raise typer.Exit(1) from None
        print_problems([exc.report(verbose)])
        err.print(f"错误：{exc.message}", markup=False)
        err.print(f"提示：{exc.hint}", markup=False)
        raise typer.Exit(1) from None
    summary = plan_summary(loaded)
    if as_json:
        print_json({"ok": True, **summary, "warnings": _problems_json(loaded.warnings), "errors": []})
        return
    print_problems(warning_lines(loaded.warnings, verbose))
    out.print(fold(
        f"{plan} 有效：{summary['tasks']} 项任务，{summary['units']} 个单位，"
        f"{summary['milestones']} 个节点，{summary['entries']} 条台账义务。", out.width), markup=False)
    if summary["unconfirmed_owners"]:
        tasks = "、".join(str(n) for n in loaded.unconfirmed_owners())
        out.print(fold(f"待确认：任务 {tasks} 的责任单位是推定的（owners_confirmed: false），请与相关单位确认。",
                       out.width), markup=False)
    if loaded.warnings:
        out.print(f"{len(loaded.warnings)} 条警告（见上）。", markup=False)


@app.command()
def sync(
    plan: PlanArgument = "plan.yaml",
    today: TodayOption = None,
    as_json: JsonOption = False,
) -> None:
    """按 plan.yaml 更新台账：新增、修改、归档（报送记录永不删除）。重复运行不会再改动。"""
    del today
    if _already_synced(plan):  # the common case, answered without parsing or SQLAlchemy
        unchanged: dict[str, dict[str, list[str]]] = {"added": {}, "changed": {}, "archived": {}, "restored": {}}
        if as_json:
            print_json(unchanged)
        else:
            print_diff(unchanged)
        return
    from plan.loader import load_plan

    loaded = load_plan(plan)  # validated before the ledger is touched: a bad plan changes nothing
    migrate(get_engine())
    # A single step: the plain function, no Prefect (its server start cost seconds for
    # milliseconds of SQL).
    from flows.steps import sync_step

    diff = sync_step(loaded, actor=actor())
    if as_json:
        print_json(diff)
        return
    print_diff(diff)


def _already_synced(plan: str) -> bool:
    """True when the SQLite ledger records that its last sync applied exactly this file's
    bytes with this code (models.sync_read); False whenever that cannot be read cheaply."""
    from models.lite import sqlite_reader
    from models.sync_read import plan_fingerprint, stored_fingerprint_sqlite
    from plan.plan_file import source_sha256

    try:
        raw = Path(plan).read_bytes()
    except OSError:
        return False  # load_plan reports it, with the place and the fix
    with sqlite_reader() as conn:
        return conn is not None and stored_fingerprint_sqlite(conn) == plan_fingerprint(source_sha256(raw))


def print_diff(diff: dict[str, dict[str, list[str]]]) -> None:
    labels = {"unit": "单位", "task": "任务", "milestone": "节点", "entry": "台账条目"}
    verbs = {"added": "新增", "changed": "修改", "archived": "归档", "restored": "恢复"}
    lines = []
    for part, verb in verbs.items():
        for kind, ids in diff.get(part, {}).items():
            if not ids:
                continue
            sample = "、".join(ids[:6]) + ("、…" if len(ids) > 6 else "")
            lines.append(f"  {verb}{labels[kind]} {len(ids)}：{sample}")
    if not lines:
        out.print(f"台账已与方案一致，没有改动（{database_url_display()}）。")
        return
    out.print(f"方案已同步到台账（{database_url_display()}）：", markup=False)
    for line in lines:
        out.print(fold(line, out.width, indent=4), markup=False)


def database_url_display() -> str:
    url = database_url()
    if url.startswith("sqlite:"):  # no password to hide, and no SQLAlchemy needed to say so
        return url
    return get_engine().url.render_as_string(hide_password=True) if url else ""

