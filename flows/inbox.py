"""The inbox: files units sent, sorted into recorded (``processed/``) and ``unmatched/``.

``process_inbox`` is a plain function: ``duban inbox`` calls it directly and ``duban run``
calls it (through :func:`flows.steps.intake_step`) before the sweep, so a unit that sent its summary
is not chased.  Each file or group of files is recorded in its own transaction; a file
that is refused records nothing and is moved to ``unmatched/`` with ``<name>.reason.txt``.

Every file goes through :mod:`plan.intake_rules` (the one identification used by the
inbox, ``duban record`` and the mailbox) and :mod:`plan.intake_files` (integrity).
``.zip`` members and ``.eml`` attachments are unpacked and each goes through the same
checks (nesting depth 1).  ``.xls/.ods/.et`` are converted with LibreOffice first.  A
spreadsheet that looks like a statistics table is imported as one or goes to
``unmatched/`` — never recorded as a summary.  The same file (sha256) already recorded
for another unit is refused.

The submission date is the run date (``--today``), not the file's mtime: copying or
saving an attachment resets mtime, and replays with ``--today`` must be deterministic.
A coordinator who knows the real date records it with ``duban record --date``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import Any

from flows.inbox_waiting import PROCESSED, REASON_SUFFIX, UNMATCHED, assign_command
from flows.intake_imports import import_ledger_file, import_stats_file, plan_year, unit_aliases, unit_names
from flows.intake_record import milestone_title
from models import intake, ledger
from models.db import session_scope
from models.files import StoredFile, sha256_of, store_file
from plan import ledger_sheet, stats_sheet
from plan.errors import DubanError
from plan.intake_convert import to_xlsx
from plan.intake_errors import FileRefused
from plan.intake_files import LEGACY_SHEETS, SPREADSHEETS, check_file, is_xlsx, load_workbook, max_bytes
from plan.intake_rules import (
    Deliverable,
    find_units,
    ignorable,
    match_file,
    normalise,
    period_of,
    unsafe_name,
    wrong_year,
)
from plan.intake_unpack import Member, unpack_eml, unpack_zip
from plan.mail_rules import match_sender
from plan.model import Plan

STATS_NAME_WORDS = ("统计表", "统计报表", "案件统计", "报表")
RECORDED = ("submission", "stats", "ledger")


@dataclass(frozen=True)
class InboxItem:
    path: str  # relative to the inbox, as found (a zip member: archive.zip/member.pdf)
    outcome: str  # submission | stats | ledger | duplicate | unmatched | container
    unit: str | None = None
    milestone: str | None = None
    detail: str = ""  # Chinese: what was done, or why not
    name: str = ""  # the file's original name, as the unit sent it
    sha256: str = ""
    missing: tuple[str, ...] = ()  # recorded items: what the obligation still lacks (回执)

    @property
    def recorded(self) -> bool:
        return self.outcome in RECORDED

    @property
    def reason(self) -> str:
        """Why it was not recorded (Chinese); empty when recorded."""
        return "" if self.recorded else self.detail

    @property
    def milestones(self) -> tuple[str, ...]:
        return (self.milestone,) if self.milestone else ()


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
        return self.by(*RECORDED)

    @property
    def unmatched(self) -> list[InboxItem]:
        return self.by("unmatched")

    def as_json(self) -> dict[str, Any]:
        return {"inbox": self.inbox, "today": self.today.isoformat(),
                "recorded": [asdict(i) for i in self.recorded],
                "duplicates": [asdict(i) for i in self.by("duplicate")],
                "unmatched": [asdict(i) for i in self.unmatched],
                "containers": [asdict(i) for i in self.by("container")],
                "skipped": self.skipped, "warnings": self.warnings}


def write_reason(target: Path, *, inbox: Path, origin: str, today: dt.date, reason: str,
                 unit: str | None) -> None:
    """The note beside an unmatched file: where it came from, why, and the command that records it."""
    command = assign_command(target.relative_to(inbox).as_posix(), unit)
    target.with_name(target.name + REASON_SUFFIX).write_text(
        f"文件：{origin}\n处理日期：{today.isoformat()}\n原因：{reason}\n"
        f"登记命令：{command}\n"
        "处理办法：按上面的原因改正（或改名后放回收件文件夹，如 pudong/半年总结.pdf、"
        "浦东新区-半年总结.pdf），下次运行 duban inbox 时会重新处理；确认文件无误的，"
        "把登记命令中的单位和节点按实际填好后运行，直接登记。\n", encoding="utf-8")


def deliverables(plan: Plan) -> dict[str, list[Deliverable]]:
    """unit id → what it sends as files: reports, and milestones not tied to a report."""
    out: dict[str, list[Deliverable]] = {}
    for m in plan.milestones():
        if m.report is None:
            for unit_id in m.units:
                out.setdefault(unit_id, []).append(Deliverable(
                    m.id, m.title, m.period if m.kind == "report" else None, m.due if m.kind == "report" else None))
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
    def __init__(self, *, plan: Plan, inbox: Path, today: dt.date, actor: str, source: str = "inbox") -> None:
        self.plan, self.inbox, self.today, self.actor, self.source = plan, inbox, today, actor, source
        self.units = unit_names(plan)
        self.aliases = unit_aliases(plan)
        self.year = plan_year(plan)
        self.owed = deliverables(plan)
        self.report = InboxReport(str(inbox), today)
        self.groups: dict[tuple[str, str], list[tuple[Path, PurePath]]] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="duban-inbox-"))

    def unmatched(self, path: Path, rel: PurePath, reason: str, unit: str | None = None) -> None:
        digest = sha256_of(path) if path.is_file() and not path.is_symlink() else ""
        target = _destination(self.inbox, UNMATCHED, rel)
        _move(path, target)
        write_reason(target, inbox=self.inbox, origin=rel.as_posix(), today=self.today, reason=reason, unit=unit)
        self.report.items.append(InboxItem(rel.as_posix(), "unmatched", unit, detail=reason, name=rel.name,
                                           sha256=digest))

    def processed(self, path: Path, rel: PurePath, item: InboxItem) -> None:
        if not item.sha256 and path.is_file():
            item = InboxItem(**{**asdict(item), "sha256": sha256_of(path), "name": item.name or rel.name})
        _move(path, _destination(self.inbox, PROCESSED, rel))
        self.report.items.append(item)

    def expected_unit(self, rel: PurePath) -> tuple[str | None, str]:
        """The unit the folder (or else the file name) names, and how to say where it came from."""
        if len(rel.parts) > 1:
            folder = rel.parts[0]
            found = [folder] if folder in self.units else find_units(folder, self.units, self.aliases)
            return (found[0], f"所在文件夹「{folder}」") if len(found) == 1 else (None, "")
        found = find_units(PurePath(rel.name).stem, self.units, self.aliases)
        return (found[0], "文件名中的单位") if len(found) == 1 else (None, "")

    def take(self, path: Path, rel: PurePath | None = None, *, depth: int = 0) -> None:
        rel = rel or PurePath(path.relative_to(self.inbox))
        if unsafe_name(path.name) or any(unsafe_name(p) for p in rel.parts):
            self.unmatched(path, rel, f"文件名「{path.name}」含有「../」或「\\」等路径成分，不予处理。"
                                      "请改成普通文件名（如 浦东新区-半年总结.pdf）后重新放入")
            return
        if ignorable(rel.name):
            if depth:
                return  # litter inside an archive: nothing to leave in place
            self.report.skipped.append(rel.as_posix())
            return
        if path.is_symlink():
            self.unmatched(path, rel, "是符号链接，不予处理。请放入文件本身")
            return
        if len(rel.parts) > 1 and self.expected_unit(rel)[0] is None:
            self.unmatched(path, rel, f"文件夹「{rel.parts[0]}」不是单位编号或单位名称"
                                      "（单位编号见 plan.yaml 的 units:）")
            return
        suffix = path.suffix.lower()
        try:
            check_file(path, name=rel.as_posix())
            if suffix in (".zip", ".eml"):
                self.container(path, rel, depth)
                return
            if suffix in SPREADSHEETS and self.spreadsheet(path, rel):
                return
        except FileRefused as exc:
            self.unmatched(path, rel, exc.reason, self.expected_unit(rel)[0])
            return
        except DubanError as exc:
            self.unmatched(path, rel, exc.message + (f"\n  提示：{exc.hint}" if exc.hint else ""),
                           self.expected_unit(rel)[0])
            return
        match = match_file(rel, self.units, self.owed, aliases=self.aliases, year=self.year, today=self.today)
        if match.unit_id is None or match.deliverable is None:
            self.unmatched(path, rel, match.reason, match.unit_id)
            return
        self.groups.setdefault((match.unit_id, match.deliverable), []).append((path, rel))

    def container(self, path: Path, rel: PurePath, depth: int) -> None:
        """Open a .zip or .eml; each member goes through :meth:`take` under the container's
        folder (or, when the container's own name names one unit, under that unit)."""
        kind = "压缩包" if path.suffix.lower() == ".zip" else "邮件"
        if depth >= 1:
            raise DubanError(f"{rel.as_posix()}：是套在压缩包或邮件里的{kind}，不再逐层打开",
                             "请直接发送报送材料本身（最多一层压缩包）")
        into = Path(tempfile.mkdtemp(dir=self.scratch))
        subject = sender = ""
        if kind == "压缩包":
            members = unpack_zip(path, name=rel.as_posix(), into=into, limit=max_bytes())
        else:
            subject, sender, members = unpack_eml(path, name=rel.as_posix(), into=into, limit=max_bytes())
        if not members:
            raise DubanError(f"{rel.as_posix()}：{kind}里没有附件或文件", "请直接发送报送材料本身")
        # Members inherit the container's context: a 2023 archive's 上半年总结.pdf is not 2024's.
        if year_problem := wrong_year(f"{PurePath(rel.name).stem} {subject}", self.year):
            raise DubanError(f"{rel.as_posix()}：{year_problem.replace('文件名', kind + '名称或主题', 1)}",
                             "确属本年度材料的，请把其中的文件直接放入收件文件夹")
        unit, _ = self.expected_unit(rel)
        if unit is None and kind == "邮件":
            unit = match_sender(self.plan, sender).unit_id  # the mailbox's rule: one unit or none
        if unit is None and subject:
            found = find_units(subject, self.units, self.aliases)
            unit = found[0] if len(found) == 1 else None
        for member in members:
            self.take(member.path, self.member_rel(rel, member, unit), depth=depth + 1)
        digest = sha256_of(path)
        _move(path, _destination(self.inbox, PROCESSED, rel))
        self.report.items.append(InboxItem(
            rel.as_posix(), "container", unit, detail=f"已打开{kind}，逐个处理其中 {len(members)} 个文件",
            name=rel.name, sha256=digest))

    def member_rel(self, rel: PurePath, member: Member, unit: str | None) -> PurePath:
        """A member's place as if dropped in the inbox: in the container's unit folder when
        the member's own name names no unit (so 半年总结.pdf inside 浦东新区.zip is pudong's)."""
        if len(rel.parts) > 1:
            return PurePath(rel.parts[0], member.name)
        if unit is not None and not find_units(PurePath(member.name).stem, self.units, self.aliases):
            return PurePath(unit, member.name)
        return PurePath(member.name)

    def spreadsheet(self, path: Path, rel: PurePath) -> bool:
        """A statistics table or ledger workbook is imported (True).  Any other spreadsheet
        whose name or content looks like a statistics table is refused; else False (the
        name decides, like any other file)."""
        readable = path
        if path.suffix.lower() in LEGACY_SHEETS:
            readable = to_xlsx(path, name=rel.as_posix(), outdir=Path(tempfile.mkdtemp(dir=self.scratch)))
        if not is_xlsx(readable):
            return False
        if self.workbook(readable, rel, original=path):
            return True
        wb = load_workbook(readable, name=rel.as_posix())
        stem = normalise(PurePath(rel.name).stem)
        if stats_sheet.looks_like_stats(wb) or any(w in stem for w in STATS_NAME_WORDS):
            raise DubanError(
                f"{rel.as_posix()}：看起来是行政保护案件统计表，但不是能读取的统计表格式，"
                "未导入数字，也不会当作工作总结登记",
                "请用 duban stats template 生成的模板填写后重新报送，或用 duban stats import --unit --period 导入")
        return False

    def workbook(self, path: Path, rel: PurePath, original: Path | None = None) -> bool:
        """Import a statistics table or ledger workbook; False for any other .xlsx."""
        name = rel.as_posix()
        original = original or path
        wb = load_workbook(path, name=name)
        unit, unit_from = self.expected_unit(rel)
        if stats_sheet.is_stats_workbook(wb):
            if year_problem := wrong_year(PurePath(rel.name).stem, self.year):
                raise DubanError(f"{name}：{year_problem}", "本年度的统计表请在文件名中写明 "
                                 f"{self.year} 年，或用 duban stats import 导入")
            done = import_stats_file(path, plan=self.plan, name=name, today=self.today, source=self.source,
                                     actor=self.actor, unit=unit, unit_from=unit_from, workbook=wb,
                                     stored_path=original, period=period_of(PurePath(rel.name).stem),
                                     period_from="文件名")
            if done.duplicate:
                self.processed(original, rel, InboxItem(name, "duplicate", done.unit_id, None,
                                                        f"统计表（第 {done.version} 版）已导入过，未重复登记",
                                                        name=rel.name))
                return True
            with session_scope() as session:
                assert done.file is not None
                self._file_row(session, done.file, rel, done.unit_id, None, "stats",
                               stats_report_id=done.report_id, detail={"period": done.period})
                missing = self.summary_missing(session, done.unit_id, done.period)
            self.report.warnings += [f"{done.unit_name}：{w}" for w in done.warnings]
            label = "上半年" if done.period == "half-year" else "全年"
            self.processed(original, rel, InboxItem(name, "stats", done.unit_id, None,
                                                    f"导入{label}统计表（第 {done.version} 版）", name=rel.name,
                                                    sha256=done.file.sha256, missing=missing))
            return True
        if ledger_sheet.is_ledger_workbook(wb):
            got = import_ledger_file(path, plan=self.plan, name=name, today=self.today, source=self.source,
                                     actor=self.actor, unit=unit, unit_from=unit_from, workbook=wb)
            if not got.changed:
                self.processed(original, rel, InboxItem(name, "duplicate", got.unit_id, None,
                                                        "工作台账与已登记的进展相同，没有变化", name=rel.name))
                return True
            with session_scope() as session:
                assert got.file is not None
                self._file_row(session, got.file, rel, got.unit_id, None, "ledger",
                               detail={"entries": got.changed})
            self.processed(original, rel, InboxItem(name, "ledger", got.unit_id, None,
                                                    f"工作台账：{len(got.changed)} 条进展更新", name=rel.name))
            return True
        return False

    def summary_missing(self, session: Any, unit_id: str, period: str) -> tuple[str, ...]:
        """What the summary a statistics table goes with still lacks."""
        for m in self.plan.milestones():
            if m.stats_table and m.period == period and m.kind == "report" and unit_id in m.units:
                return intake.still_missing(session, unit_id=unit_id, milestone_id=m.id,
                                            formats=self.plan.formats_for(m, unit_id), stats_period=period)
        return ()

    def missing(self, session: Any, unit_id: str, milestone: str) -> tuple[str, ...]:
        m = next((m for m in self.plan.milestones() if m.id == milestone), None)
        if m is None:
            return ()
        return intake.still_missing(session, unit_id=unit_id, milestone_id=milestone,
                                    formats=self.plan.formats_for(m, unit_id),
                                    stats_period=m.period if m.stats_table else None)

    def _file_row(self, session: Any, stored: StoredFile, rel: PurePath, unit_id: str, milestone: str | None,
                  outcome: str, **extra: Any) -> None:
        intake.record_inbox_file(session, sha256=stored.sha256, name=stored.name, path=rel.as_posix(),
                                 size=stored.size, unit_id=unit_id, milestone_id=milestone, outcome=outcome,
                                 processed_on=self.today, actor=self.actor, **extra)

    def record_groups(self) -> None:
        self.refuse_shared()
        for (unit_id, milestone), files in self.groups.items():
            try:
                files = self.refuse_foreign(unit_id, files)
                if files:
                    self.record_group(unit_id, milestone, files)
            except DubanError as exc:
                for path, rel in files:
                    self.unmatched(path, rel, exc.message + (f"（{exc.hint}）" if exc.hint else ""), unit_id)

    def refuse_shared(self) -> None:
        """The same file sent in one run under two units' names: neither is recorded."""
        units_of: dict[str, set[str]] = {}
        hashes: dict[Path, str] = {}
        for (unit_id, _), files in self.groups.items():
            for path, _ in files:
                hashes[path] = sha256_of(path)
                units_of.setdefault(hashes[path], set()).add(unit_id)
        for key, files in list(self.groups.items()):
            kept = []
            for path, rel in files:
                owners = units_of[hashes[path]]
                if len(owners) > 1:
                    names = "」「".join(self.units[u] for u in self.units if u in owners)
                    self.unmatched(path, rel, f"同一文件（sha256 {hashes[path][:12]}）同时以「{names}」的名义送来，"
                                              "无法判断属于哪个单位", key[0])
                else:
                    kept.append((path, rel))
            self.groups[key] = kept

    def refuse_foreign(self, unit_id: str, files: list[tuple[Path, PurePath]]) -> list[tuple[Path, PurePath]]:
        """Files whose exact content is already recorded for another unit go to unmatched:
        one document cannot be two units' report."""
        hashes = {path: sha256_of(path) for path, _ in files}
        with session_scope() as session:
            owners = intake.hash_owners(session, sha256s=hashes.values())
        kept = []
        for path, rel in files:
            other = [o for o in owners.get(hashes[path], []) if o.unit_id != unit_id]
            if other:
                o = other[0]
                what = f"的「{milestone_title(self.plan, o.milestone_id)}」" if o.milestone_id else "的统计表"
                self.unmatched(path, rel, f"同一文件（sha256 {hashes[path][:12]}）已登记为"
                                          f"「{self.units.get(o.unit_id, o.unit_id)}」{what}，"
                                          f"不能再登记给「{self.units[unit_id]}」", unit_id)
            else:
                kept.append((path, rel))
        return kept

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
                    session, unit_id=unit_id, milestone_id=milestone, submitted_on=self.today, source=self.source,
                    actor=self.actor, note="收件箱：" + "、".join(r.as_posix() for _, r, _ in fresh),
                    files=[s.as_json() for _, _, s in fresh])
                submission_id = done.submission.id
                for _, rel, stored in fresh:
                    self._file_row(session, stored, rel, unit_id, milestone, "submission",
                                   submission_id=submission_id)
                session.flush()
            missing = self.missing(session, unit_id, milestone)
        fresh_paths = {p for p, _, _ in fresh}
        for (path, rel), digest in zip(files, hashes, strict=True):
            name = rel.as_posix()
            if path in fresh_paths:
                self.processed(path, rel, InboxItem(name, "submission", unit_id, milestone,
                                                    f"登记报送，报送日期 {self.today.isoformat()}",
                                                    name=rel.name, sha256=digest, missing=missing))
            else:
                self.processed(path, rel, InboxItem(name, "duplicate", unit_id, milestone,
                                                    "同一文件已登记过，未重复登记", name=rel.name, sha256=digest))


def process_inbox(*, plan: Plan, inbox_dir: Path, today: dt.date, actor: str,
                  source: str = "inbox") -> InboxReport:
    """Sort every file under ``inbox_dir`` (not ``processed/`` or ``unmatched/``).

    ``source`` is recorded on submissions (``inbox``; the mailbox passes ``mail``)."""
    run = _Run(plan=plan, inbox=inbox_dir, today=today, actor=actor, source=source)
    try:
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
    finally:
        shutil.rmtree(run.scratch, ignore_errors=True)
