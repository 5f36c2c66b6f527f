"""Checks on plan.yaml beyond types: unknown keys, duplicates, references, dates.

Every check appends :class:`~plan.errors.Problem` rows (errors or warnings) instead of
raising, so one run reports everything.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from plan import schema
from plan.cron import Cron, cron_problem
from plan.errors import KeyPath, Problem
from plan.source import Source


def nearest(word: str, choices: Iterable[str]) -> str | None:
    # 0.65 keeps deu→due and task→tasks but not notes→units.
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.65)
    return found[0] if found else None


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The BaseModel inside an annotation such as ``list[Milestone] | None``; and whether a list."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, is_list = _model_of(arg)
            if model:
                return model, is_list
        return None, False
    if origin is list:
        inner, _ = _model_of(typing.get_args(annotation)[0])
        return inner, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def unknown_keys(source: Source, data: Any, model: type[BaseModel], path: KeyPath) -> list[Problem]:
    """Warn about keys the schema does not know (a typo like ``deu:`` must not pass silently)."""
    if not isinstance(data, dict):
        return []
    out: list[Problem] = []
    fields = model.model_fields
    for key, value in data.items():
        if key not in fields:
            guess = nearest(key, fields)
            hint = f"是不是「{guess}」？" if guess else f"可用的键：{', '.join(fields)}"
            out.append(source.problem((*path, key), f"未知的键「{key}」，已忽略", hint, "warning",
                                      at_key=True))
            continue
        inner, is_list = _model_of(fields[key].annotation)
        if inner is None:
            continue
        if is_list and isinstance(value, list):
            for i, item in enumerate(value):
                out += unknown_keys(source, item, inner, (*path, key, i))
        elif not is_list:
            out += unknown_keys(source, value, inner, (*path, key))
    return out


def unknown_top_level(source: Source) -> list[Problem]:
    out = []
    for key in source.data:
        if key not in schema.SECTIONS:
            guess = nearest(key, schema.SECTIONS)
            hint = f"是不是「{guess}」？" if guess else f"可用的部分：{', '.join(schema.SECTIONS)}"
            out.append(source.problem((key,), f"未知的部分「{key}」，已忽略", hint, "warning",
                                      at_key=True))
    return out


def _occurrences(unit: str, start: dt.date, end: dt.date) -> int:
    """How many times a recurrence fires between ``start`` and ``end`` (an upper estimate)."""
    if end < start:
        return 0
    if unit == "week":
        return (end - start).days // 7 + 1
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return months if unit == "month" else months // 3 + 1


class CrossChecker:
    """Checks that need the whole (type-valid) plan: ids, references, dates, cycles."""

    def __init__(self, source: Source, parts: dict[str, Any]) -> None:
        self.source = source
        self.parts = parts
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        # Ids of items whose own validation failed (already reported): references to them
        # are not reported again, so one bad unit does not bury the file in follow-on errors.
        self.broken: dict[str, set[str]] = {}

    # -- helpers ---------------------------------------------------------------------------
    def error(self, path: KeyPath, message: str, hint: str) -> None:
        self.problems.append(self.source.problem(path, message, hint))

    def warn(self, path: KeyPath, message: str, hint: str, *, kind: str = "",
             subject: str = "") -> None:
        self.warnings.append(self.source.problem(path, message, hint, "warning", kind=kind,
                                                 subject=subject))

    def is_broken(self, section: str, ident: object) -> bool:
        return str(ident).lower() in self.broken.get(section, set())

    def items(self, section: str) -> list[tuple[int, Any]]:
        """(index in file, validated item) for list sections; broken items are absent."""
        value = self.parts.get(section)
        return list(value) if isinstance(value, list) else []

    def unique(self, section: str, attr: str, label: str, seen: dict[Any, KeyPath]) -> None:
        for i, item in self.items(section):
            key = getattr(item, attr)
            path: KeyPath = (section, i, attr)
            if key in seen:
                first = self.source.mark(seen[key])
                self.error(path, f"{label}「{key}」重复（第一次出现在第 {first.line} 行）",
                           f"每个{label}只能出现一次；改用新的{label}或删掉重复的一项")
            else:
                seen[key] = path

    # -- checks ----------------------------------------------------------------------------
    def run(self) -> None:
        self.unit_ids: dict[str, KeyPath] = {}
        self.unique("units", "id", "单位编号", self.unit_ids)
        self.group_ids: dict[str, KeyPath] = {}
        for i, group in self.items("groups"):
            if group.id in self.unit_ids or group.id in self.group_ids:
                first = self.source.mark(self.unit_ids.get(group.id) or self.group_ids[group.id])
                self.error(("groups", i, "id"),
                           f"编号「{group.id}」重复（第一次出现在第 {first.line} 行）",
                           "单位和分组共用一套编号，换一个不重复的编号")
            else:
                self.group_ids[group.id] = ("groups", i, "id")
        self.unique("sections", "number", "部分序号", {})
        self.unique("tasks", "number", "任务序号", {})
        self.milestone_ids: dict[str, KeyPath] = {}
        self.unique("reports", "id", "节点编号", self.milestone_ids)
        for i, task in self.items("tasks"):
            for j, milestone in enumerate(task.milestones):
                path: KeyPath = ("tasks", i, "milestones", j, "id")
                if milestone.id in self.milestone_ids:
                    first = self.source.mark(self.milestone_ids[milestone.id])
                    self.error(path, f"节点编号「{milestone.id}」重复（第一次出现在第 {first.line} 行）",
                               "节点编号在所有报告和任务节点中必须唯一")
                else:
                    self.milestone_ids[milestone.id] = path
        self.check_groups()
        self.check_meta()
        self.check_reports()
        self.check_tasks()
        self.check_escalation()
        self.check_schedules()
        self.check_calendar()
        self.check_contacts()
        self.check_aliases()
        self.check_short_names()
        from plan import checks_evaluation

        checks_evaluation.check(self)

    def ref(self, path: KeyPath, ref: str) -> None:
        if ref in self.unit_ids or ref in self.group_ids:
            return
        if self.is_broken("units", ref) or self.is_broken("groups", ref):
            return
        guess = nearest(ref, [*self.unit_ids, *self.group_ids])
        hint = f"是不是「{guess}」？" if guess else "单位编号见 units:，分组编号见 groups:"
        self.error(path, f"没有编号为「{ref}」的单位或分组", hint)

    def refs(self, path: KeyPath, refs: Iterable[str]) -> None:
        for k, ref in enumerate(refs):
            self.ref((*path, k), ref)

    def check_groups(self) -> None:
        groups = {g.id: (i, g) for i, g in self.items("groups")}
        for i, group in groups.values():
            self.refs(("groups", i, "members"), group.members)
        # A group may list groups; a cycle (a group inside itself) would never expand.
        # Each cycle is reported once, at the first of its groups in the file.
        reported: set[frozenset[str]] = set()
        for gid, (i, group) in groups.items():
            trail = self._cycle(gid, groups, [gid])
            if trail and frozenset(trail) not in reported:
                reported.add(frozenset(trail))
                self.error(("groups", i, "members", group.members.index(trail[1])),
                           f"分组「{gid}」包含了自己（{' → '.join(trail)}）",
                           f"从 members 中去掉「{trail[1]}」")

    def _cycle(self, start: str, groups: dict[str, Any], trail: list[str]) -> list[str] | None:
        for member in groups[trail[-1]][1].members:
            if member == start:
                return [*trail, member]
            if member in groups and member not in trail:
                found = self._cycle(start, groups, [*trail, member])
                if found:
                    return found
        return None

    def in_period(self, path: KeyPath, day: dt.date) -> None:
        period = self.period
        if period and not (period.start <= day <= period.end):
            self.error(path, f"日期 {day} 不在方案期限（{period.start} 至 {period.end}）内",
                       "改到期限内的日期，或调整 plan.period")

    def check_meta(self) -> None:
        meta = self.parts.get("plan")
        self.period = meta.period if meta else None
        if meta is None:
            return
        for key in ("start", "end"):
            day = getattr(meta.period, key)
            if not schema.FIRST_YEAR <= day.year <= schema.LAST_YEAR:
                self.error(("plan", "period", key),
                           f"方案期限的日期 {day} 不在 {schema.FIRST_YEAR}–{schema.LAST_YEAR} 年之间",
                           "填写方案实际的起止日期，例如 2025-01-01 至 2025-12-31")
                self.period = None
        if not schema.FIRST_YEAR <= meta.issued.year <= schema.LAST_YEAR:
            self.error(("plan", "issued"), f"印发日期 {meta.issued} 不在 "
                       f"{schema.FIRST_YEAR}–{schema.LAST_YEAR} 年之间", "填写通知的实际印发日期")
        if self.period is not None and meta.period.start > meta.period.end:
            self.error(("plan", "period", "end"), "期限的结束日期早于开始日期",
                       "把 end 改到 start 之后")
            self.period = None
        if meta.coordinator not in self.unit_ids and not self.is_broken("units", meta.coordinator):
            guess = nearest(meta.coordinator, self.unit_ids)
            self.error(("plan", "coordinator"), f"没有编号为「{meta.coordinator}」的单位",
                       f"是不是「{guess}」？" if guess else "填写 units: 中牵头处室的编号")

    def check_reports(self) -> None:
        for i, report in self.items("reports"):
            self.refs(("reports", i, "units"), report.units)
            self.in_period(("reports", i, "due"), report.due)
        periods = [r.period for _, r in self.items("reports") if r.period]
        for i, report in self.items("reports"):
            if report.period and periods.count(report.period) > 1:
                self.error(("reports", i, "period"), f"有多个报告都标为 period: {report.period}",
                           "每个统计期间只能对应一个总结报告")
                break

    def check_tasks(self) -> None:
        sections = {s.number for _, s in self.items("sections")}
        reports = {r.id for _, r in self.items("reports")}
        for i, task in self.items("tasks"):
            base: KeyPath = ("tasks", i)
            if sections and task.section not in sections and not self.is_broken("sections", task.section):
                self.error((*base, "section"), f"没有序号为 {task.section} 的部分",
                           f"sections: 中已有的序号：{', '.join(map(str, sorted(sections)))}")
            self.refs((*base, "lead"), task.lead)
            self.refs((*base, "units"), task.units)
            if not task.owners_confirmed and not (task.owners_note or "").strip():
                self.warn((*base, "owners_note"), "责任单位未确认，但没有写明推定依据",
                          "在 owners_note 中写明是怎样推定的，方便确认")
            for j, milestone in enumerate(task.milestones):
                self.check_milestone((*base, "milestones", j), milestone, reports)

    def check_milestone(self, path: KeyPath, milestone: Any, reports: set[str]) -> None:
        given = [k for k in ("due", "report", "every") if getattr(milestone, k) is not None]
        if len(given) != 1:
            self.error(path, f"节点「{milestone.id}」必须且只能写 due、report、every 三者之一"
                       + (f"（现在写了 {'、'.join(given)}）" if given else "（现在一个都没有）"),
                       "固定日期用 due，随总结报送用 report，周期性节点用 every")
        if (milestone.report is not None and milestone.report not in reports
                and not self.is_broken("reports", milestone.report)):
            guess = nearest(milestone.report, reports)
            self.error((*path, "report"), f"没有编号为「{milestone.report}」的报告",
                       f"是不是「{guess}」？" if guess else "填写 reports: 中的报告编号")
        if milestone.due is not None:
            self.in_period((*path, "due"), milestone.due)
        if milestone.window is not None:
            window = milestone.window
            self.in_period((*path, "window", "start"), window.start)
            self.in_period((*path, "window", "end"), window.end)
            if window.start > window.end:
                self.error((*path, "window", "end"), "时间段的结束日期早于开始日期",
                           "把 end 改到 start 之后")
            if milestone.due is not None and milestone.due < window.end:
                self.error((*path, "due"), f"截止日期 {milestone.due} 早于活动结束日期 {window.end}",
                           "截止日期应在活动结束之后（报送活动小结的日期）")
        if milestone.every is not None:
            every = milestone.every
            before = len(self.problems)
            self.in_period((*path, "every", "start"), every.start)
            self.in_period((*path, "every", "end"), every.end)
            if every.start > every.end:
                self.error((*path, "every", "end"), "周期的结束日期早于开始日期",
                           "把 end 改到 start 之后")
            count = _occurrences(every.unit, every.start, every.end)
            if count > schema.MAX_OCCURRENCES and len(self.problems) == before:
                self.error((*path, "every"), f"周期节点「{milestone.id}」在 {every.start} 至 {every.end} "
                           f"之间约出现 {count} 次，超过上限 {schema.MAX_OCCURRENCES} 次",
                           "缩短 start–end 的时间段，或改用更长的周期（month、quarter）")
            if every.unit == "week" and every.day > 7:
                self.error((*path, "every", "day"), f"按周重复时 day 应为 1–7（星期一至星期日），这里是 {every.day}",
                           "填写 1 到 7 之间的数")
        if milestone.units is not None:
            self.refs((*path, "units"), milestone.units)
        if milestone.report is None and (milestone.source or "assumed") == "assumed":
            shown = "source: assumed" if milestone.source else "未写 source，按 assumed"
            self.warn((*path, "source") if milestone.source else (*path, "id"),
                      f"节点「{milestone.id}」的日期为推定（{shown}）：只提醒、催办，不升级督办、不计入评估",
                      "经确认后把这一节点的 source 改为 confirmed；日期来自通知原文则写 seed",
                      kind="assumed-date", subject=milestone.id)

    def check_escalation(self) -> None:
        escalation = self.parts.get("escalation")
        if escalation is None:
            return
        seen: dict[str, int] = {}
        previous: int | None = None
        for i, rung in enumerate(escalation.rungs):
            path: KeyPath = ("escalation", "rungs", i)
            if rung.id in seen:
                self.error((*path, "id"), f"梯级编号「{rung.id}」重复", "每一级用不同的编号")
            seen[rung.id] = i
            if previous is not None and rung.offset <= previous:
                self.error((*path, "offset"), f"offset {rung.offset} 不大于上一级的 {previous}",
                           "各级按时间先后排列，offset 逐级增大")
            previous = rung.offset
            if rung.kind == "remind" and rung.offset > 0:
                self.error((*path, "offset"), "提醒（remind）应在截止日之前，offset 应 ≤ 0",
                           "截止前 5 个工作日写 -5")
            if rung.kind != "remind" and rung.offset <= 0:
                self.error((*path, "offset"), f"{rung.kind} 应在逾期之后，offset 应 > 0",
                           "逾期 1 个工作日后写 1")

    def check_schedules(self) -> None:
        schedules = self.parts.get("schedules")
        if schedules is None:
            return
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(schedules.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.error(("schedules", "timezone"), f"未知的时区「{schedules.timezone}」",
                       "填写 Asia/Shanghai")
        seen: set[str] = set()
        for i, job in enumerate(schedules.jobs):
            path: KeyPath = ("schedules", "jobs", i)
            if job.id in seen:
                self.error((*path, "id"), f"作业编号「{job.id}」重复", "每个作业用不同的编号")
            seen.add(job.id)
            if (job.cron is None) == (job.at is None):
                self.error(path, "作业必须且只能写 cron、at 之一",
                           "定期运行用 cron（如 \"0 9 * * *\"），只运行一次用 at")
            if job.at is not None and not (schema.FIRST_YEAR <= job.at.year <= schema.LAST_YEAR):
                self.error((*path, "at"), f"运行时间 {job.at} 不在 {schema.FIRST_YEAR}–"
                           f"{schema.LAST_YEAR} 年之间", "填写方案期限内的日期时间")
            if job.cron is not None:
                problem = cron_problem(job.cron)
                if problem:
                    self.error((*path, "cron"), f"cron 表达式「{job.cron}」无效：{problem}",
                               "五段：分 时 日 月 星期，例如 \"0 9 * * *\" 表示每天 9:00")
                else:
                    self.check_cron_days((*path, "cron"), job.cron)
            if job.flow == "evaluate" and job.params.get("period") not in ("half-year", "annual"):
                self.error((*path, "params"), "评估作业需要 params.period：half-year 或 annual",
                           "写成 params: {period: half-year}")

    def check_cron_days(self, path: KeyPath, expression: str) -> None:
        cron = Cron(expression)
        if cron.impossible():
            self.error(path, f"cron 表达式「{expression}」的日期不存在（例如 2 月 31 日），永远不会运行",
                       "改成存在的日期，例如 \"0 9 28 2 *\"")
            return
        if self.period and cron.first_between(self.period.start, self.period.end) is None:
            self.warn(path, f"cron 表达式「{expression}」在方案期限（{self.period.start} 至 "
                      f"{self.period.end}）内一次也不会运行",
                      "检查日、月两段是否写对，或删掉这个作业")

    def check_calendar(self) -> None:
        """Warn once per plan year chinesecalendar does not know and the plan does not fill in."""
        from plan.workdays import covered_years, known_year

        calendar = self.parts.get("calendar")
        if self.period is None or calendar is None:
            return
        for day in (*calendar.extra_holidays, *calendar.extra_workdays):
            if not schema.FIRST_YEAR <= day.year <= schema.LAST_YEAR:
                self.error(("calendar",), f"日历里的日期 {day} 不在 {schema.FIRST_YEAR}–"
                           f"{schema.LAST_YEAR} 年之间", "删掉这个日期或改成正确的年份")
                return
        covered = covered_years(calendar)
        where: KeyPath = ("calendar", "extra_holidays") if "calendar" in self.source.data else ()
        for year in range(self.period.start.year, self.period.end.year + 1):
            if known_year(year) or year in covered:
                continue
            line = self.source.key_marks.get(where) if where else None
            at = f"第 {line.line} 行的 " if line else ""
            self.warnings.append(self.source.problem(
                where, f"chinesecalendar 没有 {year} 年的节假日数据：将按周一至周五计算工作日",
                f"在{at}calendar.extra_holidays 中逐行写出 {year} 年的法定节假日（如 - {year}-10-01），"
                f"调休上班日写在 extra_workdays", "warning", at_key=bool(line)))

    def check_aliases(self) -> None:
        """An alias names one unit only: a shared alias would make intake guess."""
        import unicodedata

        from plan.intake_rules import unit_aliases, vague_alias

        meta = self.parts.get("plan")
        issuer = unicodedata.normalize("NFKC", meta.issuer) if meta is not None else ""
        owner: dict[str, str] = {}
        names = {unit.id: unicodedata.normalize("NFKC", unit.name) for _, unit in self.items("units")}
        for _, unit in self.items("units"):
            for name in (unit.id, *unit_aliases(unit.name)):  # derived short names count too
                owner.setdefault(unicodedata.normalize("NFKC", name), unit.id)
        for i, unit in self.items("units"):
            for j, alias in enumerate(unit.aliases):
                key = unicodedata.normalize("NFKC", "".join(alias.split()))
                first = owner.setdefault(key, unit.id)
                vague = vague_alias(key, unit_id=unit.id, names=names, issuer=issuer)
                if first != unit.id:
                    self.error(("units", i, "aliases", j),
                               f"别名「{alias}」同时指向单位「{first}」和「{unit.id}」",
                               "每个别名只能属于一个单位；删掉其中一个，或改成更具体的名称")
                elif vague:
                    self.error(("units", i, "aliases", j), f"别名「{alias}」{vague}",
                               "别名要能单独认出这个单位：写它在来件里的具体叫法（如 奉贤快维中心），或删掉这个别名")

    def check_short_names(self) -> None:
        """Short names tell units apart in 80-column tables: two units showing as 浦东
        would make a status line name the wrong unit."""
        seen: dict[str, tuple[str, KeyPath]] = {}
        for i, unit in self.items("units"):
            # A derived short name is reported at the unit's name, the line that produced it.
            path: KeyPath = ("units", i, "short_name" if unit.short_name is not None else "name")
            short = unit.short
            if short in seen:
                first_id, first_path = seen[short]
                first = self.source.mark(first_path)
                self.error(path, f"简称「{short}」与单位「{first_id}」（第 {first.line} 行）重复",
                           "每个单位的简称必须不同；给其中一个单位写上不重复的 short_name")
            else:
                seen[short] = (unit.id, path)

    def check_contacts(self) -> None:
        for i, unit in self.items("units"):
            fake = [c.email for c in unit.contacts if c.email.lower().endswith("@example.org")]
            if fake:
                self.warn(("units", i, "contacts"),
                          f"{unit.name}的联系邮箱仍是占位地址：{', '.join(fake)}",
                          "换成该单位的真实邮箱，否则邮件无法送达",
                          kind="placeholder-email", subject=unit.id)
            elif not unit.contacts:
                self.warn(("units", i), f"{unit.name}没有联系人，邮件无法送达", "在 contacts: 中添加联系人")
        meta = self.parts.get("plan")
        if meta:
            fake = [c.email for c in meta.leadership if c.email.lower().endswith("@example.org")]
            if fake:
                self.warn(("plan", "leadership"), f"局领导邮箱仍是占位地址：{', '.join(fake)}",
                          "换成真实邮箱，否则简报无法送达")
