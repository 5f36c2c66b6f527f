"""``duban inbox assign``: record one unmatched file against the unit and milestone the
coordinator names, in one step, and move it out of ``unmatched/``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flows.inbox import _destination, _move
from flows.inbox_waiting import PROCESSED, REASON_SUFFIX, UNMATCHED
from flows.intake_record import check_files, refuse_foreign, resolve_unit
from models import intake, ledger
from models.db import session_scope
from models.files import store_file
from plan.errors import DubanError
from plan.model import Plan


def _locate(inbox_dir: Path, file: Path) -> Path:
    candidates = [file, inbox_dir / file, inbox_dir / UNMATCHED / file]
    found = next((c for c in candidates if c.is_file()), None)
    unmatched = (inbox_dir / UNMATCHED).resolve()
    if found is None:
        raise DubanError(f"找不到文件 {file}", f"写 unmatched/ 中的文件路径，例如 {UNMATCHED}/浦东-总结.pdf")
    if not found.resolve().is_relative_to(unmatched):
        raise DubanError(f"{file} 不在 {inbox_dir / UNMATCHED} 中",
                         "duban inbox assign 只登记未能自动登记的来件；其他文件用 duban record --file 登记")
    return found


def assign_unmatched(*, plan: Plan, inbox_dir: Path, file: Path, unit: str, milestone: str, today: dt.date,
                     actor: str) -> dict[str, Any]:
    path = _locate(inbox_dir, file)
    unit_id = resolve_unit(plan, unit)
    check_files([path])
    rel = path.resolve().relative_to((inbox_dir / UNMATCHED).resolve())
    with session_scope() as session:
        entry = ledger.get_entry(session, unit_id=unit_id, milestone_id=milestone)
        assert entry.id is not None
        refuse_foreign(session, plan=plan, unit_id=unit_id, files=[path])
        stored = store_file(path)
        seen = intake.submitted_hashes(session, entry_ids=[entry.id]).get(entry.id, set())
        if stored.sha256 not in seen:
            done = ledger.record_submission(session, unit_id=unit_id, milestone_id=milestone, submitted_on=today,
                                            source="inbox", actor=actor, note=f"人工登记来件：{rel.as_posix()}",
                                            files=[stored.as_json()])
            intake.record_inbox_file(session, sha256=stored.sha256, name=stored.name, path=rel.as_posix(),
                                     size=stored.size, unit_id=unit_id, milestone_id=milestone,
                                     outcome="submission", processed_on=today, actor=actor,
                                     submission_id=done.submission.id)
    target = _destination(inbox_dir, PROCESSED, rel)
    _move(path, target)
    path.with_name(path.name + REASON_SUFFIX).unlink(missing_ok=True)
    return {"unit": unit_id, "unit_name": plan.units[unit_id].name, "milestone": milestone,
            "file": rel.as_posix(), "sha256": stored.sha256, "duplicate": stored.sha256 in seen,
            "moved_to": target.relative_to(inbox_dir).as_posix()}
