"""Fuzz the plan loader with seeded mutations of the shipped plan.yaml (issue #12).

Every mutant must either load or be refused with a :class:`PlanError` whose every problem
has a line and column ≥ 1 — never another exception.  Bombs (deep nesting, alias
expansion) run in a child process under a memory limit and a timeout.  A few accepted
mutants then go through sync + one sweep on a real SQLite file, and a larger sample
through every later stage (sync, inbox, sweep, delivery, digest, evaluation) in-process.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plan import PlanError, load_plan
from plan.errors import DubanError
from plan.model import Plan
from tests.conftest import ROOT
from tests.fixtures_plan import edit, shipped

SEED = 20240514
COUNT = 520

TAGS = ["!!timestamp", "!!int", "!!float", "!!bool", "!!seq", "!!map", "!!str", "!!null",
        "!!binary", "!!set", "!!omap", "!custom", "!!python/object/apply:os.system"]
VALUES = ["[]", "{}", "null", "~", "true", "no", "3.5", "-1", "0", "9999999999999999999999",
          "1e400", ".inf", "-.inf", ".nan", '"文字"', "2024-02-30", "0001-01-01", "9999-12-31",
          "2024-06-05T25:00:00", "0x_", "0b2", "1:30", "'''", "[a, [b, {c: d}]]", "{x: [1, 2]}",
          '"' + "长" * 2000 + '"', "-9223372036854775809", "1_000", "+.5", "'2024-06-05'"]
DATES = ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31", "2024-02-29", "2024-12-31",
         "2023-01-01", "2025-01-01", "2027-10-01"]
NUMBERS = ["1000000000", "-1000000000", "251", "-251", "250", "-250", "0", "1e9", ".inf",
           "99999999999999999999999", "-0", "1.5"]
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\ufffe", "\t", "\r", "\u200b", "\u202e"]
ESCAPES = ["\\0", "\\a", "\\e", "\\x1b", "\\u0007", "\\x85", "\\u2028", "\\n", "\\t", "\\r", "\\u200b", "\\ufeff"]
EMAILS = ['"<script>@x.org"', '"测试@例子.中国"', '"\\"a\\"@x.org"', '"x@y.org%0aBcc:z"',
          '"a@b.org>,evil.x.org"', '"a@b.org\\nBcc: z@x.org"', "a@@b.org", "a@b", '"a b@x.org"',
          "a@-b.org", "a..b@x.org", "ok.name@sub.example.cn"]
CRONS = ['"0 ² * * *"', '"0 9 31 2 *"', '"0 9 29 2 *"', '"0 9 30 2 1"', '"٠ 9 * * *"',
         '"*/0 9 * * *"', '"0 9 * * 8"', '"0 9 * * mon-fri"', '"0 9 1-31/7 */2 *"', '"0 9"']

_SCALAR_LINE = re.compile(r"^(\s*(?:- )?[A-Za-z_][\w-]*: )(\S.*)$")
_DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")


def _lines_matching(lines: list[str], pattern: re.Pattern[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if pattern.search(line)]


def _replace_value(rng: random.Random, text: str, make: Callable[[str], str]) -> str:
    lines = text.split("\n")
    index = rng.choice(_lines_matching(lines, _SCALAR_LINE))
    found = _SCALAR_LINE.match(lines[index])
    assert found
    lines[index] = found.group(1) + make(found.group(2))
    return "\n".join(lines)


def _sub_one(rng: random.Random, text: str, pattern: str, new: str) -> str:
    spots = [m.span() for m in re.finditer(pattern, text)]
    if not spots:
        return text
    start, end = rng.choice(spots)
    return text[:start] + new + text[end:]


def tag_swap(rng: random.Random, text: str) -> str:
    return _replace_value(rng, text, lambda value: f"{rng.choice(TAGS)} {value}")


def type_swap(rng: random.Random, text: str) -> str:
    return _replace_value(rng, text, lambda _value: rng.choice(VALUES))


def delete_lines(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    start = rng.randrange(len(lines))
    del lines[start:start + rng.choice([1, 1, 1, 2, 5, 20])]
    return "\n".join(lines)


def control_char(rng: random.Random, text: str) -> str:
    if rng.random() < 0.5:
        at = rng.randrange(len(text))
        return text[:at] + rng.choice(CONTROLS) + text[at:]
    return _replace_value(rng, text, lambda value: '"' + value.replace('"', "").replace("\\", "")
                          + rng.choice(ESCAPES) + '"')


def deep_nesting(rng: random.Random, text: str) -> str:
    depth = rng.choice([8, 9, 11, 50, 600, 5000])
    if rng.random() < 0.5:
        return text + f"\nx-deep: {'[' * depth}1{']' * depth}\n"
    body = "".join(f"{'  ' * i}- \n" if i < depth - 1 else f"{'  ' * i}- 1\n" for i in range(min(depth, 400)))
    return text + "\nx-deep:\n" + re.sub(r"^", "  ", body, flags=re.M)


def alias_bomb(rng: random.Random, text: str) -> str:
    levels = rng.choice([1, 2, 3, 9])
    width = rng.choice([2, 3, 9])
    rows = [f"x-l0: &l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"x-l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return text + "\n" + "\n".join(rows) + "\n"


def extreme_number(rng: random.Random, text: str) -> str:
    pattern = rng.choice([r"offset: -?\d+", r"due_soon: \d+", r"day: \d+", r"within: \d+",
                          r"base: \d+", r"number: \d+", r"section: \d+", r"per_day: \d+"])
    key = pattern.split(":")[0]
    return _sub_one(rng, text, pattern, f"{key}: {rng.choice(NUMBERS)}")


def extreme_date(rng: random.Random, text: str) -> str:
    return _sub_one(rng, text, _DATE.pattern, rng.choice(DATES))


def bad_email(rng: random.Random, text: str) -> str:
    return _sub_one(rng, text, r"email: [^,}\s]+", f"email: {rng.choice(EMAILS)}")


def bad_cron(rng: random.Random, text: str) -> str:
    return _sub_one(rng, text, r'cron: "[^"]*"', f"cron: {rng.choice(CRONS)}")


def duplicate_or_tab(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    index = rng.choice(_lines_matching(lines, _SCALAR_LINE))
    if rng.random() < 0.5:
        lines.insert(index, lines[index])
    else:
        lines[index] = lines[index].replace(": ", ":\t", 1) if rng.random() < 0.5 else "\t" + lines[index]
    return "\n".join(lines)


def rename_id(rng: random.Random, text: str) -> str:
    """A unit, group, report or rung renamed where it is declared but not where it is used."""
    return _sub_one(rng, text, r"id: [a-z0-9-]+", f"id: renamed-{rng.randrange(100)}")


def section_swap(rng: random.Random, text: str) -> str:
    """A whole top-level section replaced by a scalar, an empty list or nothing."""
    spots = [m.start() for m in re.finditer(r"(?m)^[a-z]+:", text)]
    start = rng.choice(spots)
    end = next((s for s in spots if s > start), len(text))
    key = text[start:text.index(":", start)]
    return text[:start] + f"{key}: {rng.choice(['', '5', '[]', '{}', 'null', '文字'])}\n" + text[end:]


MUTATIONS: list[Callable[[random.Random, str], str]] = [
    tag_swap, tag_swap, type_swap, type_swap, type_swap, delete_lines, delete_lines, control_char,
    control_char, deep_nesting, alias_bomb, extreme_number, extreme_number, extreme_date,
    extreme_date, bad_email, bad_cron, duplicate_or_tab, rename_id, section_swap,
]


def mutants() -> Iterator[tuple[str, str]]:
    """(description, text): COUNT seeded mutants, some with two mutations stacked."""
    rng = random.Random(SEED)
    base = shipped()
    for n in range(COUNT):
        text = base
        names = []
        for _ in range(1 if rng.random() < 0.8 else 2):
            mutate = rng.choice(MUTATIONS)
            names.append(mutate.__name__)
            text = mutate(rng, text)
        yield f"#{n} {'+'.join(names)}", text


def _load(path: Path) -> Plan | PlanError:
    try:
        return load_plan(path)
    except PlanError as err:
        return err


def test_every_mutant_loads_or_is_refused_with_a_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    accepted: list[tuple[str, str, Plan]] = []
    refused = 0
    for name, text in mutants():
        if "alias_bomb" in name or "deep_nesting" in name:
            continue  # run under a memory limit in test_bombs_are_refused_in_a_small_process
        path.write_text(text, encoding="utf-8")
        outcome = _load(path)  # any other exception fails the test, naming the mutant
        if isinstance(outcome, PlanError):
            refused += 1
            assert outcome.problems, name
            for problem in outcome.problems:
                assert problem.line >= 1 and problem.column >= 1, (name, str(problem))
                assert problem.message and problem.hint, (name, str(problem))
        else:
            accepted.append((name, text, outcome))
    # The corpus must exercise both outcomes, or it proves nothing.
    assert refused > 200
    assert len(accepted) > 20
    _ACCEPTED.extend(accepted)


_ACCEPTED: list[tuple[str, str, Plan]] = []

_CHILD = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from plan import PlanError, load_plan
from plan.errors import DubanError
out = []
for path in sys.argv[1:]:
    try:
        load_plan(path)
        out.append({"path": path, "ok": True})
    except PlanError as err:
        out.append({"path": path, "ok": False,
                    "lines": [p.line for p in err.problems], "messages": [p.message for p in err.problems]})
print(json.dumps(out, ensure_ascii=False))
"""


def _run_child(paths: list[Path]) -> list[dict[str, object]]:
    done = subprocess.run([sys.executable, "-c", _CHILD, *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: list[dict[str, object]] = json.loads(done.stdout)
    return result


def test_bombs_are_refused_in_a_small_process(tmp_path: Path) -> None:
    """Deep nesting and alias bombs: refused or loaded within 1 GiB of address space and a
    timeout, with a line for every problem; the classic bombs are refused by name."""
    paths = []
    for name, text in mutants():
        if "alias_bomb" in name or "deep_nesting" in name:
            path = tmp_path / f"m{len(paths)}.yaml"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
    base = shipped()
    laughs = [f"x-l0: &l0 [{', '.join(['lol'] * 9)}]"]
    laughs += [f"x-l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
    classics = {
        "laughs": base + "\n" + "\n".join(laughs) + "\n",
        "brackets": base + "\nx-deep: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "braces": base + "\nx-deep: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
        "dashes": base + "\nx-deep:\n" + "".join(f"{'  ' * (i + 1)}-\n" for i in range(3000)),
    }
    for key, text in classics.items():
        path = tmp_path / f"{key}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    assert len(paths) > 40
    results = _run_child(paths)
    by_path = {str(r["path"]): r for r in results}
    for result in results:
        if not result["ok"]:
            assert all(int(line) >= 1 for line in result["lines"]), result  # type: ignore[attr-defined]
    laughs_line = base.count("\n") + 2 + 3  # the 4th alias line: budget spent after 20 aliases
    assert by_path[str(tmp_path / "laughs.yaml")]["messages"] == [
        "YAML 别名（*）用得太多：最多 20 处、共展开 5000 个值"]
    assert by_path[str(tmp_path / "laughs.yaml")]["lines"] == [laughs_line]
    for key in ("brackets", "braces", "dashes"):
        assert by_path[str(tmp_path / f"{key}.yaml")]["messages"] == ["嵌套超过 10 层"], key


def test_a_sample_of_accepted_mutants_syncs_and_sweeps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accepted means usable: sync and one sweep on a season date raise nothing."""
    from flows.sweep import run_sweep
    from models.db import dispose_engines, session_scope
    from models.sync import sync_ledger

    if not _ACCEPTED:
        (tmp_path / "corpus").mkdir()
        test_every_mutant_loads_or_is_refused_with_a_line(tmp_path / "corpus")
    rng = random.Random(SEED)
    sample = rng.sample(_ACCEPTED, min(8, len(_ACCEPTED)))
    monkeypatch.setenv("DUBAN_VAR", str(tmp_path / "var"))
    for n, (name, _text, plan) in enumerate(sample):
        monkeypatch.setenv("DUBAN_DATABASE_URL", f"sqlite:///{tmp_path / f'ledger{n}.db'}")
        dispose_engines()
        try:
            with session_scope() as session:
                sync_ledger(session, plan)
            with session_scope() as session:
                run_sweep(session, plan=plan, today=dt.date(2024, 7, 10))
        except Exception as err:  # pragma: no cover - the failure message names the mutant
            raise AssertionError(f"{name}: {type(err).__name__}: {err}") from err
        finally:
            dispose_engines()


# How many accepted mutants go through every later stage, and how many of those also
# render the PDF 简报 with WeasyPrint (~1 s each on a busy 2-core machine; the others write
# the brief's HTML instead, which is what WeasyPrint would be fed).
FULL_STAGES = 24
WITH_PDF = 3
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _at_every_bound() -> str:
    """Ids of 40 characters, a unit name of 50, ladder offsets of ±250: the documented limits."""
    long_id = "x" * 40
    text = re.sub(r"\bxuhui\b(?![@-])", long_id, shipped())
    return edit(("name: 徐汇区知识产权局\n", "name: " + "徐" * 50 + "\n"), ("id: overdue,", f"id: {'o' * 40},"),
                ("id: t01-half-year", f"id: {'t' * 40}"), ("offset: -5, to", "offset: -250, to"),
                ("offset: 10, to", "offset: 250, to"), text=text)


# Valid plans at the edges the random mutations rarely reach; each always runs every stage.
EDGE_PLANS: dict[str, Callable[[], str]] = {
    "at-every-bound": _at_every_bound,
    "hostile-text": lambda: edit(
        ("name: 徐汇区知识产权局\n", 'name: "=1+2<script>alert(1)</script>&amp;"\n'),
        ("name: 长宁区知识产权局\n", "name: 长宁'\"区\\知识产权局;--\n"),
        ("name: 静安区知识产权局\n", "name: 静安😀区𠀀知识产权局\n"),
        ("title: 推进新修订的法规规章实施", 'title: "{{ 7*7 }} {% raw %} %s {0} =HYPERLINK(\\"x\\")"')),
    "calendar-days-every-day": lambda: edit(("count: working-days", "count: calendar-days"),
                                            ("send_on_non_working_days: false", "send_on_non_working_days: true")),
    "july-all-holidays": lambda: edit(("extra_holidays: []", "extra_holidays: [" + ", ".join(
        f"2024-07-{d:02d}" for d in range(1, 32)) + "]")),
    "all-assumed-one-address": lambda: re.sub(r"[a-z-]+@example\.org", "same@example.org",
                                              shipped().replace("source: seed", "source: assumed")),
    "harsh-scores": lambda: edit(("late: {per_day: 1, max: 10}", "late: {per_day: 1000, max: 1000}"),
                                 ("commend: {min_score: 100, max_units: 5}", "commend: {min_score: 100, max_units: 0}"),
                                 ("  public: true", "  public: false")),
    "reports-for-divisions-only": lambda: shipped().replace("units: [reporting-units]", "units: [divisions]"),
    "a-year-chinesecalendar-lacks": lambda: shipped().replace("2024-", "2000-"),
}


def season_date(plan: Plan) -> dt.date:
    """A date deep in the season: the half-year summary's due date + 10 working days (or the
    plan period's middle when a mutation removed that report), kept inside the plan period."""
    from plan.workdays import WorkCalendar

    period = plan.meta.period
    report = plan.reports.get("half-year-summary")
    if report is None:
        day = period.start + (period.end - period.start) / 2
    else:
        day = WorkCalendar(plan.calendar).shift(report.due, 10)
    return max(period.start, min(day, period.end))


_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _fill_inbox(inbox: Path, plan: Plan, docx_bytes: bytes) -> None:
    """What units drop in the inbox, named after the mutant's own units and reports: a summary
    by unit name and report title, a stamped PDF in a unit-id folder, and a file for nobody."""
    def safe(name: str) -> str:
        return re.sub(r"[/\\\x00]", "-", name)[:40]

    inbox.mkdir(parents=True, exist_ok=True)
    units = [u for u in plan.units.values() if u.reports_publicly] or list(plan.units.values())
    report = plan.reports.get("half-year-summary") or next(iter(plan.reports.values()), None)
    title = report.title if report else "半年度工作总结"
    if units:
        (inbox / f"{safe(units[0].name)}-{safe(title)}.docx").write_bytes(docx_bytes)
        (inbox / units[-1].id).mkdir(exist_ok=True)
        (inbox / units[-1].id / "半年总结（盖章）.pdf").write_bytes(_PDF.replace(b"Catalog", b"Catalog" + b"1"))
    (inbox / "火星-半年总结.pdf").write_bytes(_PDF)


def _every_stage(plan_path: Path, plan: Plan, today: dt.date, docx_bytes: bytes) -> None:
    from flows.report_jobs import run_digest, run_evaluation
    from flows.steps import deliver_step, intake_step, mail_step, sweep_step, sync_step
    from models.db import var_dir

    sync_step(plan, actor="fuzz")
    mail_step(plan, today=today, actor="fuzz")
    _fill_inbox(var_dir() / "inbox", plan, docx_bytes)
    intake_step(plan, today=today, inbox=None, actor="fuzz")
    sweep_step(plan, today=today)
    deliver_step(plan, today=today)
    run_digest(plan_path=str(plan_path), today=today, email=True)
    run_evaluation(plan_path=str(plan_path), period="half-year", today=today, actor="fuzz")
    deliver_step(plan, today=today)  # the digest's email with its PDF and workbook attached


def test_a_sample_of_accepted_mutants_runs_every_later_stage(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Accepted means runnable: for a seeded sample of accepted mutants, sync, inbox, sweep,
    delivery to var/outbox, digest and the half-year evaluation on a season date raise
    nothing but a DubanError with a Chinese message and a hint (exit 1, never exit 3)."""
    import shutil

    import flows.report_jobs as report_jobs
    from models.db import dispose_engines, get_engine, migrate
    from notifications.digest_pdf import brief_html

    if not _ACCEPTED:
        (tmp_path / "corpus").mkdir()
        test_every_mutant_loads_or_is_refused_with_a_line(tmp_path / "corpus")
    for key in ("HOST", "PORT", "USER", "PASSWORD", "FROM", "STARTTLS", "SSL", "TIMEOUT"):
        monkeypatch.delenv(f"DUBAN_SMTP_{key}", raising=False)
    monkeypatch.delenv("DUBAN_IMAP_HOST", raising=False)
    # Migrating a fresh SQLite file costs more than a mutant's whole run: migrate once, copy.
    template = tmp_path / "template.db"
    migrate(get_engine(f"sqlite:///{template}"))
    dispose_engines()
    real_brief = report_jobs.start_brief
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph("半年度工作总结")
    document.save(str(tmp_path / "summary.docx"))
    docx_bytes = (tmp_path / "summary.docx").read_bytes()

    class HtmlBrief:
        """The brief as its HTML, at once: WeasyPrint for every mutant would take minutes."""

        def __init__(self, v: object, number: int, target: Path) -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(brief_html(v, number), encoding="utf-8")  # type: ignore[arg-type]
            self.target = target

        def __enter__(self) -> HtmlBrief:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def result(self) -> Path:
            return self.target

    sample = random.Random(SEED + 1).sample(_ACCEPTED, min(FULL_STAGES, len(_ACCEPTED)))
    assert len(sample) >= 20
    for key, make in EDGE_PLANS.items():
        edge = make()
        edge_path = tmp_path / f"{key}.yaml"
        edge_path.write_text(edge, encoding="utf-8")
        sample.append((key, edge, load_plan(edge_path)))  # an edge plan that check refuses fails here
    completed, refusals = 0, []
    for n, (name, text, plan) in enumerate(sample):
        folder = tmp_path / f"m{n}"
        (folder / "var").mkdir(parents=True)
        plan_path = folder / "plan.yaml"
        plan_path.write_text(text, encoding="utf-8")
        shutil.copy(template, folder / "var" / "duban.db")
        monkeypatch.chdir(folder)
        monkeypatch.setenv("DUBAN_VAR", str(folder / "var"))
        monkeypatch.setenv("DUBAN_DATABASE_URL", f"sqlite:///{folder / 'var' / 'duban.db'}")
        monkeypatch.setattr(report_jobs, "start_brief", real_brief if n < WITH_PDF else HtmlBrief)
        dispose_engines()
        today = season_date(plan)
        try:
            _every_stage(plan_path, load_plan(plan_path), today, docx_bytes)
            completed += 1
        except DubanError as err:  # a refusal is fine if it says what and how, in Chinese
            refusals.append(f"{name}: {err.message}")
            assert _CJK.search(err.message) and _CJK.search(err.hint), (name, err.message, err.hint)
        except Exception as err:  # pragma: no cover - the failure message names the mutant
            raise AssertionError(f"{name} on {today}: {type(err).__name__}: {err}") from err
        finally:
            dispose_engines()
    # A sample that every stage refuses proves nothing about the stages themselves.
    assert completed >= len(sample) - 2, refusals


def test_a_plan_at_every_bound_syncs_and_sweeps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented limits themselves are safe for the later stages: offsets of ±250
    working days, 260 weekly occurrences, a period into a year chinesecalendar lacks."""
    from flows.sweep import run_sweep
    from models.db import dispose_engines, session_scope
    from models.sync import sync_ledger
    from tests.fixtures_plan import write_plan

    text = edit(
        ("period: {start: 2024-05-14, end: 2024-12-31}", "period: {start: 2024-05-14, end: 2029-06-30}"),
        ("offset: -5, to", "offset: -250, to"),
        ("offset: 10, to", "offset: 250, to"),
        ("every: {unit: quarter, day: 10, start: 2024-07-01, end: 2024-12-31}",
         "every: {unit: week, day: 7, start: 2024-07-01, end: 2029-06-17}"),
        ("  base: 100", "  base: 1000"),
    )
    plan = load_plan(write_plan(tmp_path, text))
    assert [w.message for w in plan.warnings if "chinesecalendar" in w.message] == [
        f"chinesecalendar 没有 {year} 年的节假日数据：将按周一至周五计算工作日" for year in (2027, 2028, 2029)]
    monkeypatch.setenv("DUBAN_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("DUBAN_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    dispose_engines()
    try:
        with session_scope() as session:
            sync_ledger(session, plan)
        for day in (dt.date(2024, 5, 14), dt.date(2025, 7, 7), dt.date(2029, 6, 29)):
            with session_scope() as session:
                run_sweep(session, plan=plan, today=day)
    finally:
        dispose_engines()


def test_check_command_exits_0_or_1_on_mutants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``duban check --json`` (summary included) on the first 60 mutants: never exit 3."""
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    codes: set[int] = set()
    for n, (name, text) in enumerate(mutants()):
        if n >= 60:
            break
        if "alias_bomb" in name or "deep_nesting" in name:
            continue
        (tmp_path / "plan.yaml").write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["check", "--json"], catch_exceptions=True)
        assert result.exit_code in (0, 1), (name, result.output[-2000:], result.exception)
        report = json.loads(result.stdout)
        assert report["ok"] is (result.exit_code == 0), name
        assert all(e["line"] >= 1 for e in report["errors"]), name
        codes.add(result.exit_code)
    assert codes == {0, 1}
