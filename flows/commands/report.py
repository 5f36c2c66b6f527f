"""Leadership commands: ``duban digest``, ``duban evaluate …`` and ``duban request …``.

``digest`` and ``evaluate`` run as Prefect flows (for the artifacts and run history) after
the plan is validated; when Prefect is switched off (no API and the local server
disabled) they run the same functions directly and say that no artifacts were published.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Any

import typer

from flows.commands.app import DubanGroup, app
from flows.commands.console import (
    JsonOption,
    PlanOption,
    Steps,
    TodayOption,
    actor,
    err,
    out,
    parse_date,
    print_json,
    resolve_today,
)
from flows.commands.terminal import fold
from models.db import get_engine, migrate, session_scope
from plan import load_plan
from plan.evaluation import LIST_LABELS, PERIOD_LABELS

PeriodOption = Annotated[str, typer.Option("--period", help="评估期：half-year（半年）或 annual（全年）。")]


def prefect_enabled() -> bool:
    """False when Prefect has neither a server URL nor its local (ephemeral) server."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    return os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").strip().lower() not in ("false", "0", "no")


def _check_period(period: str) -> None:
    if period not in PERIOD_LABELS:
        raise typer.BadParameter(f"「{period}」无效，可选 half-year（半年）或 annual（全年）",
                                 param_hint="--period")


def _prepare(plan: str) -> None:
    load_plan(plan)  # a broken plan is refused before Prefect starts, and changes nothing
    if prefect_enabled():
        from flows.prefect_local import start_local_api

        start_local_api()  # Prefect's local server starts while the ledger and the flow are prepared
    migrate(get_engine())


def _no_prefect_note() -> None:
    err.print(fold("提示：Prefect 未启用（PREFECT_SERVER_EPHEMERAL_ENABLED=false 且未设置 PREFECT_API_URL），"
                   "已直接运行，结果未发布到 Prefect 界面。", err.width), markup=False)


# -- digest --------------------------------------------------------------------------------

@app.command()
def digest(
    today: TodayOption = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="只生成看板、工作簿和 Markdown，不发邮件。")] = False,
    plan: PlanOption = "plan.yaml",
    as_json: JsonOption = False,
) -> None:
    """局领导进度简报：HTML 邮件（经发件箱）、var/reports/<日期>/ 下的看板、Markdown 和 Excel 台账。"""
    as_of = resolve_today(today)
    _prepare(plan)
    if prefect_enabled():
        from flows.digest import digest as digest_flow
        from flows.prefect_env import run_in_foreground

        with Steps("进度简报") as steps:
            steps.step("汇总台账，生成看板、工作簿和邮件（Prefect 流程）")
            summary: dict[str, Any] = run_in_foreground(digest_flow, plan_path=plan, today=as_of.isoformat(),
                                                        email=not no_email)
    else:
        from flows.report_jobs import run_digest

        with Steps("进度简报") as steps:
            steps.step("汇总台账，生成看板、工作簿和邮件")
            summary = run_digest(plan_path=plan, today=as_of, email=not no_email).summary
        if not as_json:
            _no_prefect_note()
    if as_json:
        print_json(summary)
        return
    out.print(f"简报第 {summary['number']} 期（截至 {summary['today']}）：{summary['headline']}", markup=False)
    for a in summary["attention"]:
        out.print(f"  本期需关注：{a['name']}：{a['reason']}", markup=False)
    files = summary["files"]
    out.print(f"看板：{files['dashboard']}（共 {files['pages']} 页）", markup=False)
    out.print(f"简报 PDF：{files['brief']}；工作簿：{files['workbook']}；Markdown：{files['markdown']}",
              markup=False)
    if summary["queued"]:
        out.print("邮件：已放入发件箱（附简报 PDF 和 Excel 台账），下一次 duban run 时发出；"
                  "duban outbox 可查看。", markup=False)
    else:
        out.print(f"邮件：{summary['email_skipped']}。", markup=False)


# -- evaluate ------------------------------------------------------------------------------

evaluate_app = typer.Typer(cls=DubanGroup, help="评估：通报表扬/通报批评建议名单、通报草稿、整改和约谈。",
                           invoke_without_command=True)
app.add_typer(evaluate_app, name="evaluate")


def _print_evaluation(result: dict[str, Any]) -> None:
    label = PERIOD_LABELS[result["period"]]
    state = "已审定" if result["status"] == "approved" else "建议名单，待局领导审定"
    out.print(f"{label}评估（截至 {result['today']}，{state}）", markup=False)
    for kind in ("commend", "criticise"):
        units = result[kind]
        out.print(f"{LIST_LABELS[kind]}：{len(units)} 个单位" + ("" if units else "（无）"), markup=False)
        for u in units:
            out.print(f"  {u['rank']}. {u['name']}  得分 {u['score']:g}", markup=False)
            for r in u["reasons"]:
                if r["points"] < 0 or r["rule"] in ("list", "override"):
                    out.print(fold(f"     - {r['text']}", out.width), markup=False)
    if result["criticise"] and result.get("rectify_due"):
        out.print(fold(f"整改：已为通报批评单位建立整改台账条目（期限 {result['rectify_due']}）和约谈事项，"
                       "由每日督办周期跟踪催办。", out.width), markup=False)
    if result.get("withdrawn"):
        names = {s["unit"]: s["name"] for s in result["scores"]}
        out.print(fold("已撤销整改事项（不再列入通报批评）："
                       + "、".join(names.get(u, u) for u in result["withdrawn"]), out.width, after="、"),
                  markup=False)
    files = result["files"]
    draft = result["status"] != "approved"
    for kind in ("commend", "criticise"):
        name = LIST_LABELS[kind]
        if f"{kind}_docx" in files:
            out.print(f"{name}{'草稿' if draft else ''}：{files[f'{kind}_docx']}", markup=False)
        elif not result[kind]:
            # An empty list is not a notice: say so instead of printing a document that says nothing.
            out.print(f"本期无{'建议' if draft else ''}{name}的单位，未生成{name}{'草稿' if draft else ''}。",
                      markup=False)
    if "scores_xlsx" in files:
        out.print(f"评分明细（得分和扣分依据，不随通报印发）：{files['scores_xlsx']}", markup=False)


@evaluate_app.callback()
def evaluate(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option("--period", help="评估期：half-year（半年）或 annual（全年）。")] = None,
    today: TodayOption = None,
    include: Annotated[list[str] | None, typer.Option(
        "--include", help="把单位（编号或名称）列入名单（与 --list 合用），可重复。")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="把单位（编号或名称）移出名单。")] = None,
    target: Annotated[str | None,
                      typer.Option("--list", help="--include 列入哪个名单：commend 表扬 / criticise 批评。")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="调整名单的理由（与操作人一起记录）。")] = None,
    plan: PlanOption = "plan.yaml",
    as_json: JsonOption = False,
) -> None:
    """按 plan.yaml 的评估规则打分，生成通报表扬/通报批评建议名单和通报草稿（.docx、Markdown）。

    例：duban evaluate --period half-year --today 2024-07-20
    """
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        raise typer.BadParameter("请指定评估期：--period half-year 或 --period annual", param_hint="--period")
    _check_period(period)
    as_of = resolve_today(today)
    _prepare(plan)
    from flows.intake_record import resolve_unit

    named = load_plan(plan)  # --include/--exclude take names like every --unit
    include = [resolve_unit(named, u, option="--include") for u in include or []]
    exclude = [resolve_unit(named, u, option="--exclude") for u in exclude or []]
    kwargs = dict(plan_path=plan, period=period, actor=actor(), include=include,
                  exclude=exclude, target=target, reason=reason)
    if prefect_enabled():
        from flows.evaluate import evaluate as evaluate_flow
        from flows.prefect_env import run_in_foreground

        with Steps("评估") as steps:
            steps.step(f"{PERIOD_LABELS.get(period, period)}打分，生成名单和通报草稿（Prefect 流程）")
            result: dict[str, Any] = run_in_foreground(evaluate_flow, today=as_of.isoformat(), **kwargs)
    else:
        from flows.report_jobs import run_evaluation

        with Steps("评估") as steps:
            steps.step(f"{PERIOD_LABELS.get(period, period)}打分，生成名单和通报草稿")
            result = run_evaluation(today=as_of, **kwargs).as_json()  # type: ignore[arg-type]
        if not as_json:
            _no_prefect_note()
    if as_json:
        print_json(result)
        return
    _print_evaluation(result)


@evaluate_app.command("show")
def evaluate_show(period: PeriodOption = "half-year", plan: PlanOption = "plan.yaml",
                  as_json: JsonOption = False) -> None:
    """显示最近一次评估的名单、得分和理由（不重新评估）。"""
    _check_period(period)
    from flows.report_jobs import show_evaluation
    from models.ledger import require_synced

    with session_scope() as session:
        require_synced(session)  # the same refusal as status, before "no evaluation yet"
    result = show_evaluation(plan_path=plan, period=period).as_json()
    if as_json:
        print_json(result)
        return
    _print_evaluation(result)


@evaluate_app.command("approve")
def evaluate_approve(period: PeriodOption = "half-year", today: TodayOption = None,
                     plan: PlanOption = "plan.yaml", as_json: JsonOption = False) -> None:
    """记录局领导审定：名单不再变动，重新生成不带“草稿”字样的通报（落款日期为审定日）。"""
    _check_period(period)
    from flows.report_jobs import approve_evaluation

    result = approve_evaluation(plan_path=plan, period=period, today=resolve_today(today), actor=actor()).as_json()
    if as_json:
        print_json(result)
        return
    out.print(f"已审定{PERIOD_LABELS[period]}评估名单（{actor()}）：表扬 {len(result['commend'])} 个单位，"
              f"批评 {len(result['criticise'])} 个单位。", markup=False)
    for key, name in (("commend_docx", "通报表扬"), ("criticise_docx", "通报批评")):
        if key in result["files"]:
            out.print(f"{name}：{result['files'][key]}", markup=False)
        else:  # an empty list has no notice (as in the draft); approving it must not crash
            out.print(f"本期无{name}的单位，未生成{name}。", markup=False)


@evaluate_app.command("review")
def evaluate_review(
    unit: Annotated[str, typer.Argument(help="被通报批评的单位（编号或名称）。")],
    result: Annotated[str, typer.Option("--result", help="复查结果：pass（合格）或 fail（不合格）。")],
    period: PeriodOption = "half-year",
    date: Annotated[str | None, typer.Option("--date", help="复查日期（YYYY-MM-DD），默认 --today。")] = None,
    note: Annotated[str | None, typer.Option("--note", help="复查意见。")] = None,
    plan: PlanOption = "plan.yaml",
    today: TodayOption = None,
) -> None:
    """登记整改复查结果；不合格会在下一次评估中扣分。"""
    _check_period(period)
    if result not in ("pass", "fail"):
        raise typer.BadParameter(f"「{result}」无效，可选 pass（合格）或 fail（不合格）", param_hint="--result")
    on = parse_date(date) or resolve_today(today)
    from flows.intake_record import resolve_unit
    from models import evaluations as ev

    loaded = load_plan(plan)
    unit = resolve_unit(loaded, unit, option="单位")

    with session_scope() as session:
        ev.review(session, period=period, unit_id=unit, result=result, on=on, actor=actor(), note=note)
    verdict = "合格" if result == "pass" else "不合格"
    out.print(f"已登记：{loaded.units[unit].name} {PERIOD_LABELS[period]}评估整改复查{verdict}（{on}）。",
              markup=False)


@evaluate_app.command("interview")
def evaluate_interview(
    unit: Annotated[str, typer.Argument(help="被约谈的单位（编号或名称）。")],
    period: PeriodOption = "half-year",
    held: Annotated[str | None, typer.Option("--held", help="约谈日期（YYYY-MM-DD），默认 --today。")] = None,
    note: Annotated[str | None, typer.Option("--note", help="约谈情况。")] = None,
    plan: PlanOption = "plan.yaml",
    today: TodayOption = None,
) -> None:
    """登记已约谈（关闭协调处室名下的约谈事项）。"""
    _check_period(period)
    on = parse_date(held) or resolve_today(today)
    loaded = load_plan(plan)
    from flows.intake_record import resolve_unit
    from models import evaluations as ev

    unit = resolve_unit(loaded, unit, option="单位")

    with session_scope() as session:
        ev.interview_held(session, period=period, unit_id=unit, on=on, coordinator=loaded.meta.coordinator,
                          actor=actor(), note=note)
    out.print(f"已登记：{loaded.units[unit].name} 已于 {on} 约谈。", markup=False)


# -- requests (请示 → 批复) -------------------------------------------------------------------

request_app = typer.Typer(cls=DubanGroup, help="请示 → 批复：登记单位请示，跟踪答复和落实。",
                          no_args_is_help=True)
app.add_typer(request_app, name="request")


def _request_json(item: Any) -> dict[str, Any]:
    from models.requests import STATUS_LABELS

    return {"id": item.id, "unit": item.unit_id, "division": item.division_id, "title": item.title,
            "received": item.received.isoformat(), "reply_due": item.reply_due.isoformat(),
            "replied_on": item.replied_on.isoformat() if item.replied_on else None,
            "follow_up_due": item.follow_up_due.isoformat() if item.follow_up_due else None,
            "done_on": item.done_on.isoformat() if item.done_on else None,
            "status": item.status, "status_label": STATUS_LABELS[item.status]}


def _deadline(plan: Any, start: dt.date, within: int) -> dt.date:
    from flows.report_jobs import request_deadlines

    return request_deadlines(plan, start, within)


@request_app.command("add")
def request_add(
    unit: Annotated[str, typer.Option("--unit", show_default=False,
                                      help="提出请示的单位：编号、名称或简称，例如 pudong、浦东。")],
    title: Annotated[str, typer.Option("--title", help="请示事项。")],
    received: Annotated[str | None, typer.Option("--received", help="收到日期（YYYY-MM-DD），默认 --today。")] = None,
    division: Annotated[str | None,
                        typer.Option("--division", show_default=False,
                                     help="负责答复的处室（编号或名称），默认 requests.division。")] = None,
    plan: PlanOption = "plan.yaml",
    today: TodayOption = None,
    as_json: JsonOption = False,
) -> None:
    """登记一件请示；按 plan.yaml 的 requests.reply_within 定答复期限，由负责处室承办。"""
    from flows.intake_record import resolve_unit
    from plan.errors import DubanError

    loaded = load_plan(plan)
    unit = resolve_unit(loaded, unit)
    if division is not None:
        division = resolve_unit(loaded, division, option="--division")
        if loaded.units[division].kind != "division":
            divisions = "、".join(f"{u.name}（{u.id}）" for u in loaded.units.values() if u.kind == "division")
            raise DubanError(f"--division：「{loaded.units[division].name}」不是局机关处室，不能承办请示的答复",
                             f"写一个处室：{divisions}")
    day = parse_date(received) or resolve_today(today)
    due = _deadline(loaded, day, loaded.requests.reply_within)
    from models.requests import add_request

    with session_scope() as session:
        item = add_request(session, unit_id=unit, division_id=division or loaded.requests.division,
                           title=title, received=day, reply_due=due, actor=actor())
        data = _request_json(item)
    if as_json:
        print_json(data)
        return
    out.print(fold(f"已登记第 {data['id']} 号请示（{loaded.units[unit].name}）：{data['title']}；"
                   f"{loaded.units[data['division']].name} 应于 {due} 前答复。", out.width), markup=False)


@request_app.command("reply")
def request_reply(
    number: Annotated[int, typer.Argument(help="请示编号。")],
    date: Annotated[str | None, typer.Option("--date", help="批复日期（YYYY-MM-DD），默认 --today。")] = None,
    note: Annotated[str | None, typer.Option("--note", help="批复要点。")] = None,
    plan: PlanOption = "plan.yaml",
    today: TodayOption = None,
) -> None:
    """登记批复；随后按 requests.follow_up_within 跟踪批复的落实。"""
    loaded = load_plan(plan)
    on = parse_date(date) or resolve_today(today)
    from models.requests import reply

    with session_scope() as session:
        item = reply(session, number=number, on=on, actor=actor(), note=note,
                     follow_up_due=_deadline(loaded, on, loaded.requests.follow_up_within))
        due = item.follow_up_due
    out.print(f"已登记第 {number} 号请示的批复（{on}）；应于 {due} 前跟踪落实。", markup=False)


@request_app.command("done")
def request_done(
    number: Annotated[int, typer.Argument(help="请示编号。")],
    date: Annotated[str | None, typer.Option("--date", help="落实日期（YYYY-MM-DD），默认 --today。")] = None,
    note: Annotated[str | None, typer.Option("--note", help="落实情况。")] = None,
    today: TodayOption = None,
) -> None:
    """登记批复已落实，办结这件请示。"""
    on = parse_date(date) or resolve_today(today)
    from models.requests import done

    with session_scope() as session:
        done(session, number=number, on=on, actor=actor(), note=note)
    out.print(f"第 {number} 号请示已办结（{on}）。", markup=False)


@request_app.command("list")
def request_list(
    open_only: Annotated[bool, typer.Option("--open", help="只列未办结的请示。")] = False,
    plan: PlanOption = "plan.yaml",
    as_json: JsonOption = False,
) -> None:
    """列出请示及其答复、落实情况。"""
    from models.ledger import require_synced
    from models.requests import list_requests

    units = load_plan(plan).units
    with session_scope() as session:
        require_synced(session)
        items = [_request_json(i) for i in list_requests(session, open_only=open_only)]
    if as_json:
        print_json(items)
        return
    if not items:
        out.print("没有请示。")
        return
    from rich.table import Table

    # At 80 columns four full dates leave the 事项 no room and get cut to "2024-07-…": within
    # one year the year goes in the title and the dates are shown as MM-DD, as status does.
    dated = ("received", "reply_due", "replied_on", "follow_up_due")
    years = {i[k][:4] for i in items for k in dated if i[k]}
    day = (lambda d: d[5:] if d else "") if len(years) == 1 else (lambda d: d or "")
    table = Table(title="请示办理" + (f"（{years.pop()} 年）" if len(years) == 1 else ""), title_justify="left")
    for name in ("编号", "单位", "事项", "收到", "答复期限", "批复", "落实期限", "状态"):
        table.add_column(name, no_wrap=name not in ("事项", "单位"))
    for i in items:
        shown = units[i["unit"]].short if i["unit"] in units else i["unit"]
        table.add_row(str(i["id"]), shown, i["title"], *(day(i[k]) for k in dated), i["status_label"])
    out.print(table)
