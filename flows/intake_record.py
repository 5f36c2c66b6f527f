"""Recording files a coordinator places by hand (``duban record``, ``duban inbox assign``).

The same safeguards as the inbox: the unit may be named by id, Chinese name or alias
(:func:`plan.intake_rules.resolve_unit_text`), every file passes the integrity checks,
and a file (sha256) already recorded for another unit is refused.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from plan.errors import DubanError
from plan.intake_rules import all_names, normalise, resolve_unit_text
from plan.model import ConcreteMilestone, Plan, unit_aliases, unit_names


def resolve_unit(plan: Plan, text: str, *, option: str = "--unit") -> str:
    """The unit id ``--unit`` names: an id, a Chinese name, a short name or an alias.
    Anything else is refused with the nearest unit, so a typo never reaches the ledger."""
    if text in plan.units:
        return text
    for unit_id, unit in plan.units.items():
        if unit.short_name is not None and normalise(text) == normalise(unit.short_name):
            return unit_id
    found = resolve_unit_text(text, unit_names(plan), unit_aliases(plan))
    if found is not None:
        return found
    raise DubanError(f"{option}：找不到单位「{text}」", _nearest_unit(plan, text))


def _nearest_unit(plan: Plan, text: str) -> str:
    spellings: dict[str, str] = {}  # every way to write a unit → its id
    for unit_id, unit in plan.units.items():
        spellings[unit_id] = unit_id
        spellings.setdefault(unit.short, unit_id)
        for name in all_names(unit_id, unit.name, unit_aliases(plan)):
            spellings.setdefault(name, unit_id)
    close = difflib.get_close_matches(normalise(text), list(spellings), n=1, cutoff=0.4)
    listing = "运行 duban units 查看全部单位"
    if not close:
        return listing
    unit = plan.units[spellings[close[0]]]
    return f"是不是「{unit.name}」（{unit.id}）？{listing}"


def resolve_milestone(plan: Plan, text: str, *, unit_id: str | None = None) -> str:
    """The milestone id ``--milestone`` names: an id, or a title or a unique prefix of one
    (半年度 → half-year-summary).  With ``unit_id``, only that unit's milestones count
    for a title, so 半年度 finds the unit's own half-year item."""
    milestones = plan.milestones()
    ids = {m.id for m in milestones}
    if text in ids:
        return text
    owed = [m for m in milestones if unit_id is None or unit_id in m.units] or milestones
    wanted = normalise(text)
    exact = [m for m in owed if normalise(m.title) == wanted]
    matches = exact or [m for m in owed if normalise(m.title).startswith(wanted)] if wanted else []
    if len(matches) == 1:
        return matches[0].id
    if len(matches) > 1:
        raise DubanError(f"--milestone：「{text}」可以指多个节点：{_titles(matches)}",
                         "写完整一些的名称，或写节点编号（运行 duban milestones 查看）")
    close = difflib.get_close_matches(text, sorted(ids), n=1, cutoff=0.5)
    hint = f"是不是「{close[0]}」？" if close else ""
    raise DubanError(f"--milestone：找不到节点「{text}」",
                     hint + "运行 duban milestones" + (f" --unit {unit_id}" if unit_id else "")
                     + " 查看全部节点")


def milestone_title(plan: Plan, milestone_id: str) -> str:
    """The title a coordinator knows a milestone by; ids stay in ``--json`` and ``--ids``."""
    return next((m.title for m in plan.milestones() if m.id == milestone_id), milestone_id)


def _titles(milestones: list[ConcreteMilestone]) -> str:
    shown = "、".join(f"{m.title}（{m.id}）" for m in milestones[:4])
    return shown + (f" 等 {len(milestones)} 个" if len(milestones) > 4 else "")


def check_files(files: list[Path]) -> None:
    # The file checks (email, zipfile) are imported by the commands that record files, not by
    # those that only resolve --unit / --milestone (status, milestones: issue #13).
    from plan.intake_files import check_file

    for f in files:
        check_file(f, name=str(f))


def refuse_foreign(session: object, *, plan: Plan, unit_id: str, files: list[Path]) -> None:
    """Refuse when any file's exact content is already recorded for another unit."""
    from models import intake  # SQLAlchemy: not for the commands that only resolve names
    from models.files import sha256_of

    hashes = {f: sha256_of(f) for f in files}
    owners = intake.hash_owners(session, sha256s=hashes.values())  # type: ignore[arg-type]
    for f, digest in hashes.items():
        other = [o for o in owners.get(digest, []) if o.unit_id != unit_id]
        if other:
            o = other[0]
            what = f"的「{milestone_title(plan, o.milestone_id)}」" if o.milestone_id else "的统计表"
            raise DubanError(
                f"{f}：同一文件（sha256 {digest[:12]}）已登记为「{plan.units[o.unit_id].name}」{what}，"
                f"不能再登记给「{plan.units[unit_id].name}」",
                "确认文件是哪个单位的；同一份文件只能作为一个单位的报送")
