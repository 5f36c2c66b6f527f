"""Read a YAML file safely into plain data, remembering where every value came from.

PyYAML's ``compose`` gives us nodes with line/column marks; we turn them into plain
Python values ourselves so that duplicate keys, unsafe tags and impossible dates become
:class:`Problem` rows with a location instead of exceptions or silent overwrites.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from plan.errors import KeyPath, PlanError, Problem, format_path

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


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")  # only used for its scalar constructors

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.source.marks[path] = _mark(node)
        if node.tag not in _SAFE_TAGS:
            self.problems.append(
                self.source.problem(
                    path,
                    f"不允许的 YAML 标签「{node.tag.replace(_STD, '!!')}」",
                    "plan.yaml 只能写普通的文字、数字、日期、列表和键值对；删掉这个以 ! 开头的标签",
                )
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                self.problems.append(
                    self.source.problem(
                        path, "不支持 YAML 合并键「<<」", "把要复用的内容直接写出来"
                    )
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    self.source.problem(path, "键必须是简单的文字", "把这个键改成普通的英文单词")
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            self.source.key_marks.setdefault(child, _mark(key_node))
            if key in out:
                first = self.source.key_marks[child]
                self.problems.append(
                    Problem(
                        self.source.file, key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1, format_path(child),
                        f"键「{key}」重复出现（第一次在第 {first.line} 行）",
                        "同一层里每个键只能写一次；删掉或合并其中一个",
                    )
                )
                continue
            out[key] = self.build(value_node, child)
        return out

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STD + "timestamp":
            try:
                value = self._scalars.construct_yaml_timestamp(node)
            except ValueError:
                return node.value  # an impossible date such as 2024-02-30: the schema names it
            return value
        return self._scalars.construct_object(node, deep=True)


def _yaml_syntax_problem(file: str, err: yaml.MarkedYAMLError) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = err.problem or ""
    if "'\\t'" in problem or "\\t" in problem:
        return Problem(
            file, line, column, "(文件)", "这一行用了制表符（Tab）缩进",
            "YAML 只能用空格缩进：把 Tab 换成两个空格",
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
}


def read_yaml(path: Path, display: str | None = None) -> Source:
    """Parse ``path`` into a :class:`Source`; raises :class:`PlanError` on unreadable YAML."""
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanError([Problem(file, 1, 1, "(文件)", "找不到这个文件",
                                 "检查路径，或在项目根目录运行（默认读取 ./plan.yaml）")]) from None
    except OSError as err:
        raise PlanError([Problem(file, 1, 1, "(文件)", f"无法读取文件：{err.strerror}",
                                 "检查文件权限")]) from None
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
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        raise PlanError([_yaml_syntax_problem(file, err)]) from None
    except yaml.YAMLError as err:  # pragma: no cover - PyYAML raises marked errors for text
        raise PlanError([Problem(file, 1, 1, "(文件)", f"YAML 错误：{err}", "检查文件格式")]) from None
    if node is None:  # only "---" or "..." markers
        raise PlanError([Problem(file, 1, 1, "(文件)", "文件是空的",
                                 "从仓库里的 plan.yaml 复制一份完整的方案再修改")])
    source = Source(file=file, data=None)
    builder = _Builder(source)
    source.data = builder.build(node, ())
    if builder.problems:
        raise PlanError(builder.problems)
    if not isinstance(source.data, dict):
        raise PlanError([source.problem((), "文件顶层应是键值对（plan:、units:、tasks: …）",
                                        "参照仓库里的 plan.yaml 的结构")])
    return source


def is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
