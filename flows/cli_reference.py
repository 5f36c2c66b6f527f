"""docs/命令参考.md, generated from the command line itself so it can never drift.

``python -m flows.cli_reference > docs/命令参考.md`` rewrites it; ``tests/test_docs.py``
fails when the file differs from what this module renders (like sqlite-utils' cog check).
It reads the app that :mod:`flows.cli` assembles, so it sits beside that entry point rather
than in :mod:`flows.commands`, whose modules never import ``flows.cli``.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from flows.cli import PANELS, app

HEADER = """# 命令参考 / Command reference

本页由 `python -m flows.cli_reference > docs/命令参考.md` 从命令行本身生成，请勿手改；
命令或选项改动后重新生成（测试会检查本页是否过期）。按协调处室的一天分组：{panels}。
Generated from the CLI itself; regenerate after changing a command (a test checks it is current).
"""


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        path = (*prefix, name)
        found.append((path, command))
        found += _commands(command, path)
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _value(param: Any, ctx: Any) -> str:
    if getattr(param, "is_flag", False):
        return ""
    shown = param.display_type_rich(ctx) if hasattr(param, "display_type_rich") else None
    return str(shown or "")


def _section(path: tuple[str, ...], command: Any, root: Any) -> list[str]:
    ctx = typer.Context(root, info_name="duban")
    for name in path:  # a context per level, so usage reads "duban outbox retry …"
        ctx = typer.Context(ctx.command.commands[name] if hasattr(ctx.command, "commands") else command,
                            parent=ctx, info_name=name)
    lines = [f"### `duban {' '.join(path)}`", "", (command.help or "").strip(), "",
             "```text", ctx.get_usage().strip(), "```", ""]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    if params:
        lines += ["| 选项或参数 | 值 | 说明 |", "| --- | --- | --- |"]
        for p in params:
            names = " / ".join(f"`{o}`" for o in [*p.opts, *getattr(p, "secondary_opts", [])])
            extra = []
            if p.required:
                extra.append("必填")
            default = p.default if not callable(p.default) else None
            if getattr(p, "show_default", True) and default not in (None, False, (), []) and not p.required:
                extra.append(f"默认：{default}")
            help_text = _cell(getattr(p, "help", None) or "") + (f"（{'，'.join(extra)}）" if extra else "")
            lines.append(f"| {names} | {_value(p, ctx)} | {help_text} |")
        lines.append("")
    return lines


def render() -> str:
    root = typer.main.get_command(app)
    panel_order = {name: i for i, names in enumerate(PANELS.values()) for name in names}
    titles = list(PANELS)
    commands = sorted(_commands(root), key=lambda pc: (panel_order.get(pc[0][0], len(titles)), pc[0]))
    out = [HEADER.format(panels=" / ".join(titles))]
    current = None
    for path, command in commands:
        panel = titles[panel_order[path[0]]] if path[0] in panel_order else "其他"
        if panel != current:
            out += [f"## {panel}", ""]
            current = panel
        out += _section(path, command, root)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
