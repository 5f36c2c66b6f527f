"""Every command and sub-command answers ``--help`` (exit 0) with a description."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from flows.cli import app
from tests.chinese_text import ASCII_WORD, BOX, TECH_WORDS


def command_paths(group: Any = None, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path on the app, groups included: ("status",), ("outbox", "retry"), …"""
    group = group or typer.main.get_command(app)
    paths: list[tuple[str, ...]] = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        path = (*prefix, name)
        paths.append(path)
        paths += command_paths(command, path)
    return paths


def test_the_foundation_commands_exist() -> None:
    paths = command_paths()
    for name in ("init", "check", "sync", "status", "record", "waive"):
        assert (name,) in paths


@pytest.mark.parametrize("path", [(), *command_paths()], ids=lambda p: " ".join(p) or "duban")
def test_help(path: tuple[str, ...], cli) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip().startswith("用法：duban")
    assert "Traceback" not in result.output


# Tools' names and the shapes of ids, paths and options are allowed (tests/chinese_text.py).
ALLOWED_WORDS = TECH_WORDS | {"Prefect's"}


def _names(command: Any) -> set[str]:
    """Every ASCII word the help is made from: help texts, option names, command names."""
    words = set(ASCII_WORD.findall(" ".join(filter(None, [command.help, command.short_help, command.name]))))
    for param in command.params:
        words |= set(ASCII_WORD.findall(" ".join([param.help or "", param.name or "", *param.opts,
                                                  *getattr(param, "secondary_opts", [])])))
    for sub in getattr(command, "commands", {}).values():
        words |= _names(sub)
    return words


SOURCE_WORDS = _names(typer.main.get_command(app)) | {"plan.yaml", "plan", "yaml"}


def _is_allowed(word: str, source: set[str]) -> bool:
    if word in ALLOWED_WORDS or word.startswith("-") or word.isupper():
        return True  # tools, options, environment variables and placeholders (FILE, KEY)
    if re.search(r"[\d_./@<>:$-]", word):
        return True  # paths, ids (half-year-summary, t08-cste), dates, e-mail addresses
    return word in source and word.islower() and word in COMMAND_NAMES | PARAM_NAMES


def _command_names(command: Any) -> set[str]:
    names = set(getattr(command, "commands", {}))
    for sub in getattr(command, "commands", {}).values():
        names |= _command_names(sub)
    return names


def _param_names(command: Any) -> set[str]:
    names = {p.name for p in command.params if p.name}
    for sub in getattr(command, "commands", {}).values():
        names |= _param_names(sub)
    return names


COMMAND_NAMES = _command_names(typer.main.get_command(app))


def _plan_ids() -> set[str]:
    from plan import load_plan

    loaded = load_plan("plan.yaml")
    # ids, plan.yaml keys and flow names the help cites, and the values options take
    return set(loaded.units) | {m.id for m in loaded.milestones()} | {"schedules", "requests", "division", "cycle"}


def _choices(command: Any) -> set[str]:
    found = {str(c) for p in command.params for c in getattr(getattr(p, "type", None), "choices", None) or ()}
    for sub in getattr(command, "commands", {}).values():
        found |= _choices(sub)
    return found


PARAM_NAMES = (_param_names(typer.main.get_command(app)) | _plan_ids() | _choices(typer.main.get_command(app))
               | {"failed", "queued", "sent", "sending", "half-year", "annual", "pass", "fail", "process", "commend",
                  "criticise"})


@pytest.mark.parametrize("path", [(), *command_paths()], ids=lambda p: " ".join(p) or "duban")
def test_help_at_80_columns_is_chinese_and_cuts_no_word(path: tuple[str, ...]) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"},
                                terminal_width=80)
    assert result.exit_code == 0, result.output
    from rich.cells import cell_len

    for line in result.stdout.splitlines():
        assert cell_len(line) <= 80, line
        assert not line.rstrip(" │").endswith("…"), f"cut: {line}"
        for word in ASCII_WORD.findall(BOX.sub(" ", line)):
            word = word.rstrip(".:'")
            assert word in SOURCE_WORDS or _is_allowed(word, SOURCE_WORDS), f"「{word}」: {line}"
            assert _is_allowed(word, SOURCE_WORDS), f"English「{word}」in: {line}"


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_a_description(path: tuple[str, ...]) -> None:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert (command.help or "").strip(), f"duban {' '.join(path)} 没有说明文字"


@pytest.mark.parametrize(("args", "message"), [
    (("record", "--unit", "pudong"), "缺少选项 '--milestone'。"),
    (("outbox", "--state", "nope"), "--state 取值无效：「nope」不是有效的状态"),
    (("nosuch",), "没有这个命令：'nosuch'。"),
    (("status", "--nosuch"), "没有这个选项：--nosuch"),
    (("status", "extra"), "多余的参数（extra）"),
])
def test_usage_errors_are_in_chinese(args: tuple[str, ...], message: str) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, list(args), terminal_width=80)
    assert result.exit_code == 2
    shown = re.sub(r"[\s│╭╮╰╯─]+", "", result.stderr)  # typer draws usage errors in a box
    assert "用法：duban" in shown and "错误" in shown
    assert re.sub(r"\s+", "", message) in shown, result.stderr
    assert not re.search(r"\b(Usage|Error|Invalid|Missing|Try)\b", result.stderr)
