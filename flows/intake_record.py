"""Recording files a coordinator places by hand (``duban record``, ``duban inbox assign``).

The same safeguards as the inbox: the unit may be named by id, Chinese name or alias
(:func:`plan.intake_rules.resolve_unit_text`), every file passes the integrity checks,
and a file (sha256) already recorded for another unit is refused.
"""

from __future__ import annotations

from pathlib import Path

from flows.intake_imports import unit_aliases, unit_names
from models import intake
from models.files import sha256_of
from plan.errors import DubanError
from plan.intake_files import check_file
from plan.intake_rules import resolve_unit_text
from plan.model import Plan


def resolve_unit(plan: Plan, text: str) -> str:
    """The unit id ``--unit`` names: an id, a Chinese name, a short name or an alias.
    Unresolved text is returned as is, for the ledger's own refusal (with its suggestion)."""
    if text in plan.units:
        return text
    return resolve_unit_text(text, unit_names(plan), unit_aliases(plan)) or text


def check_files(files: list[Path]) -> None:
    for f in files:
        check_file(f, name=str(f))


def refuse_foreign(session: object, *, plan: Plan, unit_id: str, files: list[Path]) -> None:
    """Refuse when any file's exact content is already recorded for another unit."""
    hashes = {f: sha256_of(f) for f in files}
    owners = intake.hash_owners(session, sha256s=hashes.values())  # type: ignore[arg-type]
    for f, digest in hashes.items():
        other = [o for o in owners.get(digest, []) if o.unit_id != unit_id]
        if other:
            o = other[0]
            what = f"的「{o.milestone_id}」" if o.milestone_id else "的统计表"
            raise DubanError(
                f"{f}：同一文件（sha256 {digest[:12]}）已登记为「{plan.units[o.unit_id].name}」{what}，"
                f"不能再登记给「{plan.units[unit_id].name}」",
                "确认文件是哪个单位的；同一份文件只能作为一个单位的报送")
