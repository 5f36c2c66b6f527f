"""The one test that runs the real ``digest`` and ``evaluate`` Prefect flows through the
installed command and reads back their artifacts (stable keys, so the Prefect UI keeps the
history).  The flows report to the session's shared Prefect server (``prefect_api``), so
only artifacts created during this test are counted.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import prefect_env
from tests.report_fixtures import D, replay

READ_ARTIFACTS = """
import json
from flows.prefect_env import configure_prefect
configure_prefect()  # duban's quiet defaults (no telemetry heartbeat) for this reader too
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
keys = ["digest-overview", "digest-units", "digest-progress", "evaluation-half-year"]
with get_client(sync_client=True) as client:
    found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)))
print(json.dumps([{"key": a.key, "type": a.type, "data": a.data, "created": a.created.isoformat()}
                  for a in found], ensure_ascii=False, default=str))
"""


def _duban() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_digest_and_evaluate_flows_publish_artifacts(synced, workdir: Path, db_url: str,
                                                     prefect_api: str) -> None:
    replay(synced, D(2024, 7, 19), digests=())
    env = prefect_env(prefect_api, DUBAN_DATABASE_URL=db_url)
    began = dt.datetime.now(dt.UTC)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done

    first = run(*_duban(), "digest", "--today", "2024-07-08", "--no-email")
    assert first.stdout.startswith("简报第 1 期（截至 2024-07-08）：截至2024年7月8日，各单位应报文件 ")
    assert "Prefect 未启用" not in first.stderr
    run(*_duban(), "digest", "--today", "2024-07-15", "--json")
    evaluated = json.loads(run(*_duban(), "evaluate", "--period", "half-year", "--today", "2024-07-20",
                               "--json").stdout)
    # 闵行's only failure is the 端午 report, whose date is assumed: not counted (issue #10).
    assert [u["unit"] for u in evaluated["criticise"]] == ["jingan"]

    artifacts = json.loads(run(sys.executable, "-c", READ_ARTIFACTS).stdout)
    by_key: dict[str, list[dict]] = {}
    for a in artifacts:
        if dt.datetime.fromisoformat(a["created"]) < began:
            continue  # another test's, on the shared server
        by_key.setdefault(a["key"], []).append(a)
    assert {k: len(v) for k, v in by_key.items()} == {"digest-overview": 2, "digest-units": 2,
                                                      "digest-progress": 2, "evaluation-half-year": 1}
    assert {a["type"] for a in by_key["digest-units"]} == {"table"}
    assert {a["type"] for a in by_key["digest-progress"]} == {"progress"}
    overviews = "\n".join(a["data"] for a in by_key["digest-overview"])
    assert "截至 **2024-07-15**" in overviews and "截至 **2024-07-08**" in overviews
    tables = [json.loads(a["data"]) if isinstance(a["data"], str) else a["data"] for a in by_key["digest-units"]]
    assert all(len(t) == 22 for t in tables)
    jingan = next(row for row in tables[0] if row["单位"] == "静安区知识产权局")
    assert jingan["灯"] == "红" and jingan["最高升级"] == "约谈建议"
    assert "## 通报批评（1 个单位）" in by_key["evaluation-half-year"][0]["data"]
