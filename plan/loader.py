"""``load_plan``: the one way into plan.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from plan import plan_file, schema
from plan.errors import KeyPath, PlanError, Problem
from plan.model import Plan

if TYPE_CHECKING:
    from plan.source import Source

# The YAML parser, the cross-checks and pydantic's error translation are imported where a
# plan is actually parsed: a command whose plan comes from the cache never needs them.


@cache
def _adapter(model: type[BaseModel]) -> Any:
    """One TypeAdapter per model and process: plan.schema defers building validators to their
    first use (defer_build), so a new adapter per call would build the model's schema each time."""
    from pydantic import TypeAdapter

    return TypeAdapter(model)


def _validate(source: Source, model: type[BaseModel], data: Any, path: KeyPath,
              problems: list[Problem]) -> Any:
    from pydantic import ValidationError

    from plan.messages import translate

    try:
        return _adapter(model).validate_python(data)
    except ValidationError as err:
        for detail in err.errors():
            message, hint = translate(detail)
            problems.append(source.problem((*path, *detail["loc"]), message, hint))
        return None


def validate_source(source: Source) -> tuple[dict[str, Any], list[Problem], list[Problem]]:
    """Validate every section; returns (parts, errors, warnings)."""
    from plan.checks import CrossChecker, unknown_keys, unknown_top_level

    problems: list[Problem] = []
    warnings: list[Problem] = unknown_top_level(source)
    parts: dict[str, Any] = {}
    broken: dict[str, set[str]] = {}
    for key, (model, is_list, required) in schema.SECTIONS.items():
        # "sections: []" is as empty as "sections:": later stages look tasks' sections up.
        empty = source.data.get(key) is None or (is_list and required and source.data[key] == [])
        if empty:
            if required and key in source.data:  # "tasks:" written with nothing under it
                problems.append(source.problem((key,), f"「{key}:」部分是空的",
                                               "在它下面逐项填写内容，参照仓库里的 plan.yaml",
                                               at_key=True))
            elif required:
                problems.append(source.problem((), f"缺少「{key}:」部分",
                                               f"在文件顶层添加「{key}:」，参照仓库里的 plan.yaml"))
            elif not is_list:
                parts[key] = model()
            else:
                parts[key] = []
            continue
        value = source.data[key]
        if is_list:
            if not isinstance(value, list):
                problems.append(source.problem((key,), f"「{key}」应为列表",
                                               "每一项以「- 」开头，逐行列出"))
                parts[key] = []
                continue
            # Validate item by item so one broken item does not hide the rest's problems.
            items = []
            for i, item in enumerate(value):
                warnings += unknown_keys(source, item, model, (key, i))
                checked = _validate(source, model, item, (key, i), problems)
                if checked is not None:
                    items.append((i, checked))
                elif isinstance(item, dict) and isinstance(item.get("id", item.get("number")),
                                                           str | int):
                    broken.setdefault(key, set()).add(str(item.get("id", item.get("number"))).lower())
            parts[key] = items
        else:
            warnings += unknown_keys(source, value, model, (key,))
            parts[key] = _validate(source, model, value, (key,), problems)
    resolve_conventions(source, parts)
    checker = CrossChecker(source, parts)
    checker.broken = broken
    checker.run()
    return parts, problems + checker.problems, warnings + checker.warnings


# The group whose members a 通报 is addressed to (主送), when the plan declares none.
RECIPIENTS = "recipients"


def resolve_conventions(source: Source, parts: dict[str, Any]) -> None:
    """Fill what later commands rely on from declared data, so CrossChecker validates it.

    * ``evaluation.scope`` not written: every unit with ``role: reporting`` (never the
      default group id ``reporting-units``, which a plan may not declare).
    * ``requests.division`` not written: ``plan.coordinator``.
    * no ``recipients`` group (主送 of a 通报): a group of every reporting unit.
    """
    units = [u for _, u in parts.get("units") or []]
    reporting = [u.id for u in units if u.reports_publicly]
    written = source.data
    evaluation = parts.get("evaluation")
    declared = written.get("evaluation") if isinstance(written.get("evaluation"), dict) else {}
    if evaluation is not None and "scope" not in declared and reporting:
        parts["evaluation"] = evaluation.model_copy(update={"scope": reporting})
    requests = parts.get("requests")
    declared = written.get("requests") if isinstance(written.get("requests"), dict) else {}
    meta = parts.get("plan")
    if requests is not None and "division" not in declared and meta is not None:
        parts["requests"] = requests.model_copy(update={"division": meta.coordinator})
    groups = parts.get("groups")
    # "groups: 5" is already an error; it must not be iterated here.
    written_groups = written.get("groups") if isinstance(written.get("groups"), list) else []
    if (isinstance(groups, list) and reporting and RECIPIENTS not in {u.id for u in units}
            and not any(isinstance(g, dict) and g.get("id") == RECIPIENTS for g in written_groups)):
        groups.append((-1, schema.Group(id=RECIPIENTS, name="主送单位", members=reporting)))


def load_plan(path: str | Path = "plan.yaml") -> Plan:
    """Parse and validate plan.yaml. Raises :class:`PlanError` listing every problem.

    With the cache on (the CLI's), an unchanged file parsed by the same code is not parsed again.
    """
    path = Path(path)
    raw = plan_file.read_plan_bytes(path, display=str(path))
    resolved = path.resolve()
    key = plan_file.cache_key(raw, str(path))
    cached = plan_file.cached_plan(resolved, key)
    if isinstance(cached, Plan):
        return cached
    from plan.source import read_yaml

    source = read_yaml(path, display=str(path), raw=raw)
    parts, problems, warnings = validate_source(source)
    if problems:
        problems.sort(key=lambda p: (p.line, p.column))
        raise PlanError(problems, warnings)
    warnings.sort(key=lambda p: (p.line, p.column))
    plan = Plan(
        path=resolved,
        meta=parts["plan"],
        calendar=parts["calendar"],
        escalation=parts["escalation"],
        schedules=parts["schedules"],
        units={u.id: u for _, u in parts["units"]},
        groups={g.id: g for _, g in parts["groups"]},
        sections={s.number: s for _, s in parts["sections"]},
        reports={r.id: r for _, r in parts["reports"]},
        tasks={t.number: t for _, t in sorted(parts["tasks"], key=lambda it: it[1].number)},
        evaluation=parts["evaluation"],
        requests=parts["requests"],
        warnings=warnings,
        source_sha256=plan_file.source_sha256(raw),
    )
    plan_file.store_plan(resolved, key, plan)
    return plan
