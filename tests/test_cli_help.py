"""Every command and sub-command answers ``--help`` (exit 0) with a description."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from flows.cli import app


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
    assert "Usage:" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_a_description(path: tuple[str, ...]) -> None:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert (command.help or "").strip(), f"duban {' '.join(path)} 没有说明文字"
