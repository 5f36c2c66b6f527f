"""Which unit and which obligation a file in the inbox is for.  Pure: names only.

A file is matched by its folder (``pudong/半年总结.pdf``: the folder is a unit id or
name) or by its own name (``浦东新区-半年总结.pdf``).  Unit names are recognised with or
without 上海市 / 知识产权局 / 区; obligations by milestone or report id, milestone title,
or the words 计划 / 半年 / 全年.  Nothing is guessed: two candidates make the file
unmatched, with the reason.

Used by the inbox, ``duban record`` and the mailbox, so every way a file arrives is
identified the same way:

- names are NFKC-normalised first (``ｍｉｎｈａｎｇ－半年总结`` is ``minhang-半年总结``);
- a year other than the plan's year (``2023年上半年``, ``2025年工作计划``) is refused;
- units are found by id, name, derived short names and the ``aliases:`` of plan.yaml;
  the longest mention wins, and a unit whose name or alias contains another unit's
  name (奉贤快维中心 ⊃ 奉贤) is never read as the shorter one;
- 1-6月 / 1月-6月 / 上半年 mean the half year; 年度 alone is not "annual" when 上半年 is
  present; "上半年工作总结及下半年工作计划" is the half-year summary;
- a 总结 without a period word is the summary whose window is open (see
  :func:`summary_window`), otherwise unmatched.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

HALF_WORDS = ("上半年", "半年度", "半年")
# 1-6月, 1月-6月, 1~6月, 1至6月 (after NFKC: full-width digits and dashes are ASCII).
HALF_MONTHS = re.compile(r"(?<!\d)1\s*月?\s*[-~—–至到]\s*6\s*月")
FULL_MONTHS = re.compile(r"(?<!\d)1\s*月?\s*[-~—–至到]\s*12\s*月")
# The plan for the NEXT half/year inside a summary's title is not this year's work plan.
NEXT_PLAN = re.compile(r"(下半年|下一步|明年|\d{4}年)(的)?(工作)?(计划|打算|安排)")
YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
SUMMARY_GRACE_DAYS = 30  # a 总结 without a period word still counts as the summary just due
Aliases = Mapping[str, Sequence[str]]
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
    due: dt.date | None = None  # for the open window of a 总结 without period word


@dataclass(frozen=True)
class FileMatch:
    unit_id: str | None
    deliverable: str | None
    reason: str = ""  # why it could not be matched (Chinese), when unit/deliverable is None


def normalise(text: str) -> str:
    """NFKC (full-width letters, digits, spaces, punctuation → ASCII), spaces removed."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def unsafe_name(name: str) -> bool:
    """A name that tries to reach outside the inbox (``../``, ``..\\``) or is absolute."""
    parts = re.split(r"[\\/]", name)
    return ".." in parts or name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name))


PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".swp")


def ignorable(name: str) -> bool:
    """Office lock files, half-written downloads and system litter, left where they are."""
    return (name.startswith(("~$", ".", "~")) or name in ("Thumbs.db", "desktop.ini")
            or name.lower().endswith(PARTIAL_SUFFIXES))


def wrong_year(text: str, year: int) -> str | None:
    """The reason when ``text`` names a year other than the plan's year."""
    others = [y for y in dict.fromkeys(YEAR.findall(normalise(text))) if int(y) != year]
    if not others:
        return None
    return (f"文件名写的是 {others[0]} 年，本方案是 {year} 年度，不能登记为本年度的报送"
            "（如确属本年度材料，请改正文件名中的年份后重新放入）")


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


# Words that name what a file is, not who sent it: an alias holding one would make every
# 半年总结 or 统计表 look like that unit's.
OBLIGATION_WORDS = ("总结", "统计", "台账", "报送", "材料", "附件", "方案", "工作", "报告", "汇报",
                    *HALF_WORDS, *ANNUAL_WORDS, *PLAN_WORDS)
GENERIC_NAMES = ("上海市", "上海", "知识产权", "知识产权局", "市场监管局", "中心", "新区", "区")


def vague_alias(alias: str, *, unit_id: str, names: Mapping[str, str], issuer: str) -> str | None:
    """Why ``alias`` (NFKC, no spaces) cannot name one unit on its own, or None.

    Intake reads aliases inside file names and mail subjects; a vague one would place
    another unit's file, or every file, under this unit — a guess dressed as a match.
    """
    if len(alias) < 2:
        return "只有一个字，会出现在许多无关的文件名里"
    if YEAR.search(alias) or alias.isdigit():
        return "含有年份或只有数字，会与文件名里的日期混淆"
    word = next((w for w in OBLIGATION_WORDS if w in alias), None)
    if word:
        return f"含有「{word}」，这是材料名称里的词，不是单位名称"
    if alias in GENERIC_NAMES or alias in issuer:
        return "是通用的机构名称（各单位的文件名里都可能出现），不能指向某一个单位"
    other = next((uid for uid, name in names.items() if uid != unit_id and alias in name), None)
    if other:
        return f"也是单位「{names[other]}」名称的一部分，两个单位的来件容易弄混"
    return None


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


def all_names(unit_id: str, name: str, aliases: Aliases | None = None) -> list[str]:
    """Every Chinese way to name a unit: derived short names and plan.yaml ``aliases:``."""
    declared = [normalise(a) for a in (aliases or {}).get(unit_id, ())]
    return list(dict.fromkeys([normalise(a) for a in unit_aliases(name)] + declared))


def find_units(text: str, units: Mapping[str, str], aliases: Aliases | None = None) -> list[str]:
    """Unit ids named in ``text`` by id, name or alias; the longest mention wins."""
    text = normalise(text)
    lowered = text.lower()
    hits: list[tuple[int, int, str]] = []
    names = {u: all_names(u, n, aliases) for u, n in units.items()}
    for unit_id in units:
        hits += [(s, e, unit_id) for s, e in _spans(lowered, unit_id, ascii_word=True)]
        for alias in names[unit_id]:
            hits += [(s, e, unit_id) for s, e in _spans(text, alias, ascii_word=False)]
    found = _longest(hits)
    if len(found) > 1:
        # 奉贤区（化妆品）快速维权中心: the centre's own name contains 奉贤, so the mention of
        # 奉贤 is part of the centre's name, never a second unit (nor a fallback to 奉贤区).
        found = [b for b in found
                 if not any(a != b and any(short in long for long in names[a] for short in names[b])
                            for a in found)] or found
    return found


def resolve_unit_text(text: str, units: Mapping[str, str], aliases: Aliases | None = None) -> str | None:
    """The one unit a header cell or ``--unit`` names (exact id, name or alias), else None."""
    text = normalise(text)
    for unit_id, name in units.items():
        if text == unit_id or text in all_names(unit_id, name, aliases):
            return unit_id
    found = find_units(text, units, aliases)
    return found[0] if len(found) == 1 else None


def summary_window(owed: Sequence[Deliverable], deliverable: Deliverable) -> tuple[dt.date, dt.date] | None:
    """When a 总结 without a period word means ``deliverable``: from the day after the
    previous summary's window closed (its due date + :data:`SUMMARY_GRACE_DAYS`) up to
    this summary's due date + the same grace.  Windows never overlap, so at most one is open."""
    if deliverable.due is None or deliverable.period is None:
        return None
    dues = sorted(d.due for d in owed if d.period is not None and d.due is not None)
    grace = dt.timedelta(days=SUMMARY_GRACE_DAYS)
    earlier = [d for d in dues if d < deliverable.due]
    start = earlier[-1] + grace + dt.timedelta(days=1) if earlier else dt.date.min
    return start, deliverable.due + grace


def find_deliverable(text: str, owed: Iterable[Deliverable],
                     today: dt.date | None = None) -> tuple[str | None, str]:
    """(deliverable id, "") or (None, reason) for a file name."""
    owed = list(owed)
    text = normalise(text)
    lowered = text.lower()
    explicit = _longest([(s, e, d.id) for d in owed for s, e in _spans(lowered, d.id, ascii_word=True)]
                        + [(s, e, d.id) for d in owed
                           for s, e in _spans(text, normalise(d.title), ascii_word=False)])
    if len(explicit) == 1:
        return explicit[0], ""
    if len(explicit) > 1:
        return None, "文件名同时指向多个节点：" + "、".join(explicit)
    summary = "总结" in text
    half = any(w in text for w in HALF_WORDS) or bool(HALF_MONTHS.search(text))
    planned = NEXT_PLAN.sub("", text) if summary else text  # 总结及下半年工作计划 is a summary
    plan = any(w in planned for w in PLAN_WORDS)
    # 2024年度上半年: 年度 is the year's label, not the annual summary; only 全年/年终 count then.
    annual_words = ("全年", "年终") if half else ANNUAL_WORDS
    annual = any(w in text.replace("半年度", "") for w in annual_words) or bool(FULL_MONTHS.search(text))
    if plan and annual and not half and not summary:
        annual = False  # 2024年度工作计划 is the work plan
    wanted = [k for k, hit in (("half-year", half), ("plan", plan), ("annual", annual)) if hit]
    if not wanted and summary and today is not None:
        return _open_summary(owed, today)
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


def period_of(text: str) -> str | None:
    """The statistics period a file name names (上半年/1-6月 → half-year, 全年/年度 → annual)."""
    text = normalise(text)
    half = any(w in text for w in HALF_WORDS) or bool(HALF_MONTHS.search(text))
    annual = any(w in text.replace("半年度", "") for w in (("全年", "年终") if half else ANNUAL_WORDS)) \
        or bool(FULL_MONTHS.search(text))
    return None if half == annual else ("half-year" if half else "annual")


def _open_summary(owed: Sequence[Deliverable], today: dt.date) -> tuple[str | None, str]:
    open_now = [d.id for d in owed if (w := summary_window(owed, d)) and w[0] <= today <= w[1]]
    if len(open_now) == 1:
        return open_now[0], ""
    return None, (f"文件名只写了「总结」，没有写明是半年还是全年，{today.isoformat()} 也不在任何总结的报送期内"
                  f"（截止日后 {SUMMARY_GRACE_DAYS} 天内），无法判断是哪项报送")


def match_file(rel: PurePath, units: Mapping[str, str], owed: Mapping[str, list[Deliverable]], *,
               aliases: Aliases | None = None, year: int | None = None,
               today: dt.date | None = None) -> FileMatch:
    """Unit and deliverable of ``rel`` (a path relative to the inbox)."""
    stem = PurePath(rel.name).stem
    named = find_units(stem, units, aliases)
    if len(rel.parts) > 1:
        folder = rel.parts[0]
        unit_id = folder if folder in units else resolve_unit_text(folder, units, aliases)
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
    if year is not None and (reason := wrong_year(stem, year)):
        return FileMatch(unit_id, None, reason)
    deliverable, reason = find_deliverable(stem, owed.get(unit_id, []), today)
    if deliverable is None and reason.startswith("该单位"):
        reason = f"识别为「{units[unit_id]}」，{reason}"  # say which unit was read, so a wrong reading shows
    return FileMatch(unit_id, deliverable, reason)
