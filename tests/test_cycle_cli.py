"""``duban run`` and ``duban preview`` as a coordinator uses them."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chinese_text import english_words, flat
from tests.conftest import prefect_env, table_snapshot


def _duban() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]


def _eml(folder: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(folder.glob("*.eml"))]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_duban_run_on_a_fresh_directory_writes_one_eml_per_recipient(workdir: Path, db_url: str,
                                                                        prefect_api: str, plan) -> None:
    """The README's main command as a subprocess, its flows reporting to the session's
    Prefect server (Prefect's local mode from a fresh folder: tests/test_delivery_prefect.py)."""
    env = prefect_env(prefect_api)
    for key in [k for k in env if k.startswith("DUBAN_SMTP_")]:
        env.pop(key)

    def run(day: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*_duban(), "run", "--today", day], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    first = run("2024-07-08")
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stdout + first.stderr
    outbox = workdir / "var" / "outbox"
    messages = _eml(outbox)
    owing = set(plan.expand(plan.reports["half-year-summary"].units))
    unit_notices = [m for m in messages if str(m["Subject"]).startswith(("【督办】", "【催办】"))]
    to_units = {addr.addr_spec.split("@")[0] for m in unit_notices for addr in m["To"].addresses
                if not addr.addr_spec.split("@")[0].endswith("-lead")}
    assert owing <= to_units
    assert len(unit_notices) == len({m["To"] for m in unit_notices})  # one message per unit
    assert any(str(m["To"]).find("shszcj@126.com") >= 0 for m in messages)  # the coordinator's list
    assert "督导检查名单" in first.stdout
    assert flat("新触发：催办 63 条，督办 19 条，约谈建议 19 条。") in flat(first.stdout)  # names, not rung ids
    # commands may appear; no rung id and no English sentence may
    assert english_words(first.stdout, {"run", "mail", "fetch",
                                        "outbox", "retry", "state", "failed", "queued"}) == []

    count = len(messages)
    second = run("2024-07-08")
    assert second.returncode == 0, second.stderr
    assert len(list(outbox.glob("*.eml"))) == count
    assert "新排队 0 封" in second.stdout

    third = run("2024-07-15")
    assert third.returncode == 0, third.stderr
    new = [m for m in _eml(outbox) if "2024年7月15日" in m.get_body(("plain",)).get_content()]
    listed = next(m for m in new if "shszcj@126.com" in str(m["To"]))
    assert "半年度工作总结" in listed.get_body(("plain",)).get_content()

    # A run dated before the latest one is refused, changes nothing, and says how to force it.
    count = len(list(outbox.glob("*.eml")))
    back = run("2024-06-03")
    assert back.returncode == 1
    assert back.stderr == ("错误：2024年6月3日早于已记录的最近一次运行（2024年7月15日），"
                           "按这一天运行会对已催办、督办的事项重新发送提醒\n"
                           "提示：检查 --today；确需补跑这一天，加 --force（不会重复提醒已升级的事项）\n")
    assert len(list(outbox.glob("*.eml"))) == count
    outside = run("2025-06-03")
    assert outside.returncode == 1
    assert outside.stderr.startswith("错误：2025年6月3日不在方案执行期（")
    forced = subprocess.run([*_duban(), "run", "--today", "2024-06-03", "--force"], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert forced.returncode == 0, forced.stderr
    # Items escalated on 07-08/07-15 are never reminded "即将到期" by the back-dated run.
    reminders = [m for m in _eml(outbox) if str(m["Subject"]).startswith("【提醒】")
                 and "半年度工作总结" in str(m["Subject"])]
    assert reminders == []


def test_preview_renders_without_recording_anything(synced, db_url, cli):
    before = table_snapshot(db_url)
    result = cli("preview", "--today", "2024-07-08", "--unit", "huangpu")
    assert result.exit_code == 0, result.output
    assert "黄浦区知识产权局" in result.output and "半年度工作总结" in result.output
    assert "预览，未发送、未记录" in result.output
    assert "浦东新区知识产权局：" not in result.output  # other units' notices are left out
    assert table_snapshot(db_url) == before


def test_preview_on_a_holiday_sends_nothing(synced, cli):
    result = cli("preview", "--today", "2024-06-10")
    assert result.exit_code == 0
    assert "2024-06-10 不是工作日：不会发送任何邮件。" in result.output


def test_preview_unknown_unit_is_refused(synced, db_url, cli):
    result = cli("preview", "--today", "2024-07-08", "--unit", "pudon")
    assert result.exit_code == 1
    assert result.stderr == ("错误：--unit：找不到单位「pudon」\n"
                             "提示：是不是「浦东新区知识产权局」（pudong）？运行 duban units 查看全部单位\n")


def test_run_refuses_a_broken_plan_before_touching_anything(synced, db_url, cli, workdir):
    before = table_snapshot(db_url)
    plan_file = workdir / "plan.yaml"
    plan_file.write_text(plan_file.read_text(encoding="utf-8").replace("due: 2024-06-05", "due: 2024-06-31"),
                         encoding="utf-8")
    result = cli("run", "--today", "2024-07-08")
    assert result.exit_code == 1
    assert "不是有效的日期「2024-06-31」" in result.output
    assert table_snapshot(db_url) == before
