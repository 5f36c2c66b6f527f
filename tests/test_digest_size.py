"""The leadership email stays readable and small at national scale: the units table lists
the units with the most documents missing, says how many it leaves out, and the whole
ledger goes in the attached workbook."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from bench.synthetic import write_plan
from notifications.digest_render import UNIT_CAP, email_units


def _unit(name: str, missing: int, max_days: int = 0, task_only: bool = False) -> dict[str, object]:
    return {"name": name, "missing": missing, "max_days": max_days, "task_only": task_only}


def test_email_units_keep_plan_order_and_the_worst_above_the_cap() -> None:
    units = [_unit("甲", 1), _unit("乙", 3), _unit("处室", 9, task_only=True), _unit("丙", 3, 5), _unit("丁", 0)]
    assert email_units(units, cap=4) == (units, 0)
    shown, more = email_units(units, cap=2)
    assert [u["name"] for u in shown] == ["乙", "处室", "丙"] and more == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_national_digest_email_is_capped_and_the_workbook_has_every_entry(workdir: Path, db_url: str) -> None:
    from flows.report_jobs import run_digest
    from flows.steps import sync_step
    from plan import load_plan

    units = UNIT_CAP + 70
    plan_path = write_plan(workdir / "national", units=units, milestones=5)
    sync_step(load_plan(plan_path), actor="测试员")
    result = run_digest(plan_path=plan_path, today=dt.date(2024, 7, 8), email=True)
    from models.db import get_engine

    with get_engine().connect() as conn:
        html, body = conn.execute(text("SELECT body_html, body_text FROM outbox WHERE kind = 'digest'")).one()
    section = html.split("三、各单位情况", 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"第\d+号单位", section)) == UNIT_CAP
    assert f"另有 70 个单位未列出（上表为未报送件数最多的 {UNIT_CAP} 个单位），见附件 Excel 台账。" in html
    assert f"  另有 70 个单位未列出（以上为未报送件数最多的 {UNIT_CAP} 个单位），见附件 Excel 台账。" in body
    assert len(html.encode()) + len(body.encode()) < 1024 * 1024
    workbook = openpyxl.load_workbook(result.files["workbook"], read_only=True)
    rows = sum(workbook[name].max_row - 1 for name in workbook.sheetnames[1:])
    assert rows == len(load_plan(plan_path).obligations())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_above_the_unit_count_only_units_with_something_to_act_on_get_a_page(
        workdir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A national plan gets unit pages only for units with an entry overdue or due soon; the
    index says how many units have none and why, and no link points at a page not written."""
    from flows.report_jobs import run_digest
    from flows.steps import sync_step
    from models import ledger
    from models.db import session_scope
    from plan import load_plan

    monkeypatch.setattr("notifications.dashboard.ALL_UNIT_PAGES_UP_TO", 3)
    monkeypatch.setattr("notifications.dashboard.TASK_ROWS_CAP", 2)
    plan_path = write_plan(workdir / "national", units=6, milestones=5)
    plan = load_plan(plan_path)
    sync_step(plan, actor="测试员")
    with session_scope() as session:  # the first unit has sent everything: nothing to act on
        for ob in plan.obligations():
            if ob.unit == "u00001":
                ledger.record_submission(session, unit_id="u00001", milestone_id=ob.milestone,
                                         submitted_on=dt.date(2024, 5, 20), source="cli", actor="测试员")
    result = run_digest(plan_path=plan_path, today=dt.date(2024, 7, 8), email=False)
    folder = result.folder
    assert sorted(p.stem for p in (folder / "units").glob("*.html")) == [f"u0000{n}" for n in range(2, 7)]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert ("共 6 个单位，超过 3 个，只为有逾期未报或即将到期事项的 5 个单位生成单独页面（在单位表中可点击）；"
            "其余 1 个单位没有单独页面") in index
    assert "第1号单位" in (folder / "units.html").read_text(encoding="utf-8")  # still a row in the tables
    assert int(result.files["pages"]) == len(list(folder.rglob("*.html")))
    # Task pages list the entries to act on, at most TASK_ROWS_CAP, and say what they leave out.
    notes = []
    for page in sorted((folder / "tasks").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        assert html.count("<tr><td>") <= 2  # a task with at most 2 entries lists them all
        if "本任务共 6 条台账条目。单位超过 3 个，本页只列逾期未报和即将到期的条目" in html:
            notes.append(re.search(r"（逾期最久的在前）([^。]*)。", html).group(1))  # type: ignore[union-attr]
    assert "，共 5 条，列出前 2 条，另有 3 条未列出" in notes and "：目前没有" in notes
    for page in folder.rglob("*.html"):
        for link in re.findall(r'href="([^"#]+)"', page.read_text(encoding="utf-8")):
            assert (page.parent / link).resolve().is_file(), (page, link)
