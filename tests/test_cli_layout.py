"""The layout shows the architecture: the command line sits on top and nothing leans on it.

``flows/cli.py`` assembles the app from ``flows/commands/``; a command module never imports
``flows.cli`` (that was a circle), and flows, the scheduler and the lower layers never
import the command line.  Imports are read from the source (inside functions too), so a lazy
import cannot hide.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("plan", "models", "notifications", "flows", "bench")
ENTRY = ROOT / "flows" / "cli.py"
COMMANDS = ROOT / "flows" / "commands"


def imported(source: str) -> set[str]:
    """Every module a source imports, as dotted names (``from flows import cli`` → flows.cli)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reaches(names: set[str], target: str) -> bool:
    return any(name == target or name.startswith(target + ".") for name in names)


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                  if "migrations" not in p.parts)


def test_the_checker_sees_every_form_of_import() -> None:
    source = ("import flows.cli\n"
              "def later():\n    from flows import cli\n"
              "from flows.commands.console import out\n")
    names = imported(source)
    assert reaches(names, "flows.cli") and reaches(names, "flows.commands")
    assert reaches(imported("from flows import commands\n"), "flows.commands")
    assert not reaches(imported("from flows import cli_reference, cycle\n"), "flows.cli")
    assert not reaches(imported("from flows.commands import cycle\n"), "flows.cli")


def test_command_modules_never_import_the_entry_point() -> None:
    found = sorted(p.relative_to(ROOT).as_posix() for p in COMMANDS.rglob("*.py")
                   if reaches(imported(p.read_text(encoding="utf-8")), "flows.cli"))
    assert found == [], f"flows/commands 中的模块导入了 flows.cli（循环导入）：{found}"


def test_nothing_below_the_command_line_imports_it() -> None:
    outside = [p for p in modules() if p != ENTRY and COMMANDS not in p.parents]
    found = sorted(p.relative_to(ROOT).as_posix() for p in outside
                   if reaches(imported(p.read_text(encoding="utf-8")), "flows.commands"))
    assert found == [], f"命令行以外的模块导入了 flows.commands：{found}"
    assert len(outside) > 40  # the walk really saw the flows and the lower layers


def test_the_commands_load_without_the_entry_point() -> None:
    """At run time too: every command module imports cleanly on its own, without flows.cli."""
    names = sorted(p.stem for p in COMMANDS.glob("*.py") if p.stem != "__init__")
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module('flows.commands.' + name)\n"
            "print('flows.cli' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
