"""Which unit and which obligation a file in the inbox is for.  Pure: names only.

A file is matched by its folder (``pudong/半年总结.pdf``: the folder is a unit id or
name) or by its own name (``浦东新区-半年总结.pdf``).  Unit names are recognised with or
without 上海市 / 知识产权局 / 区; obligations by milestone or report id, milestone title,
or the words 计划 / 半年 / 全年 (see :data:`PERIOD_WORDS`).  Nothing is guessed: two
candidates make the file unmatched, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath

HALF_WORDS = ("上半年", "半年度", "半年")
ANNUAL_WORDS = ("全年", "年度", "年终")
PLAN_WORDS = ("工作计划", "计划")
_NAME_PREFIXES = ("上海市", "上海")
_NAME_SUFFIXES = ("知识产权局", "市场监管局")


@dataclass(frozen=True)
class Deliverable:
    """Something a unit sends as a file: a report, or a milestone not tied to a report."""

    id: str
    title: str
    period: str | None = None  # half-year | annual, for reports


@dataclass(frozen=True)
class FileMatch:
    unit_id: str | None
    deliverable: str | None
    reason: str = ""  # why it could not be matched (Chinese), when unit/deliverable is None


def unsafe_name(name: str) -> bool:
    """A name that tries to reach outside the inbox (``../``, ``..\\``) or is absolute."""
    parts = re.split(r"[\\/]", name)
    return ".." in parts or name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name))


def ignorable(name: str) -> bool:
    """Office lock files and system litter, left where they are."""
    return name.startswith(("~$", ".")) or name in ("Thumbs.db", "desktop.ini")


def unit_aliases(name: str) -> list[str]:
    """浦东新区知识产权局 → [浦东新区知识产权局, 浦东新区, 浦东]."""
    out = [name]
    for prefix in _NAME_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) + 1:
            out.append(name[len(prefix):])
            break
    base = out[-1]
    for suffix in _NAME_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            out.append(base)
            break
    for suffix in ("新片区", "新区", "区"):
        if base.endswith(suffix) and len(base) - len(suffix) >= 2:
            out.append(base[: -len(suffix)])
            break
    if "知识产权" in base and base.endswith(("中心", "处")):
        out.append(base.replace("知识产权", ""))  # 知识产权保护中心 → 保护中心
    return list(dict.fromkeys(a for a in out if len(a) >= 2))


def _spans(text: str, needle: str, ascii_word: bool) -> Iterable[tuple[int, int]]:
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        if not ascii_word or ((start == 0 or not text[start - 1].isalnum() or not text[start - 1].isascii())
                              and (end == len(text) or not text[end].isalnum() or not text[end].isascii())):
            yield start, end
        start = text.find(needle, start + 1)


def _longest(hits: list[tuple[int, int, str]]) -> list[str]:
    """Keys of the hits not inside a longer hit (``fengxian`` inside ``fengxian-rapid-centre``)."""
    kept = [h for h in hits if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0])
                                       for o in hits)]
    return list(dict.fromkeys(k for _, _, k in kept))


def find_units(text: str, units: Mapping[str, str]) -> list[str]:
    """Unit ids named in ``text`` by id or by name, longest mention first wins."""
    lowered = text.lower()
    hits: list[tuple[int, int, str]] = []
    for unit_id, name in units.items():
        hits += [(s, e, unit_id) for s, e in _spans(lowered, unit_id, ascii_word=True)]
        for alias in unit_aliases(name):
            hits += [(s, e, unit_id) for s, e in _spans(text, alias, ascii_word=False)]
    return _longest(hits)


def resolve_unit_text(text: str, units: Mapping[str, str]) -> str | None:
    """The one unit a header cell names (exact id, name or alias), else None."""
    text = "".join(text.split())
    for unit_id, name in units.items():
        if text == unit_id or text in unit_aliases(name):
            return unit_id
    found = find_units(text, units)
    return found[0] if len(found) == 1 else None


def find_deliverable(text: str, owed: Iterable[Deliverable]) -> tuple[str | None, str]:
    """(deliverable id, "") or (None, reason) for a file name."""
    owed = list(owed)
    lowered = text.lower()
    explicit = _longest([(s, e, d.id) for d in owed for s, e in _spans(lowered, d.id, ascii_word=True)]
                        + [(s, e, d.id) for d in owed for s, e in _spans(text, d.title, ascii_word=False)])
    if len(explicit) == 1:
        return explicit[0], ""
    if len(explicit) > 1:
        return None, "文件名同时指向多个节点：" + "、".join(explicit)
    half = any(w in text for w in HALF_WORDS)
    plan = any(w in text for w in PLAN_WORDS)
    annual = any(w in text.replace("半年度", "") for w in ANNUAL_WORDS)
    if plan and annual and not half and "总结" not in text:
        annual = False  # 2024年度工作计划 is the work plan
    wanted = [k for k, hit in (("half-year", half), ("plan", plan), ("annual", annual)) if hit]
    if not wanted:
        return None, "文件名中看不出是哪项报送（应含「工作计划」「半年」「全年」或节点编号）"
    if len(wanted) > 1:
        return None, "文件名同时含有「" + "」「".join(_WORD_LABEL[k] for k in wanted) + "」，无法判断是哪项报送"
    kind = wanted[0]
    found = [d.id for d in owed if (d.period == kind) or (kind == "plan" and d.period is None
                                                          and "计划" in d.title)]
    if len(found) != 1:
        return None, f"该单位没有与「{_WORD_LABEL[kind]}」对应的报送义务"
    return found[0], ""


_WORD_LABEL = {"half-year": "半年", "plan": "计划", "annual": "全年"}


def match_file(rel: PurePath, units: Mapping[str, str],
               owed: Mapping[str, list[Deliverable]]) -> FileMatch:
    """Unit and deliverable of ``rel`` (a path relative to the inbox)."""
    stem = PurePath(rel.name).stem
    named = find_units(stem, units)
    if len(rel.parts) > 1:
        folder = rel.parts[0]
        unit_id = folder if folder in units else resolve_unit_text(folder, units)
        if unit_id is None:
            return FileMatch(None, None, f"文件夹「{folder}」不是单位编号或单位名称")
        others = [u for u in named if u != unit_id]
        if others and unit_id not in named:
            return FileMatch(None, None, f"文件名写的是「{units[others[0]]}」，但放在「{units[unit_id]}」"
                                         f"（{unit_id}）的文件夹里")
    else:
        if not named:
            return FileMatch(None, None, "文件名中没有可识别的单位名称，也没有放在单位文件夹里")
        if len(named) > 1:
            return FileMatch(None, None, "文件名中有多个单位：" + "、".join(units[u] for u in named))
        unit_id = named[0]
    deliverable, reason = find_deliverable(stem, owed.get(unit_id, []))
    return FileMatch(unit_id, deliverable, reason)
