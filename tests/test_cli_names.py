"""Names where ids were required, the lists that show ids, and one refusal for an empty ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chinese_text import english_words
from tests.conftest import table_snapshot


def test_units_lists_ids_next_to_short_and_full_names(workdir: Path, cli) -> None:
    listed = json.loads(cli("units", "--json", ok=True).stdout)
    by_id = {u["id"]: u for u in listed}
    assert (by_id["pudong"]["short_name"], by_id["pudong"]["name"]) == ("浦东", "浦东新区知识产权局")
    assert by_id["protection-centre"]["short_name"] == "保护中心"
    assert by_id["lingang"]["short_name"] == "临港"
    assert by_id["fengxian-rapid-centre"]["short_name"] == "奉贤快维中心"  # plan.yaml short_name:
    assert by_id["protection-division"]["role"] == "task-only"
    text = cli("units", ok=True).stdout
    assert "│ pudong " in text and "│ 浦东 " in text


def test_milestones_of_one_unit_named_in_chinese(workdir: Path, cli) -> None:
    listed = json.loads(cli("milestones", "--unit", "保护中心", "--json", ok=True).stdout)
    ids = [m["id"] for m in listed]
    assert "t13-half-year" in ids and "half-year-summary" in ids
    assert all("protection-centre" in m["units"] for m in listed)
    assert [m["due"] for m in listed] == sorted(m["due"] for m in listed)


def test_status_ids_and_short_names(synced, cli) -> None:
    text = cli("status", "--today", "2024-07-08", "--unit", "浦东新区", "--ids", ok=True).stdout
    assert "pudong" in text.split() and "work-plan" in text.split()
    wide = cli("status", "--today", "2024-07-08", "--unit", "pudong", "--wide", ok=True).stdout
    assert "浦东新" in wide and "│ 浦东 " not in wide


@pytest.mark.parametrize("command", [
    ("status", "--today", "2024-07-08"),
    ("preview", "--today", "2024-07-08"),
    ("stats", "show", "--today", "2024-07-08"),
    ("stats", "export", "-o", "x.xlsx", "--today", "2024-07-08"),
    ("ledger", "export", "-o", "out", "--today", "2024-07-08"),
    ("evaluate", "show"),
    ("request", "list"),
])
def test_a_never_synced_ledger_is_refused_the_same_way(command: tuple[str, ...], workdir: Path, cli,
                                                       db_url: str) -> None:
    result = cli(*command)
    assert result.exit_code == 1, result.output
    assert result.stderr == "错误：台账是空的，还没有同步方案\n提示：先运行 duban sync\n"


def test_inbox_assign_and_outbox_retry_resolve_names(synced, cli, db_url: str) -> None:
    before = table_snapshot(db_url)
    result = cli("outbox", "retry", "--state", "failed", "--unit", "浦东")
    assert result.exit_code == 0, result.output
    assert result.stdout == "没有需要重发的邮件（没有符合条件的 failed 邮件）。\n"
    refused = cli("outbox", "retry", "--state", "failed", "--unit", "浦西")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("错误：--unit：找不到单位「浦西」\n")
    assert table_snapshot(db_url) == before


def _fits_80(text: str) -> None:
    from rich.cells import cell_len

    for line in text.splitlines():
        assert cell_len(line) <= 80, line
        assert not line.rstrip(" │").endswith("…"), f"cut: {line}"


@pytest.mark.parametrize("args", [
    ("status", "--today", "2024-07-08"),
    ("status", "--today", "2024-07-08", "--all", "--ids"),
    ("status", "--today", "2024-07-08", "--unit", "fengxian-rapid-centre"),
    ("units",), ("milestones",), ("jobs", "--today", "2024-07-08"),
])
def test_tables_fit_80_columns_and_cut_nothing(args: tuple[str, ...], synced, cli) -> None:
    result = cli(*args, ok=True)
    _fits_80(result.stdout)
    if args[0] == "status":
        # the unit column uses short names, so 奉贤快维中心 is never folded or cut
        assert "上海市知识产权" not in result.stdout
        ids = set(synced.units) | {m.id for m in synced.milestones()}
        assert english_words(result.stdout, ids) == []
    if "--ids" in args:  # every id whole on one line, to be copied into a command
        words = set(result.stdout.split())
        assert {"half-year-summary", "t10-ecommerce-monitoring@2024Q4", "public-service-division"} <= words
