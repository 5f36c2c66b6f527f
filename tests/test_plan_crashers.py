"""Past crashers of ``duban check`` (issue #12), kept as regression cases with pinned messages.

Each case is the shipped plan.yaml with one edit; before the fix each one raised an
exception other than PlanError, hung, or was accepted and broke a later stage.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from plan import PlanError, load_plan, schema
from plan.errors import DubanError
from tests.fixtures_plan import at, edit, error, line_of, shipped, warning, write_plan

Case = tuple[str, list[str]]
TAG_HINT = "plan.yaml 只能写普通的文字、数字、日期、列表和键值对；删掉这个以 ! 开头的标签"
CONTROL_HINT = "删掉这个字符（常见于从网页或其他系统复制的文字）"
ESCAPE_HINT = "删掉引号里的 \\0、\\a、\\e、\\x.. 等转义写法（只允许制表符和换行）"
DEEP_HINT = "plan.yaml 的结构不需要这么深的列表或键值对；删掉多余的 [ ] 或 { }"
ADDRESS_HINT = "写成 name@example.org 这样的纯地址，不带姓名、空格或尖括号"
CRON_HINT = "五段：分 时 日 月 星期，例如 \"0 9 * * *\" 表示每天 9:00"
PERIOD = "（2024-05-14 至 2024-12-31）"
PERIOD_HINT = "改到期限内的日期，或调整 plan.period"


def _tag(old: str, new: str, path: str, tag: str) -> Case:
    t = edit((old, new))
    return t, [error(at(t, tag), path, f"不允许的 YAML 标签「{tag}」", TAG_HINT)]


def timestamp_tag() -> Case:
    return _tag("due: 2024-06-05", "due: !!timestamp 明天", "reports[0].due", "!!timestamp")


def int_tag() -> Case:
    return _tag("  - number: 7\n", "  - number: !!int abc\n", "tasks[6].number", "!!int")


def float_tag() -> Case:
    return _tag("  base: 100", "  base: !!float abc", "evaluation.base", "!!float")


def bool_tag() -> Case:
    return _tag("stats_table: false\n    note: 结合", "stats_table: !!bool maybe\n    note: 结合",
                "reports[0].stats_table", "!!bool")


def seq_tag() -> Case:
    return _tag("title: 贯彻落实《实施方案》的具体工作计划", "title: !!seq abc", "reports[0].title", "!!seq")


def map_tag_on_a_list() -> Case:
    return _tag("members: [service-centre, protection-centre]",
                "members: !!map [service-centre, protection-centre]", "groups[2].members", "!!map")


def unicode_digit_in_cron() -> Case:
    t = edit(('cron: "0 9 * * *"', 'cron: "0 ² * * *"'))
    return t, [error(at(t, '"0 ²'), "schedules.jobs[0].cron",
                     "cron 表达式「0 ² * * *」无效：第 2 段（时）「²」不是数字或范围", CRON_HINT)]


def cron_on_31_february() -> Case:
    t = edit(('cron: "0 9 * * *"', 'cron: "0 9 31 2 *"'))
    return t, [error(at(t, '"0 9 31'), "schedules.jobs[0].cron",
                     "cron 表达式「0 9 31 2 *」的日期不存在（例如 2 月 31 日），永远不会运行",
                     "改成存在的日期，例如 \"0 9 28 2 *\"")]


def deep_brackets_under_an_unknown_key() -> Case:
    t = shipped() + "x-deep: " + "[" * 500 + "]" * 500 + "\n"
    return t, [error(f"{line_of(t, 'x-deep')}:{len('x-deep: ') + 11}", "(文件)", "嵌套超过 10 层", DEEP_HINT)]


def deep_block_lists() -> Case:
    t = shipped() + "x-deep:\n" + "".join(f"{'  ' * (i + 1)}-\n" for i in range(500))
    row = line_of(t, "x-deep") + 10  # the 10th "-" opens the 11th level (the file is the 1st)
    return t, [error(f"{row}:{2 * 10 + 1}", "x-deep" + "[0]" * 9, "嵌套超过 10 层", DEEP_HINT)]


def billion_laughs() -> Case:
    rows = [f"x-l0: &l0 [{', '.join(['lol'] * 9)}]"]
    rows += [f"x-l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
    t = shipped() + "\n".join(rows) + "\n"
    # l1 and l2 spend 18 aliases; the 3rd alias of l3 is the 21st.
    return t, [error(at(t, "*l2", occurrence=3), "x-l3[2]",
                     "YAML 别名（*）用得太多：最多 20 处、共展开 5000 个值",
                     "把要复用的内容直接写出来，不要用 & 和 * 层层引用")]


def recurrence_until_9999() -> Case:
    t = edit(("every: {unit: quarter, day: 10, start: 2024-07-01, end: 2024-12-31}",
              "every: {unit: quarter, day: 10, start: 2024-07-01, end: 9999-12-31}"))
    path = "tasks[9].milestones[2].every.end"  # task 10's third milestone
    return t, [error(at(t, "9999-12-31"), path, f"日期 9999-12-31 不在方案期限{PERIOD}内", PERIOD_HINT)]


def weekly_for_seven_years() -> Case:
    t = edit(("period: {start: 2024-05-14, end: 2024-12-31}", "period: {start: 2024-05-14, end: 2030-12-31}"),
             ("every: {unit: quarter, day: 10, start: 2024-07-01, end: 2024-12-31}",
              "every: {unit: week, day: 1, start: 2024-07-01, end: 2030-12-31}"))
    return t, [error(at(t, "{unit: week"), "tasks[9].milestones[2].every",
                     "周期节点「t10-ecommerce-monitoring」在 2024-07-01 至 2030-12-31 之间约出现 340 次，"
                     "超过上限 260 次", "缩短 start–end 的时间段，或改用更长的周期（month、quarter）")]


def surrogate_escape() -> Case:
    t = edit(("name: 徐汇区知识产权局\n", 'name: "徐汇区\\ud800"\n'))
    return t, [error(at(t, "\\ud800", 2), "(文件)", "YAML 语法错误：引号里的 \\u 或 \\U 转义不是有效的字符",
                     "检查这一行及上一行的缩进、冒号后的空格和引号是否成对")]


def report_due_year_one() -> Case:
    t = edit(("due: 2024-06-05", "due: 0001-01-01"))
    return t, [error(at(t, "0001-01-01"), "reports[0].due", f"日期 0001-01-01 不在方案期限{PERIOD}内",
                     PERIOD_HINT)]


def period_until_9999() -> Case:
    t = edit(("period: {start: 2024-05-14, end: 2024-12-31}", "period: {start: 2024-05-14, end: 9999-12-31}"))
    return t, [error(at(t, "9999-12-31"), "plan.period.end", "方案期限的日期 9999-12-31 不在 2000–2100 年之间",
                     "填写方案实际的起止日期，例如 2025-01-01 至 2025-12-31")]


def offset_of_a_billion() -> Case:
    t = edit(("offset: -5", "offset: -1000000000"))
    return t, [error(at(t, "-1000000000"), "escalation.rungs[0].offset", "数值「-1000000000」超出范围",
                     "这个值不能小于 -250")]


def infinite_base() -> Case:
    t = edit(("  base: 100", "  base: .inf"))
    return t, [error(at(t, ".inf"), "evaluation.base", "数值「.inf」不是有限的数",
                     "填写普通的数字，例如 5 或 2.5（不能写 .inf、.nan）")]


def infinite_base_as_text() -> Case:
    t = edit(("  base: 100", '  base: "inf"'))
    return t, [error(at(t, '"inf"'), "evaluation.base", "分值「inf」超出范围", "填写 0 到 1000 之间的数")]


def nul_escape_in_a_name() -> Case:
    t = edit(("name: 徐汇区知识产权局\n", 'name: "徐汇区\\0知识产权局"\n'))
    return t, [error(at(t, '"徐汇区'), "units[1].name", "值里有不可见的控制字符 U+0000", ESCAPE_HINT)]


def _raw(char: str) -> Case:
    t = edit(("name: 徐汇区知识产权局\n", f"name: 徐汇区{char}知识产权局\n"))
    return t, [error(at(t, char), "(文件)", f"这里有不可见的控制字符 U+{ord(char):04X}", CONTROL_HINT)]


def raw_nul() -> Case:
    return _raw("\x00")


def raw_bel() -> Case:
    return _raw("\x07")


def raw_esc() -> Case:
    return _raw("\x1b")


def raw_del() -> Case:
    return _raw("\x7f")


def line_break_in_a_name() -> Case:
    t = edit(("name: 徐汇区知识产权局\n", 'name: "徐汇区\\n知识产权局"\n'))
    return t, [error(at(t, '"徐汇区'), "units[1].name", "「name」里有换行或制表符「徐汇区<U+000A>知识产权局」",
                     "名称和标题只能写一行：去掉换行和 Tab（它们会进入邮件标题、Excel 和公文）")]


def tab_inside_a_title() -> Case:
    # libyaml takes a tab between words as a space-like separator; a title must stay one line.
    t = edit(("title: 贯彻落实《实施方案》的具体工作计划", "title: 贯彻落实\t《实施方案》的具体工作计划"))
    return t, [error(at(t, "贯彻落实\t"), "reports[0].title",
                     "「title」里有换行或制表符「贯彻落实<U+0009>《实施方案》的具体工作计划」",
                     "名称和标题只能写一行：去掉换行和 Tab（它们会进入邮件标题、Excel 和公文）")]


def tab_indenting_a_list_item() -> Case:
    t = edit(("    members: [service-centre, protection-centre]",
              "    members:\n      - service-centre\n\t  - protection-centre"))
    return t, [error(at(t, "\t  - protection"), "(文件)", "这一行用了制表符（Tab）缩进",
                     "YAML 只能用空格缩进：把 Tab 换成两个空格")]


def empty_tasks() -> Case:
    t = shipped()
    t = t[: t.index("\ntasks:")] + "\ntasks:\n" + t[t.index("\nevaluation:"):]
    return t, [error(at(t, "\ntasks:"), "tasks", "「tasks:」部分是空的",
                     "在它下面逐项填写内容，参照仓库里的 plan.yaml")]


def empty_sections_list() -> Case:
    # Accepted before ("sections: []" skipped the task → section check), then sync raised KeyError.
    t = shipped()
    start, end = t.index("\nsections:"), t.index("\nreports:")
    t = t[:start] + "\nsections: []\n" + t[end:]
    return t, [error(at(t, "\nsections:"), "sections", "「sections:」部分是空的",
                     "在它下面逐项填写内容，参照仓库里的 plan.yaml")]


INVISIBLE_HINT = ("删掉这个字符（常见于从网页或 Word 复制的文字）："
                  "它看不见，却让名称与文件名、邮件对不上，或打乱文字顺序")


def zero_width_space_in_a_name() -> Case:
    # Accepted before; every alias then held the invisible character, so no file or mail naming
    # 徐汇区 matched the unit: its summary went to unmatched/ and it was chased regardless.
    t = edit(("name: 徐汇区知识产权局\n", 'name: "徐汇\\u200b区知识产权局"\n'))
    return t, [error(at(t, '"徐汇'), "units[1].name", "「name」里有看不见的格式字符 U+200B（零宽空格、方向控制符等）",
                     INVISIBLE_HINT)]


def bidi_override_in_a_title() -> Case:
    t = edit(("title: 推进新修订的法规规章实施", "title: 推进\u202e新修订的法规规章实施"))
    return t, [error(at(t, "推进\u202e"), "tasks[0].title",
                     "「title」里有看不见的格式字符 U+202E（零宽空格、方向控制符等）", INVISIBLE_HINT)]


NAME_HINT = "单位名称会用在文件名里（督办单、台账导出）：写正式的简称，或删去重复的部分"
ID_HINT = "编号会用在文件名和数据库里：改用简短的小写英文缩写，例如 pudong（引用它的地方一并修改）"


def long_unit_name() -> Case:
    # Accepted before, then the sweep crashed writing 督办单…（name）.docx: File name too long.
    t = edit(("name: 徐汇区知识产权局\n", "name: " + "徐" * 51 + "\n"))
    return t, [error(at(t, "徐" * 51), "units[1].name", "「name」太长：51 个字，最多 50 个", NAME_HINT)]


def long_short_name() -> Case:
    t = edit(("short_name: 奉贤快维中心", "short_name: " + "短" * 51))
    return t, [error(at(t, "短" * 51), "units[23].short_name", "「short_name」太长：51 个字，最多 50 个", NAME_HINT)]


def long_unit_id() -> Case:
    # Accepted before, then the digest crashed writing the dashboard page units/<id>.html.
    long = "x" * 300
    t = re.sub(r"\bxuhui\b(?![@-])", long, shipped())  # the id and every reference, not the emails
    message = f"编号「{'x' * 37}…」太长：300 个字符，最多 40 个"
    paths = ["units[1].id", "groups[0].members[1]", "tasks[16].units[1]", "tasks[16].milestones[0].units[1]",
             "tasks[16].milestones[1].units[1]"]  # every place that must change is named
    return t, [error(at(t, long, occurrence=n + 1), path, message, ID_HINT) for n, path in enumerate(paths)]


def _email(value: str) -> Case:
    t = edit(("email: leader@example.org", f"email: {value}"))
    shown = value.strip('"').replace('\\"', '"')
    return t, [error(at(t, value), "plan.leadership[0].email", f"邮箱地址格式不对「{shown}」", ADDRESS_HINT)]


CASES: dict[str, Callable[[], Case]] = {f.__name__: f for f in [
    timestamp_tag, int_tag, float_tag, bool_tag, seq_tag, map_tag_on_a_list, unicode_digit_in_cron,
    cron_on_31_february, deep_brackets_under_an_unknown_key, deep_block_lists, billion_laughs,
    recurrence_until_9999, weekly_for_seven_years, surrogate_escape, report_due_year_one,
    period_until_9999, offset_of_a_billion, infinite_base,
    infinite_base_as_text, nul_escape_in_a_name, raw_nul, raw_bel, raw_esc, raw_del,
    line_break_in_a_name, tab_inside_a_title, tab_indenting_a_list_item, empty_tasks,
    long_unit_name, long_short_name, long_unit_id, empty_sections_list,
    zero_width_space_in_a_name, bidi_override_in_a_title,
]}
for _value in ['"<script>@x.org"', '"测试@例子.中国"', '"\\"a\\"@x.org"', '"x@y.org%0aBcc:z"',
               '"a@b.org>,evil.x.org"']:
    CASES[f"email {_value}"] = (lambda v: lambda: _email(v))(_value)


@pytest.mark.parametrize("name", CASES)
def test_past_crasher_is_refused_with_its_place(name: str, tmp_path: Path) -> None:
    text, expected = CASES[name]()
    path = write_plan(tmp_path, text)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    got = [str(p).replace(str(path), "plan.yaml") for p in caught.value.problems]
    assert got == expected


def test_groups_as_a_number_is_refused_not_iterated(tmp_path: Path) -> None:
    """``groups: 5`` raised TypeError while the recipients group was defaulted from the
    written groups; now the type error comes first, then every reference that needs a group."""
    t = shipped()
    start, end = t.index("\ngroups:"), t.index("\nsections:")
    t = t[:start] + "\ngroups: 5\n" + t[end:]
    path = write_plan(tmp_path, t)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    got = [str(p).replace(str(path), "plan.yaml") for p in caught.value.problems]
    assert got[0] == error(at(t, "\ngroups:", offset=len("groups: ")), "groups", "「groups」应为列表",
                           "每一项以「- 」开头，逐行列出")
    assert all("没有编号为" in p for p in got[1:]) and len(got) > 1


# Every address the sender refuses, check refuses, and the other way round.
ADDRESSES = [
    "zhang@pudong.gov.cn", "a.b-c+d@sub.example.org", "shszcj@126.com", "x_y@a-b.cn",
    "<script>@x.org", "测试@例子.中国", '"a"@x.org', "x@y.org%0aBcc:z", "a@b.org>,evil.x.org",
    "a@b.org\nBcc: z@x.org", "a@b.org\n", "a b@x.org", "a@b", "a@@b.org", "a..b@x.org", ".a@x.org",
    "a@-b.org", "a@b-.org", "a@1.2.3.4", "张三 <a@x.org>", "a@x.org,b@x.org", "", "@x.org", "a@",
    "x" * 65 + "@x.org", "a@" + "b" * 64 + ".org",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_check_and_sender_agree_on_every_address(address: str) -> None:
    from notifications.compose import check_address

    try:
        TypeAdapter(schema.Email).validate_python(address)
        checked = True
    except ValidationError:
        checked = False
    try:
        check_address(address, where="测试")
        sent = True
    except DubanError:
        sent = False
    stripped_ok = address.strip() != address  # check strips spaces first; the sender does not
    assert checked == sent or stripped_ok, address
    assert checked is (address in ADDRESSES[:4] or (stripped_ok and checked)), address


def test_conventions_default_from_declared_units(tmp_path: Path) -> None:
    """Without evaluation:/requests:, scope is every reporting unit and the coordinator answers
    请示; without a recipients group, the 主送 is every reporting unit (never a division)."""
    t = shipped()
    t = t[: t.index("\nevaluation:")] + "\n"
    group = "  - id: recipients\n    name: 通知主送单位\n    members: [districts, lingang, divisions, centres]\n"
    assert group in t
    t = t.replace(group, "")
    loaded = load_plan(write_plan(tmp_path, t))
    reporting = [u.id for u in loaded.units.values() if u.reports_publicly]
    assert list(loaded.evaluation.scope) == reporting
    assert "protection-division" not in reporting and "huangpu" in reporting
    assert loaded.requests.division == loaded.meta.coordinator == "protection-division"
    assert list(loaded.groups["recipients"].members) == reporting


def test_a_year_chinesecalendar_lacks_warns_once_until_listed(tmp_path: Path, caplog) -> None:
    from plan.workdays import WorkCalendar

    t = edit(("period: {start: 2024-05-14, end: 2024-12-31}", "period: {start: 2027-01-01, end: 2027-12-31}"),
             ("issued: 2024-05-14", "issued: 2026-12-20"))
    t = t.replace("2024-", "2027-")
    loaded = load_plan(write_plan(tmp_path, t))
    year_warnings = [str(w) for w in loaded.warnings if "chinesecalendar" in w.message]
    assert year_warnings == [warning(
        at(t, "extra_holidays: []"), "calendar.extra_holidays",
        "chinesecalendar 没有 2027 年的节假日数据：将按周一至周五计算工作日",
        f"在第 {line_of(t, 'extra_holidays: []')} 行的 calendar.extra_holidays 中逐行写出 2027 年的法定节假日"
        "（如 - 2027-10-01），调休上班日写在 extra_workdays").replace("plan.yaml", str(tmp_path / "plan.yaml"))]

    caplog.set_level(logging.WARNING, logger="duban.calendar")
    for _ in range(2):  # intake, sweep and delivery each build a calendar from the one plan
        assert WorkCalendar(loaded.calendar).is_workday(dt.date(2027, 10, 1)) is True  # unknown: Mon–Fri
    assert [r.getMessage() for r in caplog.records] == [
        "chinesecalendar 没有 2027 年的节假日数据，按周一至周五计算工作日；"
        "请在 plan.yaml 的 calendar.extra_holidays / extra_workdays 中补充"]
    caplog.clear()

    covered = t.replace("extra_holidays: []", "extra_holidays: [2027-10-01, 2027-10-04]")
    loaded = load_plan(write_plan(tmp_path, covered))
    assert not [w for w in loaded.warnings if "chinesecalendar" in w.message]
    for _ in range(2):  # two calendars in one run, as sweep and report do
        calendar = WorkCalendar(loaded.calendar)
        assert calendar.is_workday(dt.date(2027, 10, 1)) is False
        assert calendar.is_workday(dt.date(2027, 10, 5)) is True  # a Tuesday, not listed
        assert calendar.shift(dt.date(2027, 9, 30), 1) == dt.date(2027, 10, 5)
    assert not caplog.records
