"""typer's and click's own words in Chinese: panel titles, 必填, 显示帮助, value types, usage errors.

typer vendors a click without gettext, so its strings cannot be translated through a
catalogue.  The least invasive way is to translate at the few places typer renders them:
its rich constants (module globals read at call time), its own ``gettext`` calls, the
help option's text, the value-type label of a parameter and the message of a usage error.
Everything else of typer stays as it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

# typer.core's gettext messages (it imports ``gettext as _``).
MESSAGES = {
    "Arguments": "参数",
    "Options": "选项",
    "Commands": "命令",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "Aborted!": "已中止。",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有这个命令：{name!r}。",
}

RICH_CONSTANTS = {
    "DEPRECATED_STRING": "（已弃用）",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
}

HELP_TEXT = "显示帮助并退出。"
USAGE = "用法："

# A value's type as typer labels it (<str>, <list[Path]>) → the word a coordinator reads.
TYPE_LABELS = {
    "<str>": "文本", "<int>": "整数", "<float>": "数字", "<Path>": "文件", "<list[Path]>": "文件",
    "<list[str]>": "文本", "<datetime>": "日期", "<path>": "文件", "<file>": "文件", "<directory>": "文件夹",
    "<dir>": "文件夹", "<list[path]>": "文件",
}
FLAG_LABELS = ("<bool>",)  # a flag takes no value: show no type at all
# Dates are parsed by duban itself (YYYY-MM-DD, with a Chinese refusal), so typer sees <str>.
DATE_OPTIONS = frozenset({"--today", "--date", "--since", "--received", "--until", "--from", "--to", "--at"})
FILE_OPTIONS = frozenset({"--plan", "--output", "--folder", "--file", "--dir"})
USAGE_PIECES = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]..."}

# Usage errors from the vendored click, most specific first.
ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Invalid value for (.+?): "), r"\1 取值无效："),
    (re.compile(r"^Invalid value: "), "取值无效："),
    (re.compile(r"^Missing option (.+?)\.(?: |$)"), r"缺少选项 \1。"),
    (re.compile(r"^Missing argument (.+?)\.(?: |$)"), r"缺少参数 \1。"),
    (re.compile(r"^Missing parameter (.+?)\.(?: |$)"), r"缺少参数 \1。"),
    (re.compile(r"^No such option: (\S+)"), r"没有这个选项：\1"),
    (re.compile(r"\(Possible options: (.+)\)"), r"（可能是：\1）"),
    (re.compile(r"^No such command (.+?)\."), r"没有这个命令：\1。"),
    (re.compile(r"Did you mean (.+)\?"), r"是不是 \1？"),
    (re.compile(r"^Option (\S+) requires an argument\."), r"选项 \1 需要一个值。"),
    (re.compile(r"^Option (\S+) requires (\d+) arguments\."), r"选项 \1 需要 \2 个值。"),
    (re.compile(r"^Option (\S+) does not take a value\."), r"选项 \1 不接受值。"),
    (re.compile(r"^Got unexpected extra argument(?:s|\(s\))? \((.+)\)"), r"多余的参数（\1）"),
    (re.compile(r"^Missing command\."), "缺少命令。"),
]


def translate_error(message: str) -> str:
    for pattern, replacement in ERRORS:
        message = pattern.sub(replacement, message)
    return message


def translate(message: str) -> str:
    return MESSAGES.get(message, message)


def type_label(label: str | None) -> str | None:
    if label is None or label in FLAG_LABELS:
        return None
    return TYPE_LABELS.get(label, label)


# Chinese has no spaces: rich would treat a whole sentence as one word, measure a table
# column by it and cut it with "…".  Each Chinese character is a break opportunity, except
# that closing punctuation stays with what precedes it and opening punctuation with what follows.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_OPEN = "（「『《“‘【〔"
_CLOSE = "，。、；：？！）」』》”’】〕…·"
_TOKEN = re.compile(rf"\s*[{_OPEN}]*(?:[^\s{_CJK}]+|[{_CJK}])[{_CLOSE}]*\s*")


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """rich's ``_wrap.words`` with a break opportunity between Chinese characters."""
    match = _TOKEN.match(text, 0)
    while match is not None and match.end() > match.start():
        yield match.start(), match.end(), match.group(0)
        match = _TOKEN.match(text, match.end())


def _install_cjk_wrapping() -> None:
    from rich import _wrap, text
    from rich.cells import cell_len
    from rich.measure import Measurement

    _wrap.words = words

    def __rich_measure__(self: Any, console: Any, options: Any) -> Measurement:
        lines = self.plain.splitlines()
        widest = max((cell_len(line) for line in lines), default=0)
        tokens = [w.strip() for line in lines for _s, _e, w in words(line)]
        return Measurement(max((cell_len(t) for t in tokens), default=widest), widest)

    text.Text.__rich_measure__ = __rich_measure__  # type: ignore[method-assign]

    def rstrip_end(self: Any, size: int) -> None:
        # rich compares characters, not cells: a line of Chinese plus its trailing space
        # passed for short enough and then lost its last character to "…".
        if cell_len(self.plain) > size:
            self.rstrip()

    text.Text.rstrip_end = rstrip_end  # type: ignore[method-assign]


_installed = False


def install() -> None:
    """Patch typer once, before any help or error is shown."""
    global _installed
    if _installed:
        return
    _installed = True
    from typer import core
    from typer._click import core as click_core
    from typer._click import formatting

    _install_cjk_wrapping()
    core._ = translate
    # typer imports rich_utils (and rich.markdown, markdown_it) only to draw help or an error;
    # patching it when that happens spares every ordinary run the import (#13).
    if "typer.rich_utils" in sys.modules:
        _patch_rich_utils(sys.modules["typer.rich_utils"])
    else:
        sys.meta_path.insert(0, _PatchOnImport())

    original_help_option: Callable[..., Any] = click_core.Command.get_help_option

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = original_help_option(self, ctx)
        if option is not None:
            option.help = HELP_TEXT
        return option

    click_core.Command.get_help_option = get_help_option  # type: ignore[method-assign]

    original_usage: Callable[..., None] = formatting.HelpFormatter.write_usage

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        original_usage(self, prog, args, USAGE if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = write_usage  # type: ignore[method-assign]

    original_pieces: Callable[[Any, Any], list[str]] = click_core.Command.collect_usage_pieces

    def collect_usage_pieces(self: Any, ctx: Any) -> list[str]:
        return [USAGE_PIECES.get(p, p) for p in original_pieces(self, ctx)]

    click_core.Command.collect_usage_pieces = collect_usage_pieces  # type: ignore[method-assign]
    original_group_pieces: Callable[[Any, Any], list[str]] = core.TyperGroup.collect_usage_pieces

    def collect_group_usage_pieces(self: Any, ctx: Any) -> list[str]:
        return [USAGE_PIECES.get(p, p) for p in original_group_pieces(self, ctx)]

    core.TyperGroup.collect_usage_pieces = collect_group_usage_pieces  # type: ignore[method-assign]
    for cls in (core.TyperOption, core.TyperArgument):
        _wrap_display(cls)


def _patch_rich_utils(rich_utils: Any) -> None:
    for name, text in RICH_CONSTANTS.items():
        setattr(rich_utils, name, text)
    rich_utils.OptionHighlighter.highlights = [
        h for h in rich_utils.OptionHighlighter.highlights if "usage" not in h]
    original_error: Callable[[Any], None] = rich_utils.rich_format_error

    def rich_format_error(error: Any) -> None:
        original_format = error.format_message
        error.format_message = lambda: translate_error(original_format())
        original_error(error)

    rich_utils.rich_format_error = rich_format_error


class _PatchOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds typer.rich_utils through the other finders, then patches it once it has run."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> ModuleSpec | None:
        if name != "typer.rich_utils":
            return None
        sys.meta_path.remove(self)  # one module, once; and find_spec below must not find us
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _patch_rich_utils(module)


def _wrap_display(cls: Any) -> None:
    original: Callable[[Any, Any], str | None] = cls.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if self.metavar is not None:
            return str(self.metavar)
        label = original(self, ctx)
        if label == "<str>" and DATE_OPTIONS.intersection(getattr(self, "opts", ())):
            return "日期"
        if label == "<str>" and FILE_OPTIONS.intersection(getattr(self, "opts", ())):
            return "文件"
        return type_label(label)

    cls.display_type_rich = display_type_rich
