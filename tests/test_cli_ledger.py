"""`duban status / record / waive` in-process against a real temporary ledger."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.chinese_text import flat
from tests.conftest import table_snapshot


def _status(cli, *args: str) -> dict:
    result = cli("status", "--today", "2024-07-08", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _entry(data: dict, unit: str, milestone: str) -> dict:
    (found,) = [e for e in data["entries"] if e["unit"] == unit and e["milestone"] == milestone]
    return found


def test_status_on_0708_reflects_recorded_half_year_summaries(synced, cli) -> None:
    cli("record", "--unit", "pudong", "--milestone", "half-year-summary", "--date", "2024-07-03",
        "--today", "2024-07-08", ok=True)
    cli("record", "--unit", "lingang", "--milestone", "half-year-summary", "--date", "2024-07-05",
        "--today", "2024-07-08", ok=True)
    late = cli("record", "--unit", "xuhui", "--milestone", "half-year-summary", "--date", "2024-07-06",
               "--today", "2024-07-08", ok=True)
    assert flat(late.stdout) == flat("已登记：徐汇区知识产权局 · 半年度工作总结，报送日期 2024-07-06"
                                     "（截止日后的休息日报送，逾期不足 1 个工作日，截止 2024-07-05）。")
    later = cli("record", "--unit", "jingan", "--milestone", "half-year-summary", "--date", "2024-07-09",
                "--today", "2024-07-09", ok=True)
    assert "（逾期 2 个工作日，截止 2024-07-05）" in later.stdout

    data = _status(cli)
    assert data["today"] == "2024-07-08"
    summary = {e["unit"]: e for e in data["entries"] if e["milestone"] == "half-year-summary"}
    assert set(summary) == set(synced.expand(synced.reports["half-year-summary"].units))
    for unit in ("pudong", "lingang"):
        assert (summary[unit]["state"], summary[unit]["light"]) == ("on-time", "green")
    assert summary["pudong"]["submitted_on"] == "2024-07-03"
    assert (summary["xuhui"]["state"], summary["xuhui"]["state_label"]) == ("late", "逾期报送")
    silent = [u for u in summary if u not in ("pudong", "lingang", "xuhui")]
    assert silent
    for unit in silent:
        assert (summary[unit]["state"], summary[unit]["light"]) == ("overdue", "red")
        assert summary[unit]["days_overdue"] == 1  # 07-05 (Fri) → 07-08 (Mon): one working day
        assert summary[unit]["submitted_on"] is None
    # Progress milestones tied to the summary close with it.
    assert _entry(data, "pudong", "t05-half-year")["state"] == "on-time"
    assert _entry(data, "huangpu", "t05-half-year")["state"] == "overdue"
    assert data["totals"]["all"]["total"] == len(synced.obligations())


def test_status_filters_by_unit_and_task(synced, cli) -> None:
    data = _status(cli, "--unit", "pudong", "--task", "17")
    assert {e["milestone"] for e in data["entries"]} == {"t17-half-year", "t17-annual"}
    assert [t["task"] for t in data["totals"]["tasks"]] == [17]
    assert [u["unit"] for u in data["totals"]["units"]] == ["pudong"]


def test_a_submission_after_today_does_not_count_yet(synced, cli) -> None:
    cli("record", "--unit", "jingan", "--milestone", "half-year-summary", "--date", "2024-07-04",
        "--today", "2024-07-04", ok=True)
    before = cli("status", "--today", "2024-07-03", "--json", "--unit", "jingan")
    entry = _entry(json.loads(before.stdout), "jingan", "half-year-summary")
    assert (entry["state"], entry["submitted_on"]) == ("due-soon", None)


def test_record_refuses_a_date_after_today(synced, cli, db_url: str) -> None:
    before = table_snapshot(db_url)
    result = cli("record", "--unit", "pudong", "--milestone", "work-plan", "--date", "2024-07-09",
                 "--today", "2024-07-08")
    assert result.exit_code == 1
    assert result.stderr == ("错误：报送日期 2024-07-09 晚于今天（2024-07-08）\n"
                             "提示：检查 --date；补登过去某天的报送时，--today 不能早于 --date\n")
    assert table_snapshot(db_url) == before


@pytest.mark.parametrize(("unit", "milestone", "message"), [
    ("xuhu", "half-year-summary", "错误：--unit：找不到单位「xuhu」\n"
                                  "提示：是不是「徐汇区知识产权局」（xuhui）？运行 duban units 查看全部单位\n"),
    ("徐会区", "half-year-summary", "错误：--unit：找不到单位「徐会区」\n"
                                   "提示：是不是「徐汇区知识产权局」（xuhui）？运行 duban units 查看全部单位\n"),
    ("xuhui", "half-year-sumary", "错误：--milestone：找不到节点「half-year-sumary」\n"
                                  "提示：是不是「half-year-summary」？"
                                  "运行 duban milestones --unit xuhui 查看全部节点\n"),
    ("xuhui", "总结", "错误：--milestone：找不到节点「总结」\n"
                     "提示：运行 duban milestones --unit xuhui 查看全部节点\n"),
    ("xuhui", "t13-half-year", "错误：单位「xuhui」不需要报送「t13-half-year」\n"
                               "提示：「t13-half-year」由 protection-centre 报送；"
                               "查看该单位的节点：duban status --unit xuhui --all\n"),
])
def test_record_refusals_change_nothing(unit: str, milestone: str, message: str, synced, cli,
                                        db_url: str, workdir: Path) -> None:
    document = workdir / "总结.docx"
    document.write_bytes(b"half-year summary")
    before = table_snapshot(db_url)
    result = cli("record", "--unit", unit, "--milestone", milestone, "--file", str(document),
                 "--today", "2024-07-08")
    assert result.exit_code == 1
    assert result.stderr == message
    assert table_snapshot(db_url) == before
    assert not (workdir / "var" / "files").exists()  # nothing copied for a refused record


def test_record_stores_files_by_hash_once(synced, cli, db_url: str, workdir: Path) -> None:
    document = workdir / "半年总结.docx"
    document.write_bytes("浦东新区半年度工作总结".encode())
    digest = hashlib.sha256(document.read_bytes()).hexdigest()
    args = ("record", "--unit", "pudong", "--milestone", "half-year-summary", "--date", "2024-07-03",
            "--file", str(document), "--today", "2024-07-08")

    first = cli(*args, "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert (data["late"], data["duplicate"]) == (False, False)
    assert data["files"] == [{"name": "半年总结.docx", "sha256": digest, "size": document.stat().st_size}]
    stored = workdir / "var" / "files" / digest[:2] / digest
    assert stored.read_bytes() == document.read_bytes()

    again = cli(*args)
    assert again.exit_code == 0
    assert again.stdout == "这些文件已在 2024-07-03 登记过，未重复登记。\n"
    rows = table_snapshot(db_url)
    assert len(rows["submission"]) == 1
    assert [p.name for p in (workdir / "var" / "files").rglob("*") if p.is_file()] == [digest]


def test_record_of_a_missing_file_is_refused(synced, cli, db_url: str) -> None:
    before = table_snapshot(db_url)
    result = cli("record", "--unit", "pudong", "--milestone", "work-plan", "--file", "不存在.docx",
                 "--today", "2024-07-08")
    assert result.exit_code == 1
    assert result.stderr == "错误：找不到文件 不存在.docx\n提示：检查 --file 的路径\n"
    assert table_snapshot(db_url) == before


def test_waive_marks_the_entry_and_is_audited(synced, cli, db_url: str) -> None:
    result = cli("waive", "--unit", "huangpu", "--milestone", "t11-paris-2024", "--reason", "赛事改期")
    assert result.exit_code == 0, result.output
    assert result.stdout == "已豁免：黄浦区知识产权局 · 2024年巴黎奥运会期间奥林匹克标志保护（截止 2024-08-16）。\n"
    entry = _entry(_status(cli, "--unit", "huangpu"), "huangpu", "t11-paris-2024")
    assert (entry["state"], entry["light"]) == ("waived", "grey")
    audit = [row for row in table_snapshot(db_url)["audit_log"] if row[3] == "entry.waive"]
    assert len(audit) == 1


def test_waive_needs_a_reason(synced, cli, db_url: str) -> None:
    before = table_snapshot(db_url)
    result = cli("waive", "--unit", "huangpu", "--milestone", "t11-paris-2024", "--reason", "  ")
    assert result.exit_code == 1
    assert result.stderr == "错误：豁免理由不能为空\n提示：用 --reason 写明理由\n"
    assert table_snapshot(db_url) == before


def test_status_before_any_sync_says_what_to_do(workdir: Path, cli) -> None:
    result = cli("status", "--today", "2024-07-08")
    assert result.exit_code == 1
    assert result.stderr == "错误：台账是空的，还没有同步方案\n提示：先运行 duban sync\n"


def test_status_of_an_unknown_unit(synced, cli) -> None:
    result = cli("status", "--today", "2024-07-08", "--unit", "pudon")
    assert result.exit_code == 1
    assert result.stderr == ("错误：--unit：找不到单位「pudon」\n"
                             "提示：是不是「浦东新区知识产权局」（pudong）？运行 duban units 查看全部单位\n")


@pytest.mark.parametrize(("unit", "milestone"), [
    ("徐汇区知识产权局", "半年度工作总结"), ("徐汇区", "半年度"), ("徐汇", "half-year-summary"),
    ("xuhui", "半年度工作"),
])
def test_record_accepts_names_for_unit_and_milestone(unit: str, milestone: str, synced, cli) -> None:
    result = cli("record", "--unit", unit, "--milestone", milestone, "--date", "2024-07-03",
                 "--today", "2024-07-08", ok=True)
    assert flat(result.stdout) == flat("已登记：徐汇区知识产权局 · 半年度工作总结，报送日期 2024-07-03"
                                       "（按时，截止 2024-07-05）。")


def test_waive_accepts_names(synced, cli) -> None:
    result = cli("waive", "--unit", "黄浦", "--milestone", "t11-paris-2024", "--reason", "赛事改期", ok=True)
    assert result.stdout == "已豁免：黄浦区知识产权局 · 2024年巴黎奥运会期间奥林匹克标志保护（截止 2024-08-16）。\n"


def test_a_title_prefix_naming_several_milestones_is_refused(synced, cli) -> None:
    result = cli("record", "--unit", "xuhui", "--milestone", "任务1", "--today", "2024-07-08")
    assert result.exit_code == 1
    assert result.stderr == ("错误：--milestone：「任务1」可以指多个节点：任务1半年进展（随半年度工作总结报送）"
                             "（t01-half-year）、任务1全年进展（随全年工作总结报送）（t01-annual）、"
                             "任务10半年进展（随半年度工作总结报送）（t10-half-year）、"
                             "任务10全年进展（随全年工作总结报送）（t10-annual） 等 14 个\n"
                             "提示：写完整一些的名称，或写节点编号（运行 duban milestones 查看）\n")


@pytest.mark.parametrize("command", [("status",), ("record", "--unit", "pudong", "--milestone", "work-plan")])
def test_an_impossible_today_is_a_usage_error(command: tuple[str, ...], synced, cli) -> None:
    result = cli(*command, "--today", "2024-13-01")
    assert result.exit_code == 2
    shown = re.sub(r"[\s│╭╮╰╯─]+", "", result.stderr)  # typer draws usage errors in a box
    from flows.clock import today_in_shanghai

    example = today_in_shanghai().isoformat()  # the example is in the user's own year
    assert f"'--today'取值无效：「2024-13-01」不是有效的日期，请写成YYYY-MM-DD，例如{example}" in shown
    assert "意外错误" not in result.stderr


def test_an_unexpected_error_exits_3_and_names_the_log(workdir: Path, cli,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_DATABASE_URL", "nosuchdb://ledger")
    result = cli("status", "--today", "2024-07-08")
    assert result.exit_code == 3
    log = workdir / "var" / "log" / "duban.log"
    assert result.stderr.splitlines() == [
        "意外错误：NoSuchModuleError: Can't load plugin: sqlalchemy.dialects:nosuchdb",
        f"详细信息已写入 {log}；请把这个文件发给维护人员。",
    ]
    assert "Traceback (most recent call last)" in log.read_text(encoding="utf-8")
