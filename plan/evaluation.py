"""Scoring rules of the evaluation (通报表扬 / 通报批评 proposals).  Pure: facts in, scores out.

Every point a unit gains or loses comes with a :class:`Reason` naming the obligation,
the dates, the working days and the rung, so a reader can check each line against the
ledger.  Weights and thresholds come from plan.yaml's ``evaluation:`` section.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from plan.schema import RUNG_KIND_NAMES
from plan.schema_evaluation import Evaluation, Rules
from plan.workdays import WorkCalendar

ListName = Literal["commend", "criticise", "none"]
LIST_LABELS = {"commend": "通报表扬", "criticise": "通报批评", "none": "—"}
PERIOD_LABELS = {"half-year": "半年", "annual": "全年"}
RUNG_ORDER = ("remind", "chase", "supervise", "interview")
# In scores and the digest, reaching the supervise rung is named by its public consequence: the
# unit is on the 督导检查 list.
RUNG_LABELS = {**RUNG_KIND_NAMES, "supervise": "督导检查"}
StatsState = Literal["complete", "incomplete", "missing"]


@dataclass(frozen=True)
class Obligation:
    """One counted ledger entry of a unit, as of the evaluation date."""

    milestone_id: str
    title: str
    due: dt.date
    submitted_on: dt.date | None  # None when not submitted by the evaluation date
    waived: bool = False
    rung: str | None = None  # highest rung kind that fired by the evaluation date
    rung_on: dt.date | None = None


@dataclass(frozen=True)
class Review:
    """A 复查 of an earlier rectification."""

    period: str
    result: str  # pass | fail
    reviewed_on: dt.date


@dataclass(frozen=True)
class UnitFacts:
    unit_id: str
    name: str
    obligations: tuple[Obligation, ...]
    stats: StatsState | None = None  # None: no table required (or no data)
    stats_detail: str = ""
    reviews: tuple[Review, ...] = ()


@dataclass(frozen=True)
class Reason:
    rule: str  # late | missing | rung | stats | review | on-time | on-time-item | list | override
    points: float
    text: str  # the internal record's line (评分明细, duban evaluate show)
    milestone_id: str | None = None
    # Structured facts for the public notice, so its prose never parses the internal text.
    title: str | None = None
    due: str | None = None  # ISO dates: the reason is stored as JSON
    on: str | None = None  # submitted on (late, on-time-item) or the evaluation date (missing)
    days: int | None = None  # working days late or overdue

    def as_json(self) -> dict[str, object]:
        # every field is a plain value: a copy of the fields, without asdict's deep copy
        # (100,000 reasons in a national evaluation)
        return dict(self.__dict__)


@dataclass
class UnitScore:
    unit_id: str
    name: str
    score: float
    rank: int = 0
    proposed: ListName = "none"
    final: ListName = "none"
    reasons: list[Reason] = field(default_factory=list)
    missing: int = 0
    late: int = 0
    on_time: int = 0
    days_early: int = 0
    worst_rung: str | None = None


def _points(value: float) -> str:
    return f"{value:g}"


_RUNG_INDEX = {kind: n for n, kind in enumerate(RUNG_ORDER)}


def _rung_index(kind: str | None) -> int:
    return _RUNG_INDEX.get(kind, -1) if kind is not None else -1


# What one obligation contributes: its state ("missing", "late", "on-time"), its reason line
# and the working days it was early.  The same for every unit owing the same milestone with
# the same dates, so evaluate() keeps one per distinct obligation (Reason is frozen).
Contribution = tuple[str, Reason, int]


def _contribution(ob: Obligation, rules: Rules, today: dt.date,
                  between: Callable[[dt.date, dt.date], int]) -> Contribution:
    name = f"「{ob.title}」（截止 {ob.due}）"
    if ob.submitted_on is None:
        days = max(1, between(ob.due, today))
        lost = min(rules.missing.max, rules.missing.points + rules.missing.per_day * days)
        return ("missing", Reason("missing", -lost,
                                  f"{name}截至 {today} 仍未报送，已逾期 {days} 个工作日，扣 {_points(lost)} 分",
                                  ob.milestone_id, ob.title, ob.due.isoformat(), today.isoformat(), days), 0)
    if ob.submitted_on > ob.due:
        days = max(1, between(ob.due, ob.submitted_on))
        lost = min(rules.late.max, rules.late.per_day * days)
        return ("late", Reason("late", -lost,
                               f"{name}于 {ob.submitted_on} 报送，逾期 {days} 个工作日，扣 {_points(lost)} 分",
                               ob.milestone_id, ob.title, ob.due.isoformat(), ob.submitted_on.isoformat(), days), 0)
    return ("on-time", Reason("on-time-item", 0, f"{name}于 {ob.submitted_on} 按时报送", ob.milestone_id,
                              ob.title, ob.due.isoformat(), ob.submitted_on.isoformat(), 0),
            between(ob.submitted_on, ob.due))


def _rung_reason(ob: Obligation, lost: float) -> Reason:
    assert ob.rung is not None
    return Reason("rung", -lost, f"「{ob.title}」（截止 {ob.due}）于 {ob.rung_on} 升级至「{RUNG_LABELS[ob.rung]}」，"
                                 f"扣 {_points(lost)} 分", ob.milestone_id)


def score_unit(facts: UnitFacts, config: Evaluation, calendar: WorkCalendar,
               today: dt.date, between: Callable[[dt.date, dt.date], int] | None = None,
               memo: dict[tuple[Any, ...], Any] | None = None) -> UnitScore:
    """``between`` is ``calendar.between`` or a cached copy of it: 1,000 units owe the same
    200 milestones, so a national evaluation asks the same few hundred date pairs 200,000 times.
    ``memo`` keeps each distinct obligation's reason lines across the units of one evaluation
    (same ``config`` and ``today``): formatting 100,000 identical lines was its largest cost."""
    between = between or calendar.between
    memo = {} if memo is None else memo
    rules = config.rules
    result = UnitScore(facts.unit_id, facts.name, score=config.base)
    reasons = result.reasons
    for ob in sorted(facts.obligations, key=lambda o: (o.due, o.milestone_id)):
        if ob.waived:
            continue
        key = (ob.milestone_id, ob.title, ob.due, ob.submitted_on)
        found = memo.get(key)
        if found is None:
            found = memo[key] = _contribution(ob, rules, today, between)
        state, reason, early = found
        if state == "missing":
            result.missing += 1
        elif state == "late":
            result.late += 1
        else:
            result.on_time += 1
            result.days_early += early
        reasons.append(reason)
        if ob.rung is not None and ob.rung_on is not None:
            lost = float(getattr(rules.rungs, ob.rung, 0) or 0)
            if _rung_index(ob.rung) > _rung_index(result.worst_rung):
                result.worst_rung = ob.rung
            if lost:
                rung_key = ("rung", ob.milestone_id, ob.title, ob.due, ob.rung, ob.rung_on)
                rung = memo.get(rung_key)
                if rung is None:
                    rung = memo[rung_key] = _rung_reason(ob, lost)
                reasons.append(rung)
    if facts.stats == "missing" and rules.stats_table.missing:
        lost = rules.stats_table.missing
        reasons.append(Reason("stats", -lost, f"行政保护案件统计表未报送{facts.stats_detail}，扣 {_points(lost)} 分"))
    elif facts.stats == "incomplete" and rules.stats_table.incomplete:
        lost = rules.stats_table.incomplete
        reasons.append(Reason("stats", -lost, f"行政保护案件统计表不完整{facts.stats_detail}，扣 {_points(lost)} 分"))
    for review in facts.reviews:
        if review.result == "fail" and rules.review.failed:
            lost = rules.review.failed
            reasons.append(Reason("review", -lost,
                                  f"{PERIOD_LABELS.get(review.period, review.period)}评估整改于 {review.reviewed_on} "
                                  f"复查不合格，扣 {_points(lost)} 分"))
    if result.on_time:
        reasons.append(Reason("on-time", 0, f"按时报送 {result.on_time} 项，合计提前 {result.days_early} 个工作日"))
    total = config.base + sum(r.points for r in reasons)
    result.score = round(max(0.0, total), 1)
    return result


def rank(scores: list[UnitScore]) -> None:
    """Rank by score, then by working days early (a tie-break only); equal pairs share a rank."""
    ordered = sorted(scores, key=lambda s: (-s.score, -s.days_early))
    previous: tuple[float, int] | None = None
    for position, score in enumerate(ordered, start=1):
        key = (score.score, score.days_early)
        score.rank = ordered[position - 2].rank if key == previous else position
        previous = key
    scores.sort(key=lambda s: s.rank)


def propose(scores: list[UnitScore], config: Evaluation) -> None:
    """Set ``proposed`` (and ``final``) by the thresholds, with a reason line for each listing."""
    criticise, commend = config.criticise, config.commend
    for s in scores:
        why: list[str] = []
        if s.score < criticise.below:
            why.append(f"得分 {_points(s.score)} 低于批评线 {_points(criticise.below)}")
        if criticise.rung is not None and _rung_index(s.worst_rung) >= _rung_index(criticise.rung):
            why.append(f"有事项升级至「{RUNG_LABELS[criticise.rung]}」")
        if why:
            s.proposed = "criticise"
            s.reasons.append(Reason("list", 0, "列入通报批评建议名单：" + "；".join(why)))
    eligible = [s for s in scores if s.proposed == "none" and s.score >= commend.min_score
                and s.missing == 0 and _rung_index(s.worst_rung) < _rung_index("supervise")]
    for s in eligible[:commend.max_units]:
        s.proposed = "commend"
        s.reasons.append(Reason("list", 0, f"列入通报表扬建议名单：得分 {_points(s.score)}（表扬线 "
                                           f"{_points(commend.min_score)}），第 {s.rank} 名，无未报送、无督导检查事项"))
    for s in scores:
        s.final = s.proposed


@dataclass(frozen=True)
class Override:
    unit_id: str
    action: str  # include | exclude
    target: str | None
    reason: str
    actor: str
    at: dt.datetime


def apply_overrides(scores: list[UnitScore], overrides: Iterable[Override]) -> None:
    """The latest override per unit wins; each leaves a reason line naming who and why."""
    latest: dict[str, Override] = {}
    for o in sorted(overrides, key=lambda o: o.at):
        latest[o.unit_id] = o
    by_unit = {s.unit_id: s for s in scores}
    for unit_id, o in latest.items():
        s = by_unit.get(unit_id)
        if s is None:
            continue
        when = o.at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
        if o.action == "exclude":
            if s.final == "none":
                continue
            s.reasons.append(Reason("override", 0, f"{o.actor} 于 {when} 将其移出{LIST_LABELS[s.final]}"
                                                   f"名单，理由：{o.reason}"))
            s.final = "none"
        else:
            target: ListName = "criticise" if o.target == "criticise" else "commend"
            s.reasons.append(Reason("override", 0, f"{o.actor} 于 {when} 将其列入{LIST_LABELS[target]}"
                                                   f"名单，理由：{o.reason}"))
            s.final = target


def evaluate(facts: Iterable[UnitFacts], config: Evaluation, calendar: WorkCalendar,
             today: dt.date, overrides: Iterable[Override] = ()) -> list[UnitScore]:
    between = functools.lru_cache(maxsize=None)(calendar.between)
    memo: dict[tuple[Any, ...], Any] = {}
    scores = [score_unit(f, config, calendar, today, between, memo) for f in facts]
    rank(scores)
    propose(scores, config)
    apply_overrides(scores, overrides)
    return scores


def listed(scores: Iterable[UnitScore], name: ListName) -> list[UnitScore]:
    """Units on a final list: best first for 表扬, worst first for 批评."""
    return sorted((s for s in scores if s.final == name), key=lambda s: s.rank,
                  reverse=name == "criticise")


def deadline(calendar: WorkCalendar, start: dt.date, within: int) -> dt.date:
    """``within`` working days after ``start`` (calendar days in calendar-day mode)."""
    return calendar.shift(start, within)


FACTS_PER_UNIT = 3  # sentences per unit in a notice; the rest are summed up in one sentence


def _md(iso: str | None) -> str:
    day = dt.date.fromisoformat(iso) if iso else None
    return f"{day.month}月{day.day}日" if day else ""


def public_facts(score: UnitScore, kind: ListName, period: str,
                 limit: int = FACTS_PER_UNIT) -> list[str]:
    """Sentences a public 通报 may say about a unit: each one a ledger fact, in prose.

    Built from the structured fields of the reasons only, never from their internal text:
    no scores, no rung ids, no override or audit lines.  A commendation states what the
    unit submitted on time and nothing else (a unit put on the list by an override keeps the
    override's reason in the internal record); a criticism states what is missing or late.
    """
    name = score.name
    label = "上半年" if period == "half-year" else "全年"
    if kind == "commend":
        done = [r.title for r in score.reasons if r.rule == "on-time-item" and r.title]
        if not done:
            return []
        shown = done[:5]
        titles = shown[0] if len(shown) == 1 else "、".join(shown[:-1]) + "和" + shown[-1]
        more = f"等{len(done)}项材料" if len(done) > 5 else ""
        return [f"{name}按时报送了{titles}{more}。"]
    sentences: list[str] = []
    dated = False  # "截至7月20日" once per unit, on its first missing item

    def subject() -> str:
        return "该单位" if sentences else name

    for r in score.reasons:
        if r.rule == "missing" and r.title:
            head = "" if dated else f"截至{_md(r.on)}，"
            dated = True
            sentences.append(f"{head}{subject()}仍未报送{r.title}，已逾期{r.days}个工作日。")
        elif r.rule == "late" and r.title:
            sentences.append(f"{subject()}于{_md(r.on)}报送{r.title}，逾期{r.days}个工作日。")
        elif r.rule == "stats":
            sentences.append(f"{subject()}未报送{label}行政保护案件统计表。" if "未报送" in r.text
                             else f"{subject()}报送的{label}行政保护案件统计表有未填项目。")
        elif r.rule == "review":
            sentences.append(f"{subject()}上一期整改经复查不合格。")
    if len(sentences) > limit:
        rest = len(sentences) - limit
        sentences = [*sentences[:limit], f"此外，该单位另有{rest}项材料逾期或未按要求报送。"]
    return sentences
