"""行政保护案件统计表: the seed attachment's table as data, and its rules.

Pure: no files, no database.  Figures are ``Decimal`` so 万元 amounts keep their exact
4 decimals; keys such as ``trademark-infringement.cases`` are what the database and
the JSON output use, the Chinese labels are what people read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from plan.intake_errors import CellProblem

TITLE = "行政保护案件统计表"
NOTE = "注：上述案件是指知识产权部门指导、裁决或者参与查办的案件。"
CATEGORY_HEADER = "案件类别"
VALUE_HEADER = "数量（金额）"
MAX_DECIMALS = 4  # 万元 to 4 decimals is one yuan

Kind = Literal["count", "amount"]
Period = Literal["half-year", "annual"]
PERIODS: tuple[Period, ...] = ("half-year", "annual")
PERIOD_LABELS: dict[str, str] = {"half-year": "上半年", "annual": "全年"}


@dataclass(frozen=True)
class Category:
    id: str
    name: str


@dataclass(frozen=True)
class Item:
    id: str
    label: str  # as printed in the attachment, unit included
    unit: str  # 件 | 万元
    kind: Kind


@dataclass(frozen=True)
class Row:
    key: str  # "<category>.<item>"
    category: Category
    item: Item

    @property
    def label(self) -> str:
        return self.item.label


CASES = Item("cases", "案件数（件）", "件", "count")
VALUE = Item("value", "案值（万元）", "万元", "amount")
FINES = Item("fines", "罚没款（万元）", "万元", "amount")
CLOSED = Item("closed", "结案数（件）", "件", "count")

CATEGORIES: tuple[tuple[Category, tuple[Item, ...]], ...] = (
    (Category("counterfeit-patent", "假冒专利案件"), (CASES, VALUE, FINES)),
    (Category("trademark-infringement", "商标侵权案件"), (CASES, VALUE, FINES)),
    (Category("trademark-violation", "商标一般违法案件"), (CASES, VALUE, FINES)),
    (Category("geographical-indication", "地理标志案件"), (CASES, VALUE, FINES)),
    (Category("official-marks", "官方标志、特殊标志、奥林匹克标志案件"), (CASES, VALUE, FINES)),
    (Category("patent-dispute", "专利侵权纠纷行政裁决案件"), (CASES, CLOSED)),
)

ROWS: tuple[Row, ...] = tuple(
    Row(f"{category.id}.{item.id}", category, item) for category, items in CATEGORIES for item in items
)
ROW_BY_KEY: dict[str, Row] = {row.key: row for row in ROWS}
Figures = dict[str, Decimal]


def period_label(period: str, year: int) -> str:
    """``("half-year", 2024)`` → ``2024年上半年``."""
    return f"{year}年{PERIOD_LABELS[period]}"


def parse_period_label(text: str, year: int) -> str | None:
    """The period a header such as ``2024年上半年`` / ``全年`` names, or None."""
    compact = "".join(text.split())
    if compact.startswith(f"{year}年"):
        compact = compact[len(f"{year}年"):]
    elif compact[:4].isdigit():
        return None  # another year
    if compact in ("上半年", "半年", "半年度", "1-6月", "1—6月"):
        return "half-year"
    if compact in ("全年", "年度", "1-12月", "1—12月"):
        return "annual"
    return None


def check_value(raw: object, row: Row) -> tuple[Decimal | None, str, str]:
    """A cell value (already known not to be a formula) → (figure, problem, hint).

    Counts are whole numbers ≥ 0; amounts ≥ 0 with at most 4 decimals.  Plain numeric
    text (a number stored as text, common after copy-paste) is read as the number.
    """
    what = "不小于 0 的整数" if row.item.kind == "count" else f"不小于 0 的数，最多 {MAX_DECIMALS} 位小数"
    hint = f"{row.label}请填写{what}；没有案件的填 0"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, "未填写", hint
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        return None, f"「{raw}」不是数字", hint
    if isinstance(raw, str):
        text = raw.strip()
        if not _plain_number(text):
            return None, f"「{text}」不是数字", hint + "，不要写文字或单位"
        value = Decimal(text)
    elif isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None, f"「{raw}」不是数字", hint
        value = Decimal(repr(raw))  # shortest repr: 12.3456 stays 12.3456
    else:
        value = Decimal(raw)
    shown = _plain(value)
    if value < 0:
        return None, f"{shown} 是负数", hint
    if row.item.kind == "count" and value != value.to_integral_value():
        return None, f"{shown} 不是整数", hint
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        return None, f"{shown} 超过 {MAX_DECIMALS} 位小数", hint + f"（单位万元，{MAX_DECIMALS} 位小数即到元）"
    return (value.to_integral_value() if row.item.kind == "count" else value), "", ""


THOUSANDS = re.compile(r"^-?\d{1,3}([,，]\d{3})+(\.\d+)?$")


def read_value(raw: object, row: Row) -> tuple[Decimal | None, str, str, str]:
    """:func:`check_value` after the normalisations units' files need, each one reported:
    (figure, problem, hint, warning).  Full-width digits (１２) and thousands separators
    (1,234) stored as text are read as numbers with a warning; a refusal names the cause."""
    if not isinstance(raw, str):
        return (*check_value(raw, row), "")
    text = raw.strip()
    notes: list[str] = []
    narrow = unicodedata.normalize("NFKC", text)
    if narrow != text:
        if not _plain_number(narrow.replace(",", "")):
            hint = check_value(None, row)[2]
            return None, f"「{text}」含全角字符，且不是数字", hint + "，不要写文字或单位", ""
        notes.append(f"「{text}」是全角数字，已按半角读取")
        text = narrow
    if THOUSANDS.match(text):
        notes.append(f"「{text}」含千位分隔符，已去掉逗号读取")
        text = text.replace(",", "").replace("，", "")
    elif "," in text or "，" in text:
        hint = check_value(None, row)[2]
        return (None, f"「{raw.strip()}」含逗号，但不是正确的千位分隔写法",
                hint + "；千位分隔应为 1,234 这样每三位一个逗号", "")
    value, problem, hint = check_value(text, row)
    if value is None:
        return value, problem, hint, ""
    return value, problem, hint, "；".join(notes) + (f"，读作 {_plain(value)}" if notes else "")


def _plain_number(text: str) -> bool:
    head, _, tail = text.partition(".")
    head = head[1:] if head.startswith("-") else head
    return head.isascii() and head.isdigit() and (not tail or (tail.isascii() and tail.isdigit()))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def cross_problems(figures: Mapping[str, Decimal], where: Mapping[str, str]) -> list[CellProblem]:
    """Rules across rows: 结案数 ≤ 案件数."""
    cases, closed = figures.get("patent-dispute.cases"), figures.get("patent-dispute.closed")
    if cases is not None and closed is not None and closed > cases:
        return [CellProblem(where["patent-dispute.closed"],
                            f"专利侵权纠纷行政裁决案件的结案数（{_plain(closed)}）大于案件数（{_plain(cases)}）",
                            "结案数不能超过案件数，请核对这两格")]
    return []


def cumulative_warnings(half_year: Mapping[str, Decimal], annual: Mapping[str, Decimal]) -> list[str]:
    """Annual figures are cumulative: one lower than the half-year one is suspicious."""
    out = []
    for row in ROWS:
        h, a = half_year.get(row.key), annual.get(row.key)
        if h is not None and a is not None and a < h:
            out.append(f"{row.category.name}·{row.label}：全年 {_plain(a)} 小于上半年 {_plain(h)}"
                       "（全年数字应包含上半年），请核对")
    return out


def as_json_figures(figures: Mapping[str, Decimal]) -> dict[str, int | float]:
    """Counts as int, amounts as float (their shortest repr is the exact 4-decimal value)."""
    return {key: int(v) if ROW_BY_KEY[key].item.kind == "count" else float(v)
            for key, v in figures.items()}


def display(value: Decimal | None) -> str:
    return "" if value is None else _plain(value)
