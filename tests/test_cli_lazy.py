"""``duban CMD`` imports only CMD's command module; the map that says which one it is must
match what the modules register, or a command would be missing from its own run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import ALL_MODULES, COMMAND_MODULES, app


def registered() -> dict[str, str]:
    found: dict[str, str] = {}
    for command in app.registered_commands:
        assert command.callback is not None
        name = command.name or command.callback.__name__.replace("_", "-")
        found[name] = command.callback.__module__.rsplit(".", 1)[-1]
    for group in app.registered_groups:
        sub = group.typer_instance
        assert sub is not None and group.name
        callbacks = [c.callback for c in sub.registered_commands if c.callback]
        found[group.name] = callbacks[0].__module__.rsplit(".", 1)[-1]
    return found


def test_every_command_is_mapped_to_the_module_that_registers_it() -> None:
    assert registered() == COMMAND_MODULES
    assert set(ALL_MODULES) == set(COMMAND_MODULES.values())


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    code = ("import sys\nfrom flows.cli import main\n"
            "try:\n    main()\nfinally:\n"
            "    print(sorted(m for m in sys.modules if m.startswith('flows.commands.')), file=sys.stderr)\n")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)


def test_a_command_loads_only_its_module_and_still_runs() -> None:
    result = run_main("units", "--json")
    assert result.returncode == 0, result.stderr
    assert '"id": "' in result.stdout
    loaded = result.stderr.strip().splitlines()[-1]
    assert "flows.commands.units" in loaded
    assert "flows.commands.cycle" not in loaded and "flows.commands.report" not in loaded


def test_a_command_group_alone_loads_only_its_module() -> None:
    """outbox and mail register a group: typer makes the app a group anyway, so the other
    modules (report, schedule, intake…) stay unloaded."""
    for group in ("outbox", "mail"):
        result = run_main(group, "--help")
        assert result.returncode == 0, result.stderr
        assert f"{group} [选项] 命令" in result.stdout
        loaded = result.stderr.strip().splitlines()[-1]
        assert f"'flows.commands.{group}'" in loaded
        assert [m for m in ALL_MODULES if f"'flows.commands.{m}'" in loaded] == [group], loaded


def test_help_and_a_mistyped_command_see_every_command() -> None:
    listing = run_main("--help")
    assert listing.returncode == 0
    for name in ("run", "status", "outbox", "evaluate", "milestones"):
        assert name in listing.stdout
    typo = run_main("stauts")
    assert typo.returncode == 2
    assert "status" in typo.stderr  # click suggests the command that was meant


HEAVY = ("prefect", "sqlalchemy", "sqlmodel", "yaml", "jinja2", "openpyxl")
PROBE = ("import json, sys\nfrom flows.cli import main\n"
         "try:\n    main()\nfinally:\n"
         "    print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(HEAVY))), file=sys.stderr)\n")


def heavy_imports(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    code = f"HEAVY = {HEAVY!r}\n" + PROBE
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                            timeout=120)
    return result, json.loads(result.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_read_only_commands_import_neither_prefect_nor_the_orm(synced: object) -> None:
    """On a synced SQLite ledger with the plan cached by a first command."""
    first, _ = heavy_imports("check")  # parses plan.yaml and caches it
    assert first.returncode == 0, first.stderr
    for args in (("check",), ("units",), ("milestones", "--unit", "徐汇"), ("jobs",), ("outbox",),
                 ("sync",), ("status",), ("status", "--unit", "徐汇", "--task", "2")):
        result, heavy = heavy_imports(*args)
        assert result.returncode == 0, result.stderr
        assert heavy == [], f"duban {' '.join(args)} imported {heavy}"
    # an unknown unit is explained by the ordinary path (with its suggestion), never Prefect
    result, heavy = heavy_imports("status", "--task", "99")
    assert result.returncode != 0 and "没有序号为 99 的任务" in result.stderr
    assert "prefect" not in heavy and "sqlalchemy" in heavy


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sync_answers_an_unchanged_plan_from_its_fingerprint_and_diffs_an_edited_one(
        synced: object, workdir: Path) -> None:
    unchanged, heavy = heavy_imports("sync")
    assert unchanged.returncode == 0, unchanged.stderr
    assert heavy == [] and "台账已与方案一致，没有改动" in unchanged.stdout
    plan = workdir / "plan.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("due: 2024-06-05", "due: 2024-06-07", 1),
                    encoding="utf-8")
    edited, heavy = heavy_imports("sync", "--json")
    assert edited.returncode == 0, edited.stderr
    assert "sqlalchemy" in heavy and json.loads(edited.stdout)["changed"]["milestone"] == ["work-plan"]
    again, heavy = heavy_imports("sync", "--json")
    assert heavy == [] and json.loads(again.stdout) == {"added": {}, "changed": {}, "archived": {}, "restored": {}}


CYCLE_PROBE = ("import datetime, json, sys\nfrom flows.steps import run_cycle\n"
               "result = run_cycle(plan_path='plan.yaml', today=datetime.date(2024, 7, 1))\n"
               "print(json.dumps([result['sweep']['messages_queued'],"
               " sorted(m for m in sys.modules if m in ('flows.inbox', 'flows.mail_fetch', 'openpyxl'))]))\n")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cycle_with_an_empty_inbox_and_no_mailbox_imports_no_intake(synced: object) -> None:
    """The daily cycle lists waiting files and today's 回执 without the intake machinery
    (spreadsheet readers, converters, the IMAP client): most days nothing arrives."""
    result = subprocess.run([sys.executable, "-c", CYCLE_PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    queued, loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert queued > 0 and loaded == []
