"""Read a YAML file safely into plain data, remembering where every value came from.

We read the YAML *event stream* (libyaml's when installed) and build plain Python values
ourselves, without recursion: duplicate keys, tags, control characters, non-finite numbers,
nesting deeper than MAX_DEPTH and aliases beyond their budget become :class:`Problem` rows
with a line and column, instead of exceptions, silent overwrites or exploding memory.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from plan.errors import KeyPath, PlanError, Problem, format_path
from plan.plan_file import read_plan_bytes

_STD = "tag:yaml.org,2002:"
_SAFE_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}


@dataclass(frozen=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Source:
    """Plain data parsed from a YAML file plus the position of every value and key."""

    file: str
    data: Any
    marks: dict[KeyPath, Mark] = field(default_factory=dict)
    key_marks: dict[KeyPath, Mark] = field(default_factory=dict)  # where each key is written

    def mark(self, path: KeyPath) -> Mark:
        """Position of ``path``, or of its closest parent that exists (for missing keys)."""
        for end in range(len(path), -1, -1):
            found = self.marks.get(tuple(path[:end]))
            if found:
                return found
        return Mark(1, 1)

    def problem(
        self, path: KeyPath, message: str, hint: str, severity: str = "error", *,
        kind: str = "", subject: str = "", at_key: bool = False,
    ) -> Problem:
        """A problem at ``path``'s value (or at its key, for problems with the key itself)."""
        at = self.key_marks.get(tuple(path)) if at_key else None
        at = at or self.mark(path)
        return Problem(
            self.file, at.line, at.column, format_path(path), message, hint,
            "warning" if severity == "warning" else "error", kind, subject,
        )


def _mark(node: yaml.Node | yaml.Event) -> Mark:
    start: Any = node.start_mark  # PyYAML's or libyaml's Mark; every event has one
    return Mark(start.line + 1, start.column + 1)


# Limits of what plan.yaml may ask the loader to do; the shipped plan needs far less.
# Nesting: the deepest real path is tasks[i].milestones[j].every.start (6 levels).
MAX_DEPTH = 10
# Aliases (*name) may reuse an anchored (&name) value a few times, never to multiply it:
# at most ALIAS_BUDGET aliases, together expanding to at most EXPANSION_BUDGET values.
ALIAS_BUDGET = 20
EXPANSION_BUDGET = 5_000

# Characters the YAML reader refuses (and we report at their real line and column):
# C0 controls except tab/LF/CR, DEL, C1 controls, surrogates and U+FFFE/U+FFFF.
_RAW_CONTROL = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Inside a value (after escapes such as "\0" or "\ud800" are applied): tab and newline
# stay allowed; what XML, Excel, PostgreSQL or UTF-8 itself cannot hold is refused.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")

_CONSTRUCTORS = yaml.SafeLoader.yaml_constructors


def control_name(char: str) -> str:
    return f"U+{ord(char):04X}"


def _line_column(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _raw_controls(file: str, text: str) -> list[Problem]:
    out: list[Problem] = []
    for found in _RAW_CONTROL.finditer(text):
        line, column = _line_column(text, found.start())
        out.append(Problem(file, line, column, "(文件)",
                           f"这里有不可见的控制字符 {control_name(found.group())}",
                           "删掉这个字符（常见于从网页或其他系统复制的文字）"))
        if len(out) >= 20:
            break
    return out


def _flow_too_deep(file: str, text: str) -> Problem | None:
    """The first ``[``/``{`` nested deeper than MAX_DEPTH, found without a YAML parser.

    Both YAML scanners look for a possible ``key:`` across every open bracket before they
    emit anything, which takes minutes for 100 000 brackets, so a bracket bomb is refused
    from the text.  A bracket counts only where a flow collection can start (after ``:``,
    ``-``, ``,``, another bracket or at the start of a line); quoted text and comments are
    skipped, so a title such as ``关于[2024]`` never counts.
    """
    depth = 0
    for number, row in enumerate(text.split("\n"), start=1):
        previous = ""
        quote = ""
        for column, char in enumerate(row, start=1):
            if quote:
                if char == quote and (quote == "'" or row[column - 2] != "\\"):
                    quote = ""
                    previous = "x"
                continue
            if char in " \t":
                if previous in ("-", "?"):
                    previous = previous + " "
                continue
            if char == "#" and (column == 1 or row[column - 2] in " \t"):
                break
            starts = previous in ("", ":", "- ", ",", "[", "{", "? ")
            if char in "[{" and starts:
                depth += 1
                if depth > MAX_DEPTH:
                    return Problem(file, number, column, "(文件)", f"嵌套超过 {MAX_DEPTH} 层",
                                   "plan.yaml 的结构不需要这么深的列表或键值对；删掉多余的 [ ] 或 { }")
            elif char in "]}" and depth:
                depth -= 1
            elif char in "\"'" and starts:
                quote = char
                continue
            previous = char
    return None


class _Refused(Exception):
    """Stop reading at once (nesting or alias budget exceeded): nothing more is composed."""


@dataclass
class _Frame:
    path: KeyPath
    value: Any  # dict or list being filled
    anchor: str | None
    size: int = 1
    key: str | None = None  # mapping: the key waiting for its value
    expect_key: bool = True
    skip_value: bool = False  # mapping: the pending value belongs to a refused key


class _Builder:
    """Plain data from the YAML event stream, without recursion and without expanding bombs."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")  # only used for its scalar constructors
        self._resolver = yaml.resolver.Resolver()
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliases = 0
        self.expanded = 0

    # -- problems ---------------------------------------------------------------------------
    def _at(self, mark: Mark, path: KeyPath, message: str, hint: str) -> Problem:
        return Problem(self.source.file, mark.line, mark.column, format_path(path), message, hint)

    def _refuse(self, mark: Mark, path: KeyPath, message: str, hint: str) -> None:
        self.problems.append(self._at(mark, path, message, hint))
        raise _Refused

    def _tag_problem(self, tag: str, mark: Mark, path: KeyPath) -> None:
        self.problems.append(self._at(
            mark, path, f"不允许的 YAML 标签「{tag.replace(_STD, '!!')}」",
            "plan.yaml 只能写普通的文字、数字、日期、列表和键值对；删掉这个以 ! 开头的标签"))

    # -- the stream -------------------------------------------------------------------------
    def build(self, events: Any) -> Any:
        stack: list[_Frame] = []
        root: Any = None
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self._refuse(_mark(event), (), "YAML 语法错误：文件里只能有一份内容，不要用 --- 分成多份",
                                 "检查这一行及上一行的缩进、冒号后的空格和引号是否成对")
                continue
            if isinstance(event, yaml.StreamStartEvent | yaml.StreamEndEvent | yaml.DocumentEndEvent):
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                frame = stack.pop()
                done = (frame.value, frame.size, frame.anchor)
            else:
                parent = stack[-1] if stack else None
                path = self._child_path(parent)
                mark = _mark(event)
                if parent is not None and parent.value.__class__ is dict and parent.expect_key:
                    if not isinstance(event, yaml.ScalarEvent):
                        self.problems.append(self._at(mark, parent.path, "键必须是简单的文字",
                                                      "把这个键改成普通的英文单词"))
                        parent.skip_value = True
                        parent.key = None
                        if isinstance(event, yaml.CollectionStartEvent):
                            # Consume the refused key like a value, then drop it.
                            self._push(stack, event, parent.path, mark)
                            continue
                        parent.expect_key = False
                        continue
                    self._key(parent, event, mark)
                    continue
                if isinstance(event, yaml.AliasEvent):
                    done = self._alias(event, mark, path)
                elif isinstance(event, yaml.ScalarEvent):
                    self.source.marks.setdefault(path, mark)
                    done = (self._scalar(event, mark, path), 1, event.anchor)
                else:
                    self.source.marks.setdefault(path, mark)
                    self._push(stack, event, path, mark)
                    continue
            # A finished value: remember its anchor and add it to its parent.
            value, size, anchor = done
            if anchor is not None:
                self.anchors[anchor] = (value, size)
            if not stack:
                root = value
                continue
            self._add(stack[-1], value, size)
        return root

    def _child_path(self, parent: _Frame | None) -> KeyPath:
        if parent is None:
            return ()
        if isinstance(parent.value, list):
            return (*parent.path, len(parent.value))
        return (*parent.path, parent.key if parent.key is not None else "?")

    def _push(self, stack: list[_Frame], event: Any, path: KeyPath, mark: Mark) -> None:
        if len(stack) >= MAX_DEPTH:
            self._refuse(mark, path, f"嵌套超过 {MAX_DEPTH} 层",
                         "plan.yaml 的结构不需要这么深的列表或键值对；删掉多余的 [ ] 或 { }")
        tag = event.tag
        if tag is not None and tag != "!":
            self._tag_problem(tag, mark, path)
        container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
        stack.append(_Frame(path, container, event.anchor))

    def _key(self, frame: _Frame, event: yaml.ScalarEvent, mark: Mark) -> None:
        frame.expect_key = False
        frame.skip_value = False
        key = str(event.value)
        if event.tag is not None and event.tag != "!":
            self._tag_problem(event.tag, mark, frame.path)
            frame.skip_value = True
            return
        if key == "<<" and event.implicit[0]:
            self.problems.append(self._at(mark, frame.path, "不支持 YAML 合并键「<<」",
                                          "把要复用的内容直接写出来"))
            frame.skip_value = True
            return
        bad = CONTROL.search(key)
        if bad:
            self.problems.append(self._at(mark, frame.path,
                                          f"键里有不可见的控制字符 {control_name(bad.group())}",
                                          "把这个键改成普通的英文单词"))
            frame.skip_value = True
            return
        child = (*frame.path, key)
        self.source.key_marks.setdefault(child, mark)
        if key in frame.value:
            first = self.source.key_marks[child]
            self.problems.append(self._at(
                mark, child, f"键「{key}」重复出现（第一次在第 {first.line} 行）",
                "同一层里每个键只能写一次；删掉或合并其中一个"))
            frame.skip_value = True
            return
        frame.key = key

    def _add(self, frame: _Frame, value: Any, size: int) -> None:
        frame.size += size
        if isinstance(frame.value, list):
            frame.value.append(value)
            return
        if frame.expect_key:  # a refused (non-scalar) key just ended: drop its value too
            frame.expect_key = False
            frame.skip_value = True
            return
        if not frame.skip_value and frame.key is not None:
            frame.value[frame.key] = value
        frame.expect_key = True
        frame.key = None
        frame.skip_value = False

    def _alias(self, event: yaml.AliasEvent, mark: Mark, path: KeyPath) -> tuple[Any, int, None]:
        self.source.marks.setdefault(path, mark)
        if event.anchor not in self.anchors:
            self.problems.append(self._at(mark, path, f"YAML 别名「*{event.anchor}」没有对应的锚点",
                                          "检查 & 与 * 的名称是否一致"))
            return None, 1, None
        self.aliases += 1
        value, size = self.anchors[event.anchor]
        self.expanded += size
        if self.aliases > ALIAS_BUDGET or self.expanded > EXPANSION_BUDGET:
            self._refuse(mark, path, f"YAML 别名（*）用得太多：最多 {ALIAS_BUDGET} 处、"
                         f"共展开 {EXPANSION_BUDGET} 个值",
                         "把要复用的内容直接写出来，不要用 & 和 * 层层引用")
        return value, size, None

    def _scalar(self, event: yaml.ScalarEvent, mark: Mark, path: KeyPath) -> Any:
        tag = event.tag
        if tag is not None and tag != "!":
            self._tag_problem(tag, mark, path)
            return None
        resolved = self._resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        node = yaml.ScalarNode(resolved, event.value, None, None, event.style)
        try:
            value = _CONSTRUCTORS[resolved](self._constructor, node)
        except (ValueError, OverflowError, yaml.YAMLError):
            # An impossible date such as 2024-02-30 or an odd number: the schema names it.
            return event.value
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append(self._at(mark, path, f"数值「{event.value}」不是有限的数",
                                          "填写普通的数字，例如 5 或 2.5（不能写 .inf、.nan）"))
            return None
        if isinstance(value, str):
            bad = CONTROL.search(value)
            if bad:
                self.problems.append(self._at(
                    mark, path, f"值里有不可见的控制字符 {control_name(bad.group())}",
                    "删掉引号里的 \\0、\\a、\\e、\\x.. 等转义写法（只允许制表符和换行）"))
                return None
        return value


def _yaml_syntax_problem(file: str, err: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = err.problem or ""
    if "'\\t'" in problem or "\\t" in problem:
        row = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
        indent = row[: len(row) - len(row.lstrip(" \t"))]
        if "\t" in indent:
            return Problem(
                file, line, column, "(文件)", "这一行用了制表符（Tab）缩进",
                "YAML 只能用空格缩进：把 Tab 换成两个空格",
            )
        return Problem(
            file, line, column, "(文件)", "这里有制表符（Tab），YAML 不接受",
            "把 Tab 换成空格；文字里确实需要 Tab 时，给整个值加上双引号并写成 \\t",
        )
    if "found duplicate anchor" in problem or "found undefined alias" in problem:
        return Problem(file, line, column, "(文件)", f"YAML 锚点/别名有误：{problem}",
                       "检查 & 与 * 的名称是否一致")
    for english, chinese in _SYNTAX.items():
        if english in problem or english in (err.context or ""):
            problem = chinese
            break
    return Problem(
        file, line, column, "(文件)", f"YAML 语法错误：{problem}",
        "检查这一行及上一行的缩进、冒号后的空格和引号是否成对",
    )


# PyYAML's most common complaints, in words a coordinator can act on.
_SYNTAX = {
    "mapping values are not allowed here": "这里不能出现「键: 值」（缩进不对，或值里的「: 」需要加引号）",
    "could not find expected ':'": "缺少冒号「:」",
    "expected <block end>": "缩进不一致",
    "while scanning a quoted scalar": "引号没有成对",
    "expected a single document": "文件里只能有一份内容，不要用 --- 分成多份",
    "while parsing a flow": "方括号 [ ] 或花括号 { } 没有成对",
    "invalid Unicode character escape code": "引号里的 \\u 或 \\U 转义不是有效的字符",
    "found unknown escape character": "引号里有无效的 \\ 转义（要写反斜杠本身请写成 \\\\）",
}


def _events(text: str) -> Any:
    """The YAML event stream, from libyaml when it is installed (several times faster)."""
    loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    parser = loader(text)
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


def read_yaml(path: Path, display: str | None = None, raw: bytes | None = None) -> Source:
    """Parse ``path`` (or its ``raw`` bytes, already read) into a :class:`Source`; raises
    :class:`PlanError` on unreadable YAML."""
    file = display or str(path)
    if raw is None:
        raw = read_plan_bytes(path, display)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        column = err.start - (before.rfind(b"\n") + 1) + 1
        raise PlanError([Problem(file, line, column, "(文件)", "文件不是 UTF-8 编码",
                                 "用编辑器以 UTF-8 编码另存 plan.yaml（不要用 GBK/GB2312）")]) from None
    if not text.strip():
        raise PlanError([Problem(file, 1, 1, "(文件)", "文件是空的",
                                 "从仓库里的 plan.yaml 复制一份完整的方案再修改")])
    if all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise PlanError([Problem(file, 1, 1, "(文件)", "文件只有注释，没有任何内容",
                                 "从仓库里的 plan.yaml 复制一份完整的方案再修改")])
    controls = _raw_controls(file, text)
    if controls:
        raise PlanError(controls)
    too_deep = _flow_too_deep(file, text)
    if too_deep:
        raise PlanError([too_deep])
    source = Source(file=file, data=None)
    builder = _Builder(source)
    try:
        source.data = builder.build(_events(text))
    except _Refused:
        raise PlanError(builder.problems) from None
    except yaml.MarkedYAMLError as found:
        # Phrase the syntax error as PyYAML's pure-Python parser does (our translations
        # match its wording); if only libyaml objects, report libyaml's own words and place.
        try:
            for _ in yaml.parse(text, Loader=yaml.SafeLoader):
                pass
        except yaml.MarkedYAMLError as err:
            raise PlanError([_yaml_syntax_problem(file, err, text)]) from None
        raise PlanError([_yaml_syntax_problem(file, found, text)]) from None
    except yaml.YAMLError as err:  # pragma: no cover - control characters are found above
        raise PlanError([Problem(file, 1, 1, "(文件)", f"YAML 错误：{err}", "检查文件格式")]) from None
    if builder.problems:
        raise PlanError(builder.problems)
    if source.data is None:  # only "---" or "..." markers, or a lone null
        raise PlanError([Problem(file, 1, 1, "(文件)", "文件是空的",
                                 "从仓库里的 plan.yaml 复制一份完整的方案再修改")])
    if not isinstance(source.data, dict):
        raise PlanError([source.problem((), "文件顶层应是键值对（plan:、units:、tasks: …）",
                                        "参照仓库里的 plan.yaml 的结构")])
    return source


def is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
