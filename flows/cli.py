"""The ``duban`` command: the entry point that assembles the app from flows/commands/.

The app object and its error handler live in :mod:`flows.commands.app`; each command group
is a module of :mod:`flows.commands` that registers on it when imported.  Importing them
here, and grouping the commands for ``duban --help``, is all this module does besides
``main``; the command modules never import it.
"""

from __future__ import annotations

import sys
from typing import Any

# Command modules register themselves on ``app``.
from flows.commands import (  # noqa: F401
    cycle,
    intake,
    ledger,
    mail,
    outbox,
    plan,
    report,
    schedule,
    units,
)
from flows.commands.app import BROKEN_PIPE_EXIT, app, quiet_broken_pipe

# duban --help lists the commands by the coordinator's day, not alphabetically.
PANELS = {
    "每天": ("run", "status", "preview", "outbox"),
    "登记": ("inbox", "record", "waive", "mail", "request", "units", "milestones"),
    "统计与台账": ("stats", "ledger"),
    "简报与评估": ("digest", "evaluate", "replay"),
    "运维": ("init", "check", "sync", "serve", "jobs", "deploy"),
}


def _group_commands() -> None:
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        command.rich_help_panel = panel_of.get(name, "运维")
    for group in app.registered_groups:
        group.rich_help_panel = panel_of.get(group.name or "", "运维")


_group_commands()


def main() -> None:
    from flows.prefect_env import setup_cli_logging

    setup_cli_logging()
    code: Any = 0
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
    try:
        sys.stdout.flush()  # buffered output to a pipe fails here, not where it was printed
    except BrokenPipeError:
        quiet_broken_pipe()
        code = BROKEN_PIPE_EXIT
    sys.exit(code)
