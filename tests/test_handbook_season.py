"""The coordinator's season of docs/协调处室手册.md (section 七), run command by command.

The commands are read from the manual's ``bash`` blocks, so the manual cannot drift from the
program: each runs as the installed ``duban`` in a subprocess at ``COLUMNS=80`` and must exit as
its comment says (``# 退出码 N``, otherwise 0), print no line wider than 80 cells, cut no word, and
say nothing in English outside ids, paths, options and placeholders.

The two ``duban run`` mornings go through Prefect's local mode like the scheduled job; on the
second one a loopback SMTP server refuses one unit's message (550), the failure the manual then
retries by its short id.
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
from rich.cells import cell_len

from plan.schema import DateSource
from tests.chinese_text import english_words
from tests.conftest import PLAN as PLAN_TEXT
from tests.office_files import summary_docx
from tests.smtp_server import Received, start_server
from tests.test_cli_help import command_paths

ROOT = Path(__file__).resolve().parents[1]
MANUAL = ROOT / "docs" / "协调处室手册.md"
WIDTH = 80
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n" + b"%" * 400 + b"\n%%EOF\n"
PATH = re.compile(r"[^\s（），：；]*/[^\s（），：；]*")
REFUSED = "huangpu@"  # the unit whose notice the SMTP server refuses on the second morning


def season_commands() -> list[tuple[str, int]]:
    """(command line, documented exit code) for every line of section 七's bash blocks."""
    text = MANUAL.read_text(encoding="utf-8")
    section = text.split("\n## 七、", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip():
                code = re.search(r"退出码 (\d+)", comment)
                commands.append((command.strip(), int(code.group(1)) if code else 0))
    return commands


def _duban() -> list[str]:
    script = Path(sys.executable).with_name("duban")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from flows.cli import main; main()"]


def _allowed(plan: Any) -> set[str]:
    """Words a coordinator may see in English: command names, the plan's ids, option values."""
    words = {part for path in command_paths() for part in path}
    words |= set(plan.units) | {m.id for m in plan.milestones()} | set(plan.reports)
    words |= {rung.id for rung in plan.escalation.rungs} | {job.id for job in plan.schedules.jobs}
    words |= {job.flow for job in plan.schedules.jobs}
    words |= {"half-year", "annual", "queued", "failed", "sent", "sending", "true", "false"}
    # plan.yaml's own keys and date sources: duban check names the key to change and the value to write.
    words |= set(re.findall(r"^\s*(?:- )?([a-z_]+):", PLAN_TEXT.read_text(encoding="utf-8"), flags=re.M))
    words |= set(get_args(DateSource))
    words |= {"pdf", "doc", "docx", "xls", "xlsx", "ods", "et", "wps", "ofd", "zip", "md", "txt"}  # file names
    return words


def _cut_words(lines: list[str]) -> list[str]:
    """Lines that end inside an ASCII word continued on the next line, or truncate one with '…'."""
    cut = [line for line in lines if re.search(r"[A-Za-z0-9]…", line)]
    for line, following in itertools.pairwise(lines):
        if cell_len(line) >= WIDTH and re.search(r"[A-Za-z0-9]$", line) and re.match(r"[A-Za-z0-9]", following):
            cut.append(line)
    return cut


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_manuals_season_runs_as_written_at_80_columns(workdir: Path, db_url: str, tmp_path: Path,
                                                            plan) -> None:
    commands = season_commands()
    # The season the issue asks for: a morning run, a summary recorded by the unit's Chinese name,
    # an unmatched file assigned, a failed mail retried by its short id, the lists approved.
    texts = [c for c, _ in commands]
    for needed in ("duban run --today", "duban record --unit 徐汇区", "duban inbox assign",
                   "duban outbox retry <编号>", "duban evaluate approve"):
        assert any(t.startswith(needed) for t in texts), f"手册第七节缺少 {needed}"

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DUBAN_SMTP_", "DUBAN_IMAP_", "PREFECT_API_URL"))}
    env.update(COLUMNS=str(WIDTH), LINES="50", PREFECT_HOME=str(tmp_path / "prefect-home"))
    server = start_server()
    server.handler.data_reply = lambda got: ("550 5.7.1 mailbox unavailable"
                                             if REFUSED in str(got.message["To"]) else None)
    allowed = _allowed(plan)
    runs = 0
    short_id = ""
    try:
        for command, expected in commands:
            args = shlex.split(command)
            assert args[0] == "duban", command
            step_env = dict(env)
            if args[1] == "run":
                runs += 1
                step_env["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "true"
                if runs == 2:  # the manual's "邮件服务器拒收了一封邮件" morning
                    step_env.update(server.env())
            if "徐汇区半年总结.docx" in args:
                summary_docx(workdir / "徐汇区半年总结.docx", "徐汇区知识产权局2024年上半年工作总结")
            if args[1:3] == ["inbox", "--today"]:
                (workdir / "var" / "inbox").mkdir(exist_ok=True)
                (workdir / "var" / "inbox" / "上半年工作总结.pdf").write_bytes(PDF)
            if "<编号>" in args:
                assert short_id, "duban outbox --state failed 没有列出失败的邮件"
                args = [short_id if a == "<编号>" else a for a in args]
            done = subprocess.run([*_duban(), *args[1:]], cwd=workdir, env=step_env, capture_output=True,
                                  text=True, timeout=300, check=False)
            output = done.stdout + done.stderr
            assert done.returncode == expected, f"{command}\n退出码 {done.returncode}，手册写的是 {expected}\n{output}"
            assert "Traceback" not in output and "意外错误" not in output, f"{command}\n{output}"
            lines = output.splitlines()
            # Only a path may overflow: the test's temporary directory is longer than a real var/,
            # and a path cannot be broken without breaking copy and paste.
            wide = [line for line in lines if cell_len(PATH.sub("var/…", line)) > WIDTH]
            assert not wide, f"{command}：这些行超过 {WIDTH} 列\n" + "\n".join(wide)
            assert not _cut_words(lines), f"{command}：这些行截断了单词\n" + "\n".join(_cut_words(lines))
            english = english_words(output, allowed)
            assert not english, f"{command}：输出里有英文 {english}\n{output}"
            if args[1:] == ["outbox", "--state", "failed"]:
                ids = re.findall(r"^\s*(\d+)\s", done.stdout, flags=re.M)
                short_id = ids[0] if ids else ""
            if args[1:3] == ["outbox", "retry"]:
                assert "已放回" in done.stdout or "放回" in output, output
    finally:
        server.controller.stop()

    # What the season did, read back from the ledger and the outbox.
    assert any(isinstance(r, Received) for r in server.received)  # the second morning did use SMTP
    assert not any(REFUSED in str(r.message["To"]) for r in server.received)
    assert (workdir / "var" / "inbox" / "processed" / "上半年工作总结.pdf").exists()
    assert (workdir / "var" / "reports" / "evaluation-half-year" / "criticise.docx").exists()
    status = subprocess.run([*_duban(), "outbox", "--state", "queued"], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert short_id in re.findall(r"^\s*(\d+)\s", status.stdout, flags=re.M)  # back in the queue
