"""The ``duban`` app object and its error handler, shared by every command module.

One handler turns expected errors into a short Chinese message and exit 1; usage errors
exit 2 (click); anything unexpected is logged to ``var/log/duban.log`` and exits 3.  A
database fault the operator can fix (read-only file, full disk, dropped connection) is an
expected error (exit 1); a closed pipe (``| head``) ends quietly with 141.

Command modules register on :data:`app`; :mod:`flows.cli` imports them, so the app lives
here rather than there: a command module never imports ``flows.cli`` (no circle).
"""

from __future__ import annotations

import traceback
from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from flows.commands.console import err
from flows.commands.pipe import BROKEN_PIPE_EXIT, quiet_broken_pipe
from flows.commands.terminal import fold
from flows.commands.zh import install as install_chinese
from models.db import var_dir
from plan.errors import DubanError, PlanError

UNEXPECTED_EXIT = 3
# typer vendors its own click: its Exit/Abort and usage errors (TyperException) are how
# commands end normally (exit 0/1/2) and must pass through, not be logged as unexpected.
CLI_CONTROL = (typer.Exit, typer.Abort, TyperException)


def _log_unexpected(exc: BaseException) -> str:
    path = var_dir() / "log" / "duban.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write("".join(traceback.format_exception(exc)))
    except OSError:
        return "(日志无法写入)"
    return str(path)


def print_problems(lines: list[str]) -> None:
    """plan.yaml's errors and warnings, folded to the terminal (80 columns when piped): a
    message runs to ~300 cells.  Each problem's ``file:line:col: 警告: key:`` head stays on its
    first line and its 提示 on its own indented line; ids, keys and paths are never split.
    Only the printing folds: ``str(problem)`` and ``--json`` stay whole for scripts."""
    for line in lines:
        err.print(fold(line, err.width), markup=False)


def show_error(exc: DubanError) -> None:
    if isinstance(exc, PlanError):
        print_problems([exc.report()])
    err.print(f"错误：{exc.message}", markup=False)
    if exc.hint:
        err.print(f"提示：{exc.hint}", markup=False)


class DubanGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DubanError as exc:
            from flows.commands.db_faults import database_fault  # SQLAlchemy: not for --help and check

            fault = database_fault(exc.__cause__)  # e.g. migrate() wrapping a read-only file
            show_error(fault or exc)
            raise typer.Exit(fault.exit_code if fault else exc.exit_code) from None
        except CLI_CONTROL:
            raise
        except KeyboardInterrupt:
            err.print("已中断。")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            quiet_broken_pipe()
            raise typer.Exit(BROKEN_PIPE_EXIT) from None
        except Exception as exc:
            from flows.commands.db_faults import database_fault

            fault = database_fault(exc)
            if fault is not None:
                _log_unexpected(exc)  # the SQL and traceback, for whoever wants them
                show_error(fault)
                raise typer.Exit(fault.exit_code) from None
            where = _log_unexpected(exc)
            err.print(f"意外错误：{type(exc).__name__}: {exc}", markup=False)
            err.print(f"详细信息已写入 {where}；请把这个文件发给维护人员。", markup=False)
            raise typer.Exit(UNEXPECTED_EXIT) from None


install_chinese()  # typer's own words (选项, 必填, 显示帮助并退出) before any help is shown

app = typer.Typer(
    cls=DubanGroup,
    name="duban",
    help="督办：按 plan.yaml 中的实施方案跟踪任务和报送、催办督办、生成简报和评估建议名单。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
