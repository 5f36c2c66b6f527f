"""The ``duban`` command: the entry point that assembles the app from flows/commands/.

The app object and its error handler live in :mod:`flows.commands.app`; each command group
is a module of :mod:`flows.commands` that registers on it when imported.  ``main`` imports
only the module that holds the command on the command line (every module together is ~0.1 s
of a read-only command's start); ``duban --help``, an unknown command and ``flows.cli.app``
(the tests' in-process runner) get all of them.  The command modules never import this one.
"""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.commands.pipe import BROKEN_PIPE_EXIT, quiet_broken_pipe

if TYPE_CHECKING:
    import typer

# Which flows.commands module registers each command and command group (tests/test_cli_lazy.py
# checks this against what the modules register).
COMMAND_MODULES = {
    "run": "cycle", "preview": "cycle",
    "status": "ledger", "record": "ledger", "waive": "ledger",
    "init": "plan", "check": "plan", "sync": "plan",
    "digest": "report", "evaluate": "report", "request": "report",
    "serve": "schedule", "api": "schedule", "jobs": "schedule", "deploy": "schedule",
    "replay": "schedule",
    "units": "units", "milestones": "units",
    "stats": "intake", "ledger": "intake", "inbox": "intake",
    "mail": "mail", "outbox": "outbox",
}
ALL_MODULES = tuple(sorted(set(COMMAND_MODULES.values())))
HELP_ARGS = (("--help",), ("-h",))  # the command lines whose page is replayed (help_cache)

PANELS = {
    "每天": ("run", "status", "preview", "outbox"),
    "登记": ("inbox", "record", "waive", "mail", "request", "units", "milestones"),
    "统计与台账": ("stats", "ledger"),
    "简报与评估": ("digest", "evaluate", "replay"),
    "运维": ("init", "check", "sync", "serve", "jobs", "deploy"),
}


def _group_commands(app: typer.Typer) -> None:
    panel_of = {name: panel for panel, names in PANELS.items() for name in names}
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        command.rich_help_panel = panel_of.get(name, "运维")
    for group in app.registered_groups:
        group.rich_help_panel = panel_of.get(group.name or "", "运维")


def load_commands(command: str | None = None) -> typer.Typer:
    """The app with ``command``'s module registered (every module when None or unknown)."""
    from flows.commands.app import app

    module = COMMAND_MODULES.get(command or "")
    for name in (module,) if module else ALL_MODULES:
        import_module(f"flows.commands.{name}")
    # typer runs an app holding a single command as that command (no name to type): never so.
    # An app with a command group (outbox, mail) is a group whatever else it holds
    # (typer.main.get_command), so those modules need no others: loading them all was ~0.15 s
    # of ``duban outbox`` (issue #13).
    if not app.registered_groups and len(app.registered_commands) < 2:
        for name in ALL_MODULES:
            import_module(f"flows.commands.{name}")
    _group_commands(app)
    return app


def __getattr__(name: str) -> Any:
    # ``from flows.cli import app``: the whole app, as before.
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _replay_help(args: tuple[str, ...], cache: Path) -> str | None:
    """Prints ``duban --help`` as the last identical call did and exits; when there is no
    such page, returns its key (flows.commands.help_cache) so that main records the page it
    draws.  None for any other command line."""
    if args not in HELP_ARGS:
        return None
    from flows.commands import help_cache

    key = help_cache.fingerprint(args)
    page = help_cache.cached_page(cache, key)
    if page is None:
        return key
    try:
        sys.stdout.write(page)
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
        sys.exit(BROKEN_PIPE_EXIT)
    sys.exit(0)


def main() -> None:
    from models.db import var_dir

    cache = var_dir() / "cache"
    # Before typer, rich and the command modules are imported: a replay needs none of them.
    help_key = _replay_help(tuple(sys.argv[1:]), cache)

    from flows.prefect_env import setup_cli_logging
    from plan.plan_file import set_cache_dir

    setup_cli_logging()
    # Commands run one after another on an unchanged plan: parse it once (see plan.plan_file).
    set_cache_dir(cache)
    code: Any = 0
    first = sys.argv[1] if len(sys.argv) > 1 else None
    app = load_commands(first)
    recording = None
    if help_key:
        from flows.commands.help_cache import Recording

        recording = Recording()
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
    finally:
        if recording:
            recording.stop()
    try:
        sys.stdout.flush()  # buffered output to a pipe fails here, not where it was printed
    except BrokenPipeError:
        quiet_broken_pipe()
        code = BROKEN_PIPE_EXIT
    if recording and help_key and code == 0:
        recording.store(help_key)
    sys.exit(code)
