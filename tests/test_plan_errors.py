"""Malformed plans: each is the shipped plan.yaml with one edit, and each message is pinned.

A case returns (file content, the exact errors, warnings that must also appear).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len

from plan import PlanError, load_plan
from tests.chinese_text import flat
from tests.conftest import table_snapshot
from tests.fixtures_plan import at, edit, error, line_of, shipped, warning, write_plan

Case = tuple[str | bytes, list[str], list[str]]
DATE_HINT = "请填写真实存在的日期，格式 YYYY-MM-DD（四位年份-两位月份-两位日期，如 7 月 5 日写 MM-DD 为 07-05）"
EMPTY_HINT = "从仓库里的 plan.yaml 复制一份完整的方案再修改"
ONE_OF = "固定日期用 due，随总结报送用 report，周期性节点用 every"
REF_HINT = "单位编号见 units:，分组编号见 groups:"


def bad_date_format() -> Case:
    t = edit(("due: 2024-06-05", "due: 2024/06/05"))
    return t, [error(at(t, "2024/06/05"), "reports[0].due", "不是有效的日期「2024/06/05」", DATE_HINT)], []


def impossible_date() -> Case:
    t = edit(("due: 2024-06-05", "due: 2024-02-30"))
    return t, [error(at(t, "2024-02-30"), "reports[0].due", "不是有效的日期「2024-02-30」", DATE_HINT)], []


def number_where_text() -> Case:
    t = edit(("title: 贯彻落实《实施方案》的具体工作计划", "title: 20240605"))
    return t, [error(at(t, "20240605"), "reports[0].title", "应为文字，这里是整数",
                     "把值写成文字；数字或日期形式的文字请加引号")], []


def text_where_number() -> Case:
    t = edit(("  - number: 7\n", "  - number: seven\n"))
    return t, [error(at(t, "seven"), "tasks[6].number", "应为整数，这里是「seven」", "填写整数，例如 5")], []


def list_where_mapping() -> Case:
    t = edit(("period: {start: 2024-05-14, end: 2024-12-31}", "period: [2024-05-14, 2024-12-31]"))
    return t, [error(at(t, "[2024-05-14"), "plan.period", "应为键值对，这里是列表",
                     "按「键: 值」逐行书写，注意缩进")], []


def unknown_unit_in_task() -> Case:
    t = edit(("units: [pudong, xuhui, protection-centre, fengxian-rapid-centre]",
              "units: [pudong, xuhiu, protection-centre, fengxian-rapid-centre]"))
    return t, [error(at(t, "xuhiu"), "tasks[16].units[1]", "没有编号为「xuhiu」的单位或分组",
                     "是不是「xuhui」？")], []


def unknown_group_member() -> Case:
    t = edit(("members: [service-centre, protection-centre]", "members: [service-centre, protection-center]"))
    return t, [error(at(t, "protection-center]"), "groups[2].members[1]",
                     "没有编号为「protection-center」的单位或分组", "是不是「protection-centre」？")], []


def unknown_report() -> Case:
    t = edit(("report: half-year-summary\n      - id: t05-annual", "report: half-year-sumary\n      - id: t05-annual"))
    return t, [error(at(t, "half-year-sumary"), "tasks[4].milestones[0].report",
                     "没有编号为「half-year-sumary」的报告", "是不是「half-year-summary」？")], []


def duplicate_task_number() -> Case:
    t = edit(("  - number: 8\n", "  - number: 7\n"))
    first = line_of(t, "  - number: 7\n")
    return t, [error(at(t, "  - number: 7\n", 12, occurrence=2), "tasks[7].number",
                     f"任务序号「7」重复（第一次出现在第 {first} 行）",
                     "每个任务序号只能出现一次；改用新的任务序号或删掉重复的一项")], []


def duplicate_unit_id() -> Case:
    # A copied block left with the old id.
    t = edit(("  # —— 局机关处室 ——", "  - id: lingang\n    name: 临港新片区（重复）\n    kind: special-area\n\n"
              "  # —— 局机关处室 ——"))
    first = line_of(t, "  - id: lingang\n")
    return t, [error(at(t, "  - id: lingang\n", 8, occurrence=2), "units[17].id",
                     f"单位编号「lingang」重复（第一次出现在第 {first} 行）",
                     "每个单位编号只能出现一次；改用新的单位编号或删掉重复的一项")], []


def duplicate_milestone_id() -> Case:
    t = edit(("- id: t02-annual", "- id: t02-dup"))
    t = t.replace("- id: t02-dup", "- id: t02-half-year")
    first = line_of(t, "- id: t02-half-year")
    return t, [error(at(t, "t02-half-year", occurrence=2), "tasks[1].milestones[1].id",
                     f"节点编号「t02-half-year」重复（第一次出现在第 {first} 行）",
                     "节点编号在所有报告和任务节点中必须唯一")], []


def group_includes_itself() -> Case:
    t = edit(("members: [districts, lingang]", "members: [districts, lingang, enforcement]"))
    return t, [error(at(t, "enforcement]"), "groups[5].members[2]",
                     "分组「enforcement」包含了自己（enforcement → enforcement）",
                     "从 members 中去掉「enforcement」")], []


def group_includes_itself_via_another() -> Case:
    t = edit(("members: [service-centre, protection-centre]",
              "members: [service-centre, protection-centre, recipients]"))
    return t, [error(at(t, "recipients]"), "groups[2].members[2]",
                     "分组「centres」包含了自己（centres → recipients → centres）",
                     "从 members 中去掉「recipients」")], []


def tab_indentation() -> Case:
    t = edit(("  doc_number: 沪知局保〔2024〕15号\n", "\tdoc_number: 沪知局保〔2024〕15号\n"))
    return t, [error(at(t, "\tdoc_number"), "(文件)", "这一行用了制表符（Tab）缩进",
                     "YAML 只能用空格缩进：把 Tab 换成两个空格")], []


def duplicate_yaml_key() -> Case:
    t = edit(("  issuer: 上海市知识产权局\n", "  issuer: 上海市知识产权局\n  issuer: 上海市市场监督管理局\n"))
    return t, [error(at(t, "issuer: 上海市市场"), "plan.issuer",
                     f"键「issuer」重复出现（第一次在第 {line_of(t, 'issuer: 上海市知识产权局')} 行）",
                     "同一层里每个键只能写一次；删掉或合并其中一个")], []


def python_object_tag() -> Case:
    t = edit(("  issuer: 上海市知识产权局\n", '  issuer: !!python/object/apply:os.system ["touch /tmp/pwned"]\n'))
    return t, [error(at(t, "!!python"), "plan.issuer", "不允许的 YAML 标签「!!python/object/apply:os.system」",
                     "plan.yaml 只能写普通的文字、数字、日期、列表和键值对；删掉这个以 ! 开头的标签")], []


def empty_file() -> Case:
    return "", [error("1:1", "(文件)", "文件是空的", EMPTY_HINT)], []


def comments_only() -> Case:
    return ("# 计划文件\n#   units: ...\n\n",
            [error("1:1", "(文件)", "文件只有注释，没有任何内容", EMPTY_HINT)], [])


def not_utf8() -> Case:
    text = shipped()
    first = next(i for i, ch in enumerate(text) if ord(ch) > 127)  # ASCII before it: bytes = chars
    return text.encode("gbk"), [error(at(text, text[first]), "(文件)", "文件不是 UTF-8 编码",
                                      "用编辑器以 UTF-8 编码另存 plan.yaml（不要用 GBK/GB2312）")], []


def typo_key() -> Case:
    t = edit(("due: 2024-06-21", "deu: 2024-06-21"))
    return (t, [error(at(t, "id: t07-dragon-boat"), "tasks[6].milestones[2]",
                      "节点「t07-dragon-boat」必须且只能写 due、report、every 三者之一（现在一个都没有）", ONE_OF)],
            [warning(at(t, "deu:"), "tasks[6].milestones[2].deu", "未知的键「deu」，已忽略", "是不是「due」？")])


def unknown_section() -> Case:
    t = edit(("\ntasks:\n", "\ntask:\n"))
    return (t, [error(at(t, "\nplan:"), "(文件)", "缺少「tasks:」部分",
                      "在文件顶层添加「tasks:」，参照仓库里的 plan.yaml")],
            [warning(at(t, "\ntask:"), "task", "未知的部分「task」，已忽略", "是不是「tasks」？")])


def milestone_outside_period() -> Case:
    t = edit(("due: 2024-11-15", "due: 2025-01-15"))
    return t, [error(at(t, "2025-01-15"), "tasks[7].milestones[3].due",
                     "日期 2025-01-15 不在方案期限（2024-05-14 至 2024-12-31）内",
                     "改到期限内的日期，或调整 plan.period")], []


def due_and_report() -> Case:
    t = edit(("report: half-year-summary\n      - id: t05-annual",
              "report: half-year-summary\n        due: 2024-07-05\n      - id: t05-annual"))
    return t, [error(at(t, "id: t05-half-year"), "tasks[4].milestones[0]",
                     "节点「t05-half-year」必须且只能写 due、report、every 三者之一（现在写了 due、report）",
                     ONE_OF)], []


def empty_title() -> Case:
    t = edit(("title: 全年工作总结", 'title: ""'))
    return t, [error(at(t, '""'), "reports[2].title", "「title」不能为空", "填写内容（不能只有空格）")], []


def bad_email() -> Case:
    t = edit(("email: pudong@example.org", "email: pudong.example.org"))
    return t, [error(at(t, "pudong.example.org"), "units[10].contacts[0].email",
                     "邮箱地址格式不对「pudong.example.org」",
                     "写成 name@example.org 这样的纯地址，不带姓名、空格或尖括号")], []


def uppercase_id() -> Case:
    t = edit(("  - id: jinshan\n", "  - id: Jinshan\n"))
    return t, [error(at(t, "Jinshan"), "units[11].id", "编号「Jinshan」格式不对",
                     "编号只能用小写英文字母、数字和连字符（-），以字母或数字开头，例如 pudong")], []


def bad_cron() -> Case:
    t = edit(('cron: "0 9 * * *"', 'cron: "0 25 * * *"'))
    return t, [error(at(t, '"0 25'), "schedules.jobs[0].cron",
                     "cron 表达式「0 25 * * *」无效：第 2 段（时）「25」超出范围 0–23",
                     '五段：分 时 日 月 星期，例如 "0 9 * * *" 表示每天 9:00')], []


def unknown_timezone() -> Case:
    t = edit(("timezone: Asia/Shanghai", "timezone: Asia/Beijing"))
    return t, [error(at(t, "Asia/Beijing"), "schedules.timezone", "未知的时区「Asia/Beijing」",
                     "填写 Asia/Shanghai")], []


def rungs_not_increasing() -> Case:
    t = edit(("{id: remind-1, kind: remind, offset: -1,", "{id: remind-1, kind: remind, offset: -6,"))
    return t, [error(at(t, "-6,"), "escalation.rungs[1].offset", "offset -6 不大于上一级的 -5",
                     "各级按时间先后排列，offset 逐级增大")], []


def evaluate_without_period() -> Case:
    t = edit((", params: {period: half-year}}", "}"))
    return t, [error(at(t, "{id: evaluate-half-year"), "schedules.jobs[2].params",
                     "评估作业需要 params.period：half-year 或 annual", "写成 params: {period: half-year}")], []


def window_ends_after_due() -> Case:
    t = edit(("window: {start: 2024-09-23, end: 2024-10-08}", "window: {start: 2024-09-23, end: 2024-10-20}"))
    return t, [error(at(t, "2024-10-15"), "tasks[6].milestones[4].due",
                     "截止日期 2024-10-15 早于活动结束日期 2024-10-20",
                     "截止日期应在活动结束之后（报送活动小结的日期）")], []


def unknown_unit_kind() -> Case:
    t = edit(("    kind: special-area\n", "    kind: special_area\n"))
    return t, [error(at(t, "special_area"), "units[16].kind", "取值「special_area」无效",
                     "可选值：district, special-area, division, centre")], []


def duplicate_short_name() -> Case:
    # 静安's short name, derived from its name, is claimed again by 奉贤快维中心.
    t = edit(("    short_name: 奉贤快维中心\n", "    short_name: 静安\n"))
    first = line_of(t, "    name: 静安区知识产权局\n")
    return t, [error(at(t, "short_name: 静安", 12), "units[23].short_name",
                     f"简称「静安」与单位「jingan」（第 {first} 行）重复",
                     "每个单位的简称必须不同；给其中一个单位写上不重复的 short_name")], []


def derived_short_name_clash() -> Case:
    # A second unit whose name derives the same short name as 徐汇区知识产权局.
    t = edit(("  # —— 局机关处室 ——", "  - id: xuhui-2\n    name: 上海市徐汇区知识产权局\n    kind: district\n\n"
              "  # —— 局机关处室 ——"))
    first = line_of(t, "    name: 徐汇区知识产权局\n")
    return t, [error(at(t, "name: 上海市徐汇区知识产权局", 6), "units[17].name",
                     f"简称「徐汇」与单位「xuhui」（第 {first} 行）重复",
                     "每个单位的简称必须不同；给其中一个单位写上不重复的 short_name")], []


ALIAS_HINT = "别名要能单独认出这个单位：写它在来件里的具体叫法（如 奉贤快维中心），或删掉这个别名"


def vague_alias() -> Case:
    # 半年 would make every 半年总结 look like the rapid centre's.
    t = edit(("aliases: [奉贤快维中心, 快维中心, 快速维权中心]", "aliases: [奉贤快维中心, 半年]"))
    return t, [error(at(t, "半年]"), "units[23].aliases[1]",
                     "别名「半年」含有「半年」，这是材料名称里的词，不是单位名称", ALIAS_HINT)], []


def alias_inside_another_units_name() -> Case:
    t = edit(("aliases: [奉贤快维中心, 快维中心, 快速维权中心]", "aliases: [奉贤快维中心, 浦东新]"))
    return t, [error(at(t, "浦东新]"), "units[23].aliases[1]",
                     "别名「浦东新」也是单位「浦东新区知识产权局」名称的一部分，两个单位的来件容易弄混",
                     ALIAS_HINT)], []


def alias_with_line_break() -> Case:
    t = edit(("aliases: [奉贤快维中心, 快维中心, 快速维权中心]", 'aliases: [奉贤快维中心, "快维\\n中心"]'))
    return t, [error(at(t, '"快维'), "units[23].aliases[1]", "「aliases」第 2 项里有换行或制表符「快维<U+000A>中心」",
                     "名称和标题只能写一行：去掉换行和 Tab（它们会进入邮件标题、Excel 和公文）")], []


def signer_with_line_break() -> Case:
    # The 落款 goes into the 通报's last lines and the 版头: one line only.
    t = edit(("  signer: 上海市知识产权局\n", '  signer: "上海市\\n知识产权局"\n'))
    return t, [error(at(t, '"上海市\\n'), "evaluation.signer", "「signer」里有换行或制表符「上海市<U+000A>知识产权局」",
                     "名称和标题只能写一行：去掉换行和 Tab（它们会进入邮件标题、Excel 和公文）")], []


CASES: dict[str, Callable[[], Case]] = {f.__name__: f for f in (
    bad_date_format, impossible_date, number_where_text, text_where_number, list_where_mapping,
    unknown_unit_in_task, unknown_group_member, unknown_report, duplicate_task_number,
    duplicate_unit_id, duplicate_milestone_id, group_includes_itself,
    group_includes_itself_via_another, tab_indentation, duplicate_yaml_key, python_object_tag,
    empty_file, comments_only, not_utf8, typo_key, unknown_section, milestone_outside_period,
    due_and_report, empty_title, bad_email, uppercase_id, bad_cron, unknown_timezone,
    rungs_not_increasing, evaluate_without_period, window_ends_after_due, unknown_unit_kind,
    duplicate_short_name, derived_short_name_clash, vague_alias, alias_inside_another_units_name,
    alias_with_line_break, signer_with_line_break,
)}
# Cases whose refusal is also checked against a synced database, on every backend.
DB_CASES = ["impossible_date", "unknown_unit_in_task", "python_object_tag", "not_utf8", "typo_key"]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_loader_reports_exact_problems(name: str, in_tmp: Path) -> None:
    content, errors, warnings = CASES[name]()
    write_plan(in_tmp, content)
    with pytest.raises(PlanError) as caught:
        load_plan("plan.yaml")
    assert [str(p) for p in caught.value.problems] == errors
    shown = [str(w) for w in caught.value.warnings]
    for expected in warnings:
        assert expected in shown
    assert caught.value.message == f"plan.yaml 有 {len(errors)} 处错误，未做任何改动"


@pytest.mark.parametrize("name", CASES)
def test_check_command_exits_1_and_prints_each_problem(name: str, in_tmp: Path, cli) -> None:
    content, errors, warnings = CASES[name]()
    write_plan(in_tmp, content)
    result = cli("check", "plan.yaml")
    assert result.exit_code == 1
    # Printed folded at 80 columns (CliRunner's width): each message whole, ignoring where it
    # breaks, with its file:line:col head starting a line.
    lines = result.stderr.splitlines()
    for line in [*errors, *warnings]:
        assert flat(line) in flat(result.stderr)
        head = line.split(": ", 2)[0] + ": "
        assert any(printed.startswith(head) for printed in lines), head
    assert max(cell_len(printed) for printed in lines) <= 80
    assert "Traceback" not in result.output
    assert result.stderr.rstrip().endswith(
        f"错误：plan.yaml 有 {len(errors)} 处错误，未做任何改动\n"
        "提示：按上面每条提示修改后，运行 duban check 再检查一遍")


@pytest.mark.parametrize("name", DB_CASES)
def test_sync_of_a_broken_plan_changes_nothing(name: str, synced, db_url: str, workdir: Path,
                                                cli) -> None:
    before = table_snapshot(db_url)
    content, errors, _ = CASES[name]()
    write_plan(workdir, content)
    result = cli("sync", "plan.yaml")
    assert result.exit_code == 1
    assert flat(errors[0]) in flat(result.stderr)  # folded at 80 columns
    assert table_snapshot(db_url) == before


def test_all_problems_are_reported_at_once(in_tmp: Path) -> None:
    t = edit(("due: 2024-06-05", "due: 2024-02-30"),
             ("units: [pudong, xuhui, protection-centre, fengxian-rapid-centre]",
              "units: [pudong, xuhiu, protection-centre, fengxian-rapid-centre]"),
             ('cron: "0 9 * * *"', 'cron: "0 9 * * * *"'))
    write_plan(in_tmp, t)
    with pytest.raises(PlanError) as caught:
        load_plan("plan.yaml")
    assert [str(p) for p in caught.value.problems] == [
        error(at(t, '"0 9 * * * *"'), "schedules.jobs[0].cron",
              "cron 表达式「0 9 * * * *」无效：应有 5 段（分 时 日 月 星期），这里有 6 段",
              '五段：分 时 日 月 星期，例如 "0 9 * * *" 表示每天 9:00'),
        error(at(t, "2024-02-30"), "reports[0].due", "不是有效的日期「2024-02-30」", DATE_HINT),
        error(at(t, "xuhiu"), "tasks[16].units[1]", "没有编号为「xuhiu」的单位或分组", "是不是「xuhui」？"),
    ]


def test_check_json_lists_every_error_with_its_place(in_tmp: Path, cli) -> None:
    import json

    content, _, _ = typo_key()
    write_plan(in_tmp, content)
    result = cli("check", "plan.yaml", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    line, column = at(content, "id: t07-dragon-boat").split(":")
    assert data["ok"] is False
    assert data["errors"] == [{
        "file": "plan.yaml", "line": int(line), "column": int(column),
        "path": "tasks[6].milestones[2]",
        "message": "节点「t07-dragon-boat」必须且只能写 due、report、every 三者之一（现在一个都没有）",
        "hint": ONE_OF,
    }]
    assert {"path": "tasks[6].milestones[2].deu", "message": "未知的键「deu」，已忽略",
            "hint": "是不是「due」？"}.items() <= next(
        w for w in data["warnings"] if w["path"].endswith(".deu")).items()


def test_unknown_section_alone_is_only_a_warning(in_tmp: Path, cli) -> None:
    t = shipped() + "\nnotes:\n  a: 1\n"
    write_plan(in_tmp, t)
    plan = load_plan("plan.yaml")
    assert warning(at(t, "\nnotes:"), "notes", "未知的部分「notes」，已忽略",
                   "可用的部分：plan, calendar, escalation, schedules, units, groups, sections, "
                   "reports, tasks, evaluation, requests") in [str(w) for w in plan.warnings]
    assert cli("check", "plan.yaml").exit_code == 0


def test_a_missing_file_names_the_path(in_tmp: Path, cli) -> None:
    result = cli("check", "nowhere.yaml")
    assert result.exit_code == 1
    assert error("1:1", "(文件)", "找不到这个文件", "检查路径，或在项目根目录运行（默认读取 ./plan.yaml）",
                 file="nowhere.yaml") in result.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("a: [1, 2\n", "方括号 [ ] 或花括号 { } 没有成对"),
    ('a: "x\n', "引号没有成对"),
    ("a: b: c\n", "这里不能出现「键: 值」（缩进不对，或值里的「: 」需要加引号）"),
    ("a: 1\n---\nb: 2\n", "文件里只能有一份内容，不要用 --- 分成多份"),
])
def test_yaml_syntax_errors_are_explained_in_chinese(text: str, message: str, in_tmp: Path) -> None:
    write_plan(in_tmp, text)
    with pytest.raises(PlanError) as caught:
        load_plan("plan.yaml")
    (problem,) = caught.value.problems
    assert problem.message == f"YAML 语法错误：{message}"
    assert problem.hint == "检查这一行及上一行的缩进、冒号后的空格和引号是否成对"
