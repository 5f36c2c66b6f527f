"""Turn pydantic's validation errors into Chinese messages with a hint."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic_core import ErrorDetails

from plan.addresses import ADDRESS_HINT

_TYPE_NAMES: dict[type, str] = {
    str: "文字", int: "整数", float: "小数", bool: "true/false", list: "列表",
    dict: "键值对", type(None): "空值", dt.date: "日期", dt.datetime: "日期时间",
}

DATE_HINT = "请填写真实存在的日期，格式 YYYY-MM-DD（四位年份-两位月份-两位日期，如 7 月 5 日写 MM-DD 为 07-05）"


def describe(value: Any) -> str:
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def _show(value: Any) -> str:
    # Line breaks and control characters are shown by name, so a message stays one line.
    text = "".join(c if c.isprintable() else f"<U+{ord(c):04X}>" for c in str(value))
    return text if len(text) <= 40 else text[:37] + "…"


def translate(error: ErrorDetails) -> tuple[str, str]:
    """(message, hint) for one pydantic error."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    key = error["loc"][-1] if error["loc"] else ""
    # What the message calls the value: 「title」, or for a list item 「aliases」第 2 项.
    named = f"「{key}」"
    if isinstance(key, int) and len(error["loc"]) > 1:
        named = f"「{error['loc'][-2]}」第 {key + 1} 项"
    if kind == "missing":
        return f"缺少必填项「{key}」", f"在这里添加「{key}: …」"
    if kind.startswith("date") and not kind.startswith("datetime"):
        return f"不是有效的日期「{_show(value)}」", DATE_HINT
    if kind.startswith("datetime"):
        return (f"不是有效的日期时间「{_show(value)}」",
                "格式 YYYY-MM-DDTHH:MM:SS（日期、字母 T、24 小时制时间，如上午 10 点写 T10:00:00）")
    if kind == "string_type":
        return f"应为文字，这里是{describe(value)}", "把值写成文字；数字或日期形式的文字请加引号"
    if kind == "string_too_short":
        return f"{named}不能为空", "填写内容（不能只有空格）"
    if kind == "invisible_char":
        return (f"{named}里有看不见的格式字符 U+{ctx.get('code', '')}（零宽空格、方向控制符等）",
                "删掉这个字符（常见于从网页或 Word 复制的文字）："
                "它看不见，却让名称与文件名、邮件对不上，或打乱文字顺序")
    if kind == "string_too_long":
        from plan.schema import MAX_ID

        limit = int(ctx.get("max_length", 0))
        if limit == MAX_ID:
            return (f"编号「{_show(value)}」太长：{len(str(value))} 个字符，最多 {limit} 个",
                    "编号会用在文件名和数据库里：改用简短的小写英文缩写，例如 pudong（引用它的地方一并修改）")
        return (f"{named}太长：{len(str(value))} 个字，最多 {limit} 个",
                "单位名称会用在文件名里（督办单、台账导出）：写正式的简称，或删去重复的部分")
    if kind == "email_address":
        return f"邮箱地址格式不对「{_show(value)}」", ADDRESS_HINT
    if kind == "one_line":
        return (f"{named}里有换行或制表符「{_show(value)}」",
                "名称和标题只能写一行：去掉换行和 Tab（它们会进入邮件标题、Excel 和公文）")
    if kind in {"finite_number", "float_parsing", "float_type"}:
        return f"应为数字，这里是「{_show(value)}」", "填写普通的数字，例如 5 或 2.5"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "@" in pattern:
            return f"邮箱地址格式不对「{_show(value)}」", "写成 name@example.org 的形式"
        return (f"编号「{_show(value)}」格式不对",
                "编号只能用小写英文字母、数字和连字符（-），以字母或数字开头，例如 pudong")
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"应为整数，这里是「{_show(value)}」", "填写整数，例如 5"
    if kind in {"bool_type", "bool_parsing"}:
        return f"应为 true 或 false，这里是「{_show(value)}」", "填写 true 或 false"
    if kind == "list_type":
        return f"应为列表，这里是{describe(value)}", "用「- 项目」逐行列出，或写成 [a, b]"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"应为键值对，这里是{describe(value)}", "按「键: 值」逐行书写，注意缩进"
    if kind == "too_short":
        return "列表不能为空", "至少写一项"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"取值「{_show(value)}」无效", f"可选值：{expected}"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        bound = next(iter(ctx.values()), "")
        relation = {"greater_than_equal": "不能小于", "greater_than": "必须大于",
                    "less_than_equal": "不能大于", "less_than": "必须小于"}[kind]
        return f"数值「{_show(value)}」超出范围", f"这个值{relation} {bound}"
    return f"取值无效：{error['msg']}", "对照 README 中 plan.yaml 的说明修改"
