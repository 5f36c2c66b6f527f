"""The inbox: files units sent, sorted into recorded (``processed/``) and ``unmatched/``.

``process_inbox`` is a plain function: ``duban inbox`` calls it directly and ``duban run``
calls it (through :mod:`flows.intake`) before the sweep, so a unit that sent its summary
is not chased.  Each file or group of files is recorded in its own transaction; a file
that is refused records nothing and is moved to ``unmatched/`` with ``<name>.reason.txt``.

The submission date is the run date (``--today``), not the file's mtime: copying or
saving an attachment resets mtime, and replays with ``--today`` must be deterministic.
A coordinator who knows the real date records it with ``duban record --date``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import Any

from flows.intake_imports import import_ledger_file, import_stats_file, unit_names
from models import intake, ledger
from models.db import session_scope
from models.files import StoredFile, sha256_of, store_file
from plan import ledger_sheet, stats_sheet
from plan.errors import DubanError
from plan.intake_errors import FileRefused
from plan.intake_files import check_file, is_xlsx, load_workbook
from plan.intake_rules import Deliverable, find_units, ignorable, match_file, unsafe_name
from plan.model import Plan

PROCESSED, UNMATCHED = "processed", "unmatched"


@dataclass(frozen=True)
class InboxItem:
    path: str  # relative to the inbox, as found
    outcome: str  # submission | stats | ledger | duplicate | unmatched
    unit: str | None = None
    milestone: str | None = None
    detail: str = ""  # Chinese: what was done, or why not


@dataclass
class InboxReport:
    inbox: str
    today: dt.date
    items: list[InboxItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # lock files etc., left in place
    warnings: list[str] = field(default_factory=list)

    def by(self, *outcomes: str) -> list[InboxItem]:
        return [i for i in self.items if i.outcome in outcomes]

    @property
    def recorded(self) -> list[InboxItem]:
        return self.by("submission", "stats", "ledger")

    @property
    def unmatched(self) -> list[InboxItem]:
        return self.by("unmatched")

    def as_json(self) -> dict[str, Any]:
        return {"inbox": self.inbox, "today": self.today.isoformat(),
                "recorded": [asdict(i) for i in self.recorded],
                "duplicates": [asdict(i) for i in self.by("duplicate")],
                "unmatched": [asdict(i) for i in self.unmatched],
                "skipped": self.skipped, "warnings": self.warnings}


def deliverables(plan: Plan) -> dict[str, list[Deliverable]]:
    """unit id → what it sends as files: reports, and milestones not tied to a report."""
    out: dict[str, list[Deliverable]] = {}
    for m in plan.milestones():
        if m.report is None:
            for unit_id in m.units:
                out.setdefault(unit_id, []).append(Deliverable(m.id, m.title, m.period if m.kind == "report" else None))
    return out


def _files(inbox: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(inbox, followlinks=False):
        here = Path(root)
        if here == inbox:
            dirs[:] = [d for d in dirs if d not in (PROCESSED, UNMATCHED)]
        dirs.sort()
        for name in sorted(names):
            yield here / name
        for d in dirs:
            if (here / d).is_symlink():
                yield here / d


def _safe(name: str) -> str:
    return name.replace("\\", "_").replace("/", "_").replace("..", "_")


def _destination(inbox: Path, where: str, rel: PurePath) -> Path:
    parts = [_safe(p) for p in rel.parts]
    target = inbox.joinpath(where, *parts)
    n = 2
    while target.exists() or target.is_symlink():
        target = target.with_name(f"{Path(parts[-1]).stem}（{n}）{Path(parts[-1]).suffix}")
        n += 1
    return target


def _move(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))


class _Run:
    def __init__(self, *, plan: Plan, inbox: Path, today: dt.date, actor: str) -> None:
        self.plan, self.inbox, self.today, self.actor = plan, inbox, today, actor
        self.units = unit_names(plan)
        self.owed = deliverables(plan)
        self.report = InboxReport(str(inbox), today)
        self.groups: dict[tuple[str, str], list[tuple[Path, PurePath]]] = {}

    def unmatched(self, path: Path, rel: PurePath, reason: str) -> None:
        target = _destination(self.inbox, UNMATCHED, rel)
        _move(path, target)
        target.with_name(target.name + ".reason.txt").write_text(
            f"文件：{rel.as_posix()}\n处理日期：{self.today.isoformat()}\n原因：{reason}\n"
            "处理办法：按上面的提示改正（或改名后放回收件文件夹，如 pudong/半年总结.pdf、"
            "浦东新区-半年总结.pdf），下次运行 duban inbox 时会重新处理。\n", encoding="utf-8")
        self.report.items.append(InboxItem(rel.as_posix(), "unmatched", detail=reason))

    def processed(self, path: Path, rel: PurePath, item: InboxItem) -> None:
        _move(path, _destination(self.inbox, PROCESSED, rel))
        self.report.items.append(item)

    def expected_unit(self, rel: PurePath) -> tuple[str | None, str]:
        """The unit the folder (or else the file name) names, and how to say where it came from."""
        if len(rel.parts) > 1:
            folder = rel.parts[0]
            found = [folder] if folder in self.units else find_units(folder, self.units)
            return (found[0], f"所在文件夹「{folder}」") if len(found) == 1 else (None, "")
        found = find_units(PurePath(rel.name).stem, self.units)
        return (found[0], "文件名中的单位") if len(found) == 1 else (None, "")

    def take(self, path: Path) -> None:
        rel = PurePath(path.relative_to(self.inbox))
        if unsafe_name(path.name) or any(unsafe_name(p) for p in rel.parts):
            self.unmatched(path, rel, f"文件名「{path.name}」含有「../」或「\\」等路径成分，不予处理。"
                                      "请改成普通文件名（如 浦东新区-半年总结.pdf）后重新放入")
            return
        if ignorable(path.name):
            self.report.skipped.append(rel.as_posix())
            return
        if path.is_symlink():
            self.unmatched(path, rel, "是符号链接，不予处理。请放入文件本身")
            return
        if len(rel.parts) > 1 and self.expected_unit(rel)[0] is None:
            self.unmatched(path, rel, f"文件夹「{rel.parts[0]}」不是单位编号或单位名称"
                                      "（单位编号见 plan.yaml 的 units:）")
            return
        try:
            check_file(path, name=rel.as_posix())
            if is_xlsx(path) and self.workbook(path, rel):
                return
        except FileRefused as exc:
            self.unmatched(path, rel, exc.reason)
            return
        except DubanError as exc:
            self.unmatched(path, rel, exc.message + (f"\n  提示：{exc.hint}" if exc.hint else ""))
            return
        match = match_file(rel, self.units, self.owed)
        if match.unit_id is None or match.deliverable is None:
            self.unmatched(path, rel, match.reason)
            return
        self.groups.setdefault((match.unit_id, match.deliverable), []).append((path, rel))

    def workbook(self, path: Path, rel: PurePath) -> bool:
        """Import a statistics table or ledger workbook; False for any other .xlsx."""
        name = rel.as_posix()
        wb = load_workbook(path, name=name)
        unit, unit_from = self.expected_unit(rel)
        if stats_sheet.is_stats_workbook(wb):
            done = import_stats_file(path, plan=self.plan, name=name, today=self.today, source="inbox",
                                     actor=self.actor, unit=unit, unit_from=unit_from, workbook=wb)
            if done.duplicate:
                self.processed(path, rel, InboxItem(name, "duplicate", done.unit_id, None,
                                                    f"统计表（第 {done.version} 版）已导入过，未重复登记"))
                return True
            with session_scope() as session:
                assert done.file is not None
                self._file_row(session, done.file, rel, done.unit_id, None, "stats",
                               stats_report_id=done.report_id, detail={"period": done.period})
            self.report.warnings += [f"{done.unit_name}：{w}" for w in done.warnings]
            label = "上半年" if done.period == "half-year" else "全年"
            self.processed(path, rel, InboxItem(name, "stats", done.unit_id, None,
                                                f"导入{label}统计表（第 {done.version} 版）"))
            return True
        if ledger_sheet.is_ledger_workbook(wb):
            got = import_ledger_file(path, plan=self.plan, name=name, today=self.today, source="inbox",
                                     actor=self.actor, unit=unit, unit_from=unit_from, workbook=wb)
            if not got.changed:
                self.processed(path, rel, InboxItem(name, "duplicate", got.unit_id, None,
                                                    "工作台账与已登记的进展相同，没有变化"))
                return True
            with session_scope() as session:
                assert got.file is not None
                self._file_row(session, got.file, rel, got.unit_id, None, "ledger",
                               detail={"entries": got.changed})
            self.processed(path, rel, InboxItem(name, "ledger", got.unit_id, None,
                                                f"工作台账：{len(got.changed)} 条进展更新"))
            return True
        return False

    def _file_row(self, session: Any, stored: StoredFile, rel: PurePath, unit_id: str, milestone: str | None,
                  outcome: str, **extra: Any) -> None:
        intake.record_inbox_file(session, sha256=stored.sha256, name=stored.name, path=rel.as_posix(),
                                 size=stored.size, unit_id=unit_id, milestone_id=milestone, outcome=outcome,
                                 processed_on=self.today, actor=self.actor, **extra)

    def record_groups(self) -> None:
        for (unit_id, milestone), files in self.groups.items():
            try:
                self.record_group(unit_id, milestone, files)
            except DubanError as exc:
                for path, rel in files:
                    self.unmatched(path, rel, exc.message + (f"（{exc.hint}）" if exc.hint else ""))

    def record_group(self, unit_id: str, milestone: str, files: list[tuple[Path, PurePath]]) -> None:
        hashes = [sha256_of(path) for path, _ in files]
        with session_scope() as session:
            entry = ledger.get_entry(session, unit_id=unit_id, milestone_id=milestone)
            assert entry.id is not None
            seen = intake.submitted_hashes(session, entry_ids=[entry.id]).get(entry.id, set())
            fresh: list[tuple[Path, PurePath, StoredFile]] = []
            for (path, rel), digest in zip(files, hashes, strict=True):
                if digest not in seen:
                    seen.add(digest)
                    fresh.append((path, rel, store_file(path)))
            submission_id = None
            if fresh:
                done = ledger.record_submission(
                    session, unit_id=unit_id, milestone_id=milestone, submitted_on=self.today, source="inbox",
                    actor=self.actor, note="收件箱：" + "、".join(r.as_posix() for _, r, _ in fresh),
                    files=[s.as_json() for _, _, s in fresh])
                submission_id = done.submission.id
                for _, rel, stored in fresh:
                    self._file_row(session, stored, rel, unit_id, milestone, "submission",
                                   submission_id=submission_id)
        fresh_paths = {p for p, _, _ in fresh}
        for path, rel in files:
            name = rel.as_posix()
            if path in fresh_paths:
                self.processed(path, rel, InboxItem(name, "submission", unit_id, milestone,
                                                    f"登记报送，报送日期 {self.today.isoformat()}"))
            else:
                self.processed(path, rel, InboxItem(name, "duplicate", unit_id, milestone,
                                                    "同一文件已登记过，未重复登记"))


def process_inbox(*, plan: Plan, inbox_dir: Path, today: dt.date, actor: str) -> InboxReport:
    """Sort every file under ``inbox_dir`` (not ``processed/`` or ``unmatched/``)."""
    run = _Run(plan=plan, inbox=inbox_dir, today=today, actor=actor)
    if not inbox_dir.is_dir():
        return run.report
    with session_scope() as session:
        synced = ledger.is_synced(session)
    if not synced:  # else every file would be refused; leave them for after the sync
        run.report.warnings.append(f"{ledger.NOT_SYNCED}：收件文件夹中的文件留在原处，同步后再处理")
        return run.report
    for path in list(_files(inbox_dir)):
        run.take(path)
    run.record_groups()
    return run.report
