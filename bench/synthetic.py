"""A synthetic national-scale plan: ``units`` reporting units × ``milestones`` milestones each.

Built from the shipped plan.yaml (meta, calendar, ladder, schedules, evaluation rules),
with generated units, one group, ten tasks and the three reports, so ``load_plan`` accepts
it like any coordinator's plan.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from plan.schema import Calendar
from plan.workdays import WorkCalendar

ROOT = Path(__file__).resolve().parents[1]
TASKS = 10
REPORTS = ("work-plan", "half-year-summary", "annual-summary")


def plan_data(units: int, milestones: int) -> dict[str, Any]:
    shipped = yaml.safe_load((ROOT / "plan.yaml").read_text(encoding="utf-8"))
    coordinator = next(u for u in shipped["units"] if u["id"] == shipped["plan"]["coordinator"])
    unit_ids = [f"u{n:05d}" for n in range(1, units + 1)]
    generated = [{"id": uid, "name": f"第{n}号单位", "kind": "district",
                  "contacts": [{"name": f"第{n}号单位联系人", "email": f"{uid}@bench.duban.test",
                                "role": "联系人"}]}
                 for n, uid in enumerate(unit_ids, 1)]
    period = shipped["plan"]["period"]
    start, end = dt.date.fromisoformat(str(period["start"])), dt.date.fromisoformat(str(period["end"]))
    work = WorkCalendar(Calendar(**shipped.get("calendar", {})))
    days = [start + dt.timedelta(days=n) for n in range(7, (end - start).days - 2)]
    days = [d for d in days if work.is_workday(d)]
    reports = [r for r in shipped["reports"] if r["id"] in REPORTS]
    count = max(milestones - len(reports), 0)
    tasks = []
    for number in range(1, TASKS + 1):
        own = range(number - 1, count, TASKS)
        tasks.append({
            "number": number, "section": 1, "title": f"合成任务{number}",
            "summary": f"基准测试用的合成任务{number}", "lead": [coordinator["id"]],
            "units": ["reporting-units"],
            "milestones": [{"id": f"t{number}-m{i:04d}", "title": f"合成节点{i}", "kind": "progress",
                            # confirmed, so the ladder escalates them as far as a seed date
                            "due": days[i * len(days) // max(count, 1)].isoformat(),
                            "source": "confirmed"} for i in own],
        })
    data = {key: shipped[key] for key in ("plan", "calendar", "escalation", "schedules", "evaluation",
                                          "requests") if key in shipped}
    if "evaluation" in data:
        data["evaluation"] = {**data["evaluation"], "scope": ["reporting-units"]}
    data.update({
        "units": [coordinator, *generated],
        "groups": [{"id": "reporting-units", "name": "报送单位", "members": unit_ids}],
        "sections": [{"number": 1, "title": "合成部分"}],
        "reports": [{**r, "units": ["reporting-units"]} for r in reports],
        "tasks": tasks,
    })
    return data


def write_plan(folder: Path, *, units: int, milestones: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "plan.yaml"
    text = yaml.safe_dump(plan_data(units, milestones), allow_unicode=True, sort_keys=False,
                          default_flow_style=None, width=200)
    path.write_text("# 合成方案（基准测试用），由 bench/synthetic.py 生成\n" + text, encoding="utf-8")
    return path
