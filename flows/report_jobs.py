"""The digest and the evaluation as plain functions (no Prefect): what the flows and the
commands call, and what the tests call directly.

Each runs in one transaction: a refusal (bad unit, approved period, missing reason)
leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from flows.gc_pause import gc_paused
from models import evaluations as ev
from models import ledger
from models.db import session_scope, var_dir
from models.report_tables import EvaluationRun, RequestItem
from models.reports import (
    Statistics,
    assumed_milestones,
    digest_number,
    fired_rungs,
    previous_snapshot_date,
    save_snapshot,
    snapshot_history,
    statistics,
    stats_period,
    stats_states,
    task_only_units,
)
from models.requests import list_requests
from models.schedule import recent_job_failures
from notifications import notice_docx
from notifications.attachments import Attachment, freeze, plan_attachment
from notifications.dashboard import write_dashboard
from notifications.digest_pdf import start_brief
from notifications.digest_render import (
    DigestView,
    FollowUp,
    headline,
    render_email,
    render_markdown,
    units_table,
    view,
)
from notifications.score_sheet import write_score_sheet
from notifications.workbook import write_workbook
from plan import load_plan
from plan.digest_rules import Digest, build
from plan.errors import DubanError
from plan.evaluation import (
    LIST_LABELS,
    PERIOD_LABELS,
    UnitScore,
    deadline,
    evaluate,
    listed,
    public_facts,
)
from plan.model import Plan
from plan.status import Classifier, ReportedProgress, State
from plan.workdays import WorkCalendar

# -- digest --------------------------------------------------------------------------------


@dataclass
class DigestResult:
    today: dt.date
    folder: Path
    files: dict[str, str]
    queued: list[str]
    email_skipped: str | None
    markdown: str
    units_table: list[dict[str, Any]]
    progress: float
    summary: dict[str, Any]


def _statistics(session: Session, plan: Plan, today: dt.date) -> Statistics | None:
    reports = [(r.period, r.due) for r in plan.reports.values() if r.stats_table and r.period]
    period = stats_period(reports, today)
    if period is None:
        return None
    names = {u.id: u.name for u in plan.units.values()}
    try:
        return statistics(session, period=period, names=names)
    except ImportError:  # the intake feature is not installed in this build
        return Statistics(period=period, label=PERIOD_LABELS.get(period, period), available=False,
                          note="案件统计功能尚未启用，本期简报不含统计数据。")


def _progress(session: Session) -> dict[int, ReportedProgress]:
    """What units reported in their ledger workbooks, for the dashboard's unit pages."""
    try:
        from models.intake import reported_progress
    except ImportError:  # the intake feature is not installed in this build
        return {}
    return reported_progress(session)


def _follow_ups(session: Session, digest: Digest, plan: Plan, classifier: Classifier) -> list[FollowUp]:
    """Open 整改, 约谈 and 请示 lines, their state read from their ledger entries."""
    rects, meetings = ev.open_follow_ups(session)
    requests = list_requests(session, open_only=True)
    # Only the entries of these milestones are looked up: keying all 200,000 entries of a
    # national ledger took a second for a handful of lines.
    wanted = {r.milestone_id for r in rects} | {m.milestone_id for m in meetings} | {
        f"request-{r.id}" + ("" if r.status == "open" else "-followup") for r in requests}
    states = {(row.milestone_id, row.unit_id): (row, state) for row, state, _ in digest.entries
              if row.milestone_id in wanted}
    names = {u.id: u.name for u in plan.units.values()}
    out: list[FollowUp] = []

    def line(kind: str, unit: str, title: str, milestone: str, owner: str, extra: str = "") -> None:
        found = states.get((milestone, owner))
        if found is None:
            return
        row, state = found
        if state is State.WAIVED:
            return
        days = classifier.days_overdue(row.due) if state is State.OVERDUE else 0
        label = {State.OVERDUE: f"逾期 {days} 个工作日", State.ON_TIME: "已完成", State.LATE: "逾期完成",
                 State.DUE_SOON: "即将到期", State.NOT_DUE: "办理中"}[state]
        out.append(FollowUp(kind, unit, title, row.due, label + extra, days))

    for r in rects:
        review = {"pass": "，复查合格", "fail": "，复查不合格"}.get(r.review_result or "", "")
        line("整改", names.get(r.unit_id, r.unit_id), f"{PERIOD_LABELS.get(r.period, r.period)}评估整改报告",
             r.milestone_id, r.unit_id, review)
    for m in meetings:
        line("约谈", names.get(m.unit_id, m.unit_id), f"{PERIOD_LABELS.get(m.period, m.period)}评估通报批评约谈",
             m.milestone_id, plan.meta.coordinator)
    # A scheduled job that failed since the previous digest (or in the last week) is news too.
    since = digest.since or classifier.today - dt.timedelta(days=7)
    for run in recent_job_failures(session, since):
        if run.run_date <= classifier.today:
            out.append(FollowUp("定时作业", "—", f"{run.job_id}（{run.flow}）运行失败：{(run.error or '')[:120]}",
                                run.run_date, "失败，需人工处理"))
    for req in requests:
        milestone = f"request-{req.id}" if req.status == "open" else f"request-{req.id}-followup"
        stage = "待批复" if req.status == "open" else "批复落实跟踪"
        line("请示", names.get(req.unit_id, req.unit_id), f"第{req.id}号 {req.title}（{stage}，"
             f"{names.get(req.division_id, req.division_id)}负责）", milestone, req.division_id)
    return out


def _email_row(plan: Plan, v: DigestView, today: dt.date,
               files: list[tuple[Path, str]]) -> tuple[dict[str, Any], list[tuple[Attachment, bytes]]]:
    """The digest's outbox row, and its attachments with the bytes to freeze if it is queued."""
    from notifications.compose import check_address, default_sender, mailbox, make_message_id

    sender = default_sender(plan.meta.mailbox, plan.meta.issuer)
    email = render_email(v)
    key = f"digest/{today.isoformat()}"
    to = []
    for contact in plan.meta.leadership:
        check_address(contact.email, where=f"局领导（{contact.name}）")
        to.append(mailbox(contact.name, contact.email))
    attachments = [plan_attachment(key, path, name) for path, name in files]
    return ({"key": key, "message_id": make_message_id(key, sender), "kind": "digest", "run_date": today,
             "unit_id": None, "sender": sender, "to": to, "cc": [], "subject": email.subject,
             "body_text": email.text, "body_html": email.html, "state": "queued", "attempts": 0,
             "attachments": [a.as_json() for a, _ in attachments]}, attachments)


def run_digest(*, plan_path: str = "plan.yaml", today: dt.date, email: bool = True) -> DigestResult:
    """Build the digest as of ``today``; keep its snapshot; write the dashboard, Markdown,
    workbook and the one-page PDF 简报 under var/reports/<date>/; queue the email to the
    leadership with the PDF and the workbook attached (once per date)."""
    # The cyclic collector waits while the digest runs: the 200,000 rows, their states and
    # list items all live until the end, and its ~1,700 collections kept re-walking them
    # (~0.9 s of a 4–5 s national digest, measured).  Reference counting still frees the rest.
    with gc_paused():
        return _run_digest(plan_path, today, email)


def _run_digest(plan_path: str, today: dt.date, email: bool) -> DigestResult:
    plan = load_plan(plan_path)
    calendar = WorkCalendar(plan.calendar)
    classifier = Classifier(calendar, today, plan.escalation.due_soon)
    folder = var_dir() / "reports" / today.isoformat()
    with session_scope() as session:
        ledger.require_synced(session)
        rows = ledger.entry_rows(session)
        digest = build(rows, classifier=classifier,
                       sections_of={n: t.section for n, t in plan.tasks.items()},
                       unit_names={u.id: u.name for u in plan.units.values()},
                       rungs=fired_rungs(session, today=today),
                       since=previous_snapshot_date(session, before=today),
                       assumed=assumed_milestones(session), task_only=task_only_units(session))
        stats = _statistics(session, plan, today)
        v = view(digest, plan, stats, _follow_ups(session, digest, plan, classifier))
        history = snapshot_history(session, until=today)
        number = digest_number(session, as_of=today)
        save_snapshot(session, as_of=today, data=digest.snapshot())
        # The PDF is drawn by a second process meanwhile (about a second of CPU at any scale).
        with start_brief(v, number, folder / "brief.pdf") as drawing:
            pages = write_dashboard(folder, view=v, digest=digest, plan=plan, history=history,
                                    days_overdue=classifier.days_overdue, progress=_progress(session))
            markdown = render_markdown(v)
            (folder / "digest.md").write_text(markdown, encoding="utf-8")
            workbook = write_workbook(folder / "ledger.xlsx", digest=digest, plan=plan,
                                      days_overdue=classifier.days_overdue)
            brief = drawing.result()
        on = f"{today.year}年{today.month}月{today.day}日"
        attached = [(brief, f"督办简报第{number}期（截至{on}）.pdf"),
                    (workbook, f"督办台账（截至{on}）.xlsx")]
        v.attachments = [f"{name}（{'1 页' if name.endswith('.pdf') else f'全部 {len(rows)} 条台账'}）"
                         for _, name in attached]
        queued: list[str] = []
        skipped = None if email else "按 --no-email 未发送"
        if email:
            from models.outbox import queue

            row, attachments = _email_row(plan, v, today, attached)
            queued = queue(session, [row])
            if queued:
                for record, data in attachments:
                    freeze(record, data)
            else:
                skipped = f"{today} 的简报邮件已在发件箱中，不重复发送"
    files = {"dashboard": str(folder / "index.html"), "markdown": str(folder / "digest.md"),
             "workbook": str(workbook), "brief": str(brief), "pages": str(len(pages))}
    summary = {"today": today.isoformat(), "since": digest.since.isoformat() if digest.since else None,
               "number": number, "headline": headline(v), "documents": digest.documents.as_json(),
               "attention": [a.as_json() for a in digest.attention],
               "assumed": [i.as_json() for i in digest.assumed],
               "overall": digest.overall.as_json(),
               "tasks": [{"task": t["number"], "title": t["title"], **digest.tasks[t["number"]].as_json()}
                         for t in v.tasks],
               "units": [u.as_json() for u in digest.units],
               "supervise": [i.as_json() for i in digest.supervise],
               "interview": [i.as_json() for i in digest.interview],
               "changes": {"submitted": len(digest.newly_submitted), "overdue": len(digest.newly_overdue),
                           "supervised": len(digest.newly_supervised)},
               "statistics": stats.as_json() if stats else None,
               "follow_ups": [{**f.__dict__, "due": f.due.isoformat()} for f in v.follow_ups],
               "files": files, "queued": queued, "email_skipped": skipped}
    return DigestResult(today, folder, files, queued, skipped, markdown, units_table(v),
                        digest.overall.share, summary)


# -- evaluation ----------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    period: str
    today: dt.date
    run_id: int
    status: str
    scores: list[UnitScore]
    files: dict[str, str]
    rectify_due: dt.date | None
    withdrawn: list[str] = field(default_factory=list)
    markdown: str = ""

    def as_json(self) -> dict[str, Any]:
        def unit(s: UnitScore) -> dict[str, Any]:
            return {"unit": s.unit_id, "name": s.name, "score": s.score, "rank": s.rank,
                    "proposed": s.proposed, "final": s.final,
                    "reasons": [r.as_json() for r in s.reasons]}

        return {"period": self.period, "today": self.today.isoformat(), "run": self.run_id,
                "status": self.status,
                "commend": [unit(s) for s in listed(self.scores, "commend")],
                "criticise": [unit(s) for s in listed(self.scores, "criticise")],
                "scores": [unit(s) for s in self.scores],
                "rectify_due": self.rectify_due.isoformat() if self.rectify_due else None,
                "withdrawn": self.withdrawn, "files": self.files}


def addressees(plan: Plan) -> str:
    """The 主送 line: the plan notice's recipients, without the task-only ones (局机关各处室):
    a 通报 on the evaluation goes to the units it evaluates."""
    group = plan.groups.get("recipients")
    if group is None:
        return "，".join(u.name for u in plan.units.values() if u.reports_publicly)
    names = []
    for member in group.members:
        if member in plan.groups:
            if any(plan.units[u].reports_publicly for u in plan.expand([member])):
                names.append(plan.groups[member].name)
        # A unit named directly: expanding it walked every unit, quadratic on a group of units.
        elif member in plan.units and plan.units[member].reports_publicly:
            names.append(plan.units[member].name)
    return "，".join(names)


def write_notices(plan: Plan, *, period: str, scores: list[UnitScore], date: dt.date, draft: bool,
                  rectify_due: dt.date | None, folder: Path) -> dict[str, str]:
    """One 通报 per non-empty list (.docx and .md) and the 评分明细 workbook.

    An empty list produces no document, and a stale one from an earlier run is removed, so
    the folder never holds a notice the current lists do not support.
    """
    files: dict[str, str] = {}
    for kind in ("commend", "criticise"):
        stem = f"{kind}-draft" if draft else kind
        units = listed(scores, kind)
        if not units:
            for suffix in (".docx", ".md"):
                (folder / f"{stem}{suffix}").unlink(missing_ok=True)
            continue
        notice = notice_docx.Notice(
            kind=kind, period=period, year=plan.meta.period.start.year,
            plan_title=plan.meta.title, doc_number=plan.meta.doc_number, addressees=addressees(plan),
            signer=plan.evaluation.signer or plan.meta.issuer, date=date, draft=draft,
            rectify_due=rectify_due if kind == "criticise" else None,
            public=plan.evaluation.public, cc=plan.evaluation.cc,
            units=tuple(notice_docx.Listed(s.name, tuple(public_facts(s, kind, period))) for s in units))
        files[f"{kind}_docx"] = str(notice_docx.write_docx(notice, folder / f"{stem}.docx"))
        files[f"{kind}_md"] = str(notice_docx.write_markdown(notice, folder / f"{stem}.md"))
    label = PERIOD_LABELS.get(period, period)
    files["scores_xlsx"] = str(write_score_sheet(
        scores, folder / ("scores-draft.xlsx" if draft else "scores.xlsx"),
        title=f"{plan.meta.period.start.year}年{label}评估评分明细（{'草稿' if draft else '已审定'}）"))
    return files


# Reasons per listed unit in the evaluation summary: a unit missing 200 documents made an
# 11 MB summary; every line stays in the 评分明细 workbook.
SUMMARY_REASONS = 10


def evaluation_markdown(result: EvaluationResult) -> str:
    label = PERIOD_LABELS.get(result.period, result.period)
    state = "已审定" if result.status == "approved" else "建议名单（待局领导审定）"
    sheet = "scores.xlsx" if result.status == "approved" else "scores-draft.xlsx"
    lines = [f"# {label}评估 · {state}", "", f"评估日期：{result.today}", ""]
    for kind in ("commend", "criticise"):
        units = listed(result.scores, kind)
        lines += [f"## {LIST_LABELS[kind]}（{len(units)} 个单位）", ""]
        for s in units:
            lines.append(f"- **{s.name}**：得分 {s.score:g}，第 {s.rank} 名")
            reasons = [r.text for r in s.reasons if r.points < 0 or r.rule in ("list", "override")]
            lines += [f"  - {text}" for text in reasons[:SUMMARY_REASONS]]
            if len(reasons) > SUMMARY_REASONS:
                lines.append(f"  - 另有 {len(reasons) - SUMMARY_REASONS} 条扣分依据未列出，全部评分依据见评分明细工作簿"
                             f"（{sheet}）")
        lines.append("" if units else "- 无\n")
    lines += ["## 全部单位得分", "", "| 名次 | 单位 | 得分 | 建议 | 调整后 |", "|---|---|---|---|---|"]
    lines += [f"| {s.rank} | {s.name} | {s.score:g} | {LIST_LABELS[s.proposed]} | {LIST_LABELS[s.final]} |"
              for s in result.scores]
    return "\n".join(lines) + "\n"


def _check_overrides(plan: Plan, scope: tuple[str, ...], include: list[str], exclude: list[str],
                     target: str | None, reason: str | None) -> None:
    if not (include or exclude):
        if target or reason:
            raise DubanError("--list 和 --reason 只在调整名单时使用", "与 --include 或 --exclude 一起写")
        return
    if not (reason or "").strip():
        raise DubanError("调整名单必须写明理由", "加上 --reason \"理由\"，理由会和操作人一起记入评估记录")
    if include and target not in ("commend", "criticise"):
        raise DubanError("--include 需要指明列入哪个名单",
                         "加上 --list commend（通报表扬）或 --list criticise（通报批评）")
    both = set(include) & set(exclude)
    if both:
        raise DubanError(f"单位「{sorted(both)[0]}」同时出现在 --include 和 --exclude 中", "每个单位只写一次")
    for unit in [*include, *exclude]:
        if unit not in plan.units:
            import difflib

            guess = difflib.get_close_matches(unit, list(plan.units), n=1, cutoff=0.5)
            raise DubanError(f"没有编号为「{unit}」的单位",
                             f"是不是「{guess[0]}」？" if guess else "单位编号见 plan.yaml 的 units:")
        if unit not in scope:
            raise DubanError(f"「{plan.units[unit].name}」（{unit}）不是参评单位",
                             "参评单位见 plan.yaml 的 evaluation.scope")


def _result(run: EvaluationRun, scores: list[UnitScore], rectify_due: dt.date | None,
            withdrawn: list[str] | None = None) -> EvaluationResult:
    result = EvaluationResult(run.period, run.as_of, run.id or 0, run.status, scores,
                              dict(run.outputs.get("files", {})), rectify_due, withdrawn or [])
    result.markdown = evaluation_markdown(result)
    return result


def run_evaluation(*, plan_path: str = "plan.yaml", period: str, today: dt.date, actor: str,
                   include: list[str] | None = None, exclude: list[str] | None = None,
                   target: str | None = None, reason: str | None = None) -> EvaluationResult:
    """Score the units as of ``today``, propose both lists (after the coordinators' overrides),
    create 整改 and 约谈 entries for the criticised units, write the draft notices."""
    if period not in PERIOD_LABELS:
        raise DubanError(f"评估期「{period}」无效", "写成 --period half-year 或 --period annual")
    plan = load_plan(plan_path)
    include, exclude = list(include or []), list(exclude or [])
    # Task-only units (局机关处室) are never scored or named, even if a scope group holds one.
    scope = tuple(u for u in plan.expand(plan.evaluation.scope) if plan.units[u].reports_publicly)
    _check_overrides(plan, scope, include, exclude, target, reason)
    calendar = WorkCalendar(plan.calendar)
    cutoff = min(today, plan.evaluation.cutoff.get(period, today))  # type: ignore[call-overload]
    folder = var_dir() / "reports" / f"evaluation-{period}"
    with session_scope() as session:
        ledger.require_synced(session)
        ev.refuse_if_approved(session, period=period)
        for unit in include:
            ev.record_override(session, period=period, unit_id=unit, action="include", target=target,
                               reason=reason or "", actor=actor)
        for unit in exclude:
            ev.record_override(session, period=period, unit_id=unit, action="exclude", target=None,
                               reason=reason or "", actor=actor)
        try:
            stats: dict[str, tuple[Any, str]] | None = stats_states(session, period=period)
        except ImportError:
            stats = None
        facts = ev.unit_facts(session, units=scope, names={u: plan.units[u].name for u in scope},
                              period=period, today=today, cutoff=cutoff, stats=stats)
        scores = evaluate(facts, plan.evaluation, calendar, today, ev.overrides(session, period=period))
        run = ev.save_run(session, period=period, today=today, scores=scores, actor=actor,
                          rules=plan.evaluation.model_dump(mode="json"))
        criticised = [s.unit_id for s in listed(scores, "criticise")]
        rectify_due = deadline(calendar, today, plan.evaluation.rectification.within)
        follow = ev.sync_follow_ups(session, period=period, run=run, criticised=criticised,
                                    coordinator=plan.meta.coordinator, rectify_due=rectify_due,
                                    interview_due=deadline(calendar, today, plan.evaluation.interview.within),
                                    actor=actor)
        due = min(follow.rectify_due.values(), default=rectify_due)
        files = write_notices(plan, period=period, scores=scores, date=today, draft=True,
                              rectify_due=due, folder=folder)
        result = _result(run, scores, due, follow.withdrawn)
        (folder / "evaluation-draft.md").write_text(result.markdown, encoding="utf-8")
        files["summary_md"] = str(folder / "evaluation-draft.md")
        run.outputs = {"files": files, "rectify_due": due.isoformat()}
        session.add(run)
        result.files = files
    return result


def _stored_scores(session: Session, run: EvaluationRun, plan: Plan) -> list[UnitScore]:
    from plan.evaluation import Reason

    out = []
    for row in ev.run_scores(session, run_id=run.id or 0):
        unit = plan.units.get(row.unit_id)
        out.append(UnitScore(row.unit_id, unit.name if unit else row.unit_id, row.score, row.rank,
                             row.proposed, row.final,  # type: ignore[arg-type]
                             [Reason(**r) for r in row.reasons]))
    return out


def approve_evaluation(*, plan_path: str = "plan.yaml", period: str, today: dt.date,
                       actor: str) -> EvaluationResult:
    """Record leadership's approval and write the notices without the 草稿 marks, dated today."""
    plan = load_plan(plan_path)
    with session_scope() as session:
        run = ev.approve(session, period=period, actor=actor)
        scores = _stored_scores(session, run, plan)
        due_text = run.outputs.get("rectify_due")
        due = dt.date.fromisoformat(due_text) if due_text else None
        folder = var_dir() / "reports" / f"evaluation-{period}"
        files = {**run.outputs.get("files", {}),
                 **write_notices(plan, period=period, scores=scores, date=today, draft=False,
                                 rectify_due=due, folder=folder)}
        run.outputs = {**run.outputs, "files": files, "approved_on": today.isoformat()}
        session.add(run)
        result = _result(run, scores, due)
    return result


def show_evaluation(*, plan_path: str = "plan.yaml", period: str) -> EvaluationResult:
    plan = load_plan(plan_path)
    with session_scope() as session:
        run = ev.latest_run(session, period=period)
        if run is None:
            raise DubanError(f"还没有{PERIOD_LABELS.get(period, period)}评估结果",
                             f"先运行 duban evaluate --period {period}")
        scores = _stored_scores(session, run, plan)
        due_text = run.outputs.get("rectify_due")
        return _result(run, scores, dt.date.fromisoformat(due_text) if due_text else None)


def request_deadlines(plan: Plan, start: dt.date, within: int) -> dt.date:
    return deadline(WorkCalendar(plan.calendar), start, within)


__all__ = ["DigestResult", "EvaluationResult", "RequestItem", "approve_evaluation", "run_digest",
           "run_evaluation", "show_evaluation"]
