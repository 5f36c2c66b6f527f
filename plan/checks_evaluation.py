"""Cross checks for the evaluation and requests sections (issue #5)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel


def check(checker: Any) -> None:
    """Called by CrossChecker.run with the checker (use checker.error / checker.warn)."""
    _check_evaluation(checker, checker.parts.get("evaluation"))
    _check_requests(checker, checker.parts.get("requests"))


# Points (base, deductions, thresholds) stay finite and below this bound.
MAX_POINTS = 1000.0


def _check_points(checker: Any, model: BaseModel, path: tuple[str, ...]) -> None:
    for name, value in model:
        if isinstance(value, BaseModel):
            _check_points(checker, value, (*path, name))
        elif isinstance(value, float) and not (math.isfinite(value) and value <= MAX_POINTS):
            checker.error((*path, name), f"分值「{value}」超出范围",
                          f"填写 0 到 {MAX_POINTS:g} 之间的数")


def _check_evaluation(checker: Any, evaluation: Any) -> None:
    if evaluation is None:
        return
    _check_points(checker, evaluation, ("evaluation",))
    checker.refs(("evaluation", "scope"), evaluation.scope)
    _check_scope_roles(checker, evaluation.scope)
    if evaluation.criticise.below > evaluation.commend.min_score:
        checker.error(("evaluation", "criticise", "below"),
                      f"批评线 {evaluation.criticise.below:g} 高于表扬线 {evaluation.commend.min_score:g}，"
                      "同一单位可能同时被表扬和批评",
                      "criticise.below 应不大于 commend.min_score")
    if evaluation.commend.min_score > evaluation.base:
        checker.warn(("evaluation", "commend", "min_score"),
                     f"表扬线 {evaluation.commend.min_score:g} 高于基础分 {evaluation.base:g}，没有单位能达到",
                     "把 commend.min_score 改为不大于 base 的分数")
    escalation = checker.parts.get("escalation")
    rung = evaluation.criticise.rung
    if rung is not None and escalation is not None and rung not in {r.kind for r in escalation.rungs}:
        checker.warn(("evaluation", "criticise", "rung"),
                     f"催办阶梯（escalation.rungs）中没有 kind 为 {rung} 的一级，这条批评规则不会生效",
                     "改为阶梯中已有的级别（supervise 或 interview），或删掉这一行")
    for period, day in evaluation.cutoff.items():
        checker.in_period(("evaluation", "cutoff", period), day)


def _check_scope_roles(checker: Any, scope: list[str]) -> None:
    """A task-only unit (局机关处室…) must never be scored or named in a public 通报."""
    if any(p.path.startswith("groups") for p in checker.problems):
        return  # a broken group (cycle, unknown member) expands to nonsense: fix that first
    units = {u.id: u for _, u in checker.items("units")}
    groups = {g.id: g for _, g in checker.items("groups")}
    task_only: list[str] = []
    stack, seen = list(scope), set()
    while stack:
        ref = stack.pop()
        if ref in seen:
            continue
        seen.add(ref)
        if ref in groups:
            stack.extend(groups[ref].members)
        elif ref in units and not units[ref].reports_publicly:
            task_only.append(ref)
    if task_only:
        names = "、".join(units[u].name for u in units if u in task_only)
        checker.error(("evaluation", "scope"),
                      f"参评范围包含只承担任务（role: task-only）的单位：{names}；它们不能被评分或写入通报",
                      "scope 只填 role: reporting 的单位或分组，例如 [districts, lingang, centres]")


def _check_requests(checker: Any, requests: Any) -> None:
    if requests is None:
        return
    division = requests.division
    if division not in checker.unit_ids:
        checker.ref(("requests", "division"), division)
        return
    kinds = {u.id: u.kind for _, u in checker.items("units")}
    if kinds.get(division) != "division":
        checker.warn(("requests", "division"), f"「{division}」不是局机关处室，请示将由它答复",
                     "通常填写负责答复请示的处室，例如 protection-division")
