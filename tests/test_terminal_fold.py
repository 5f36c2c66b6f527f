"""flows.commands.terminal.fold: long Chinese lines fit 80 columns without cutting an id, a path or a word."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len

from flows.commands.terminal import fold
from tests.chinese_text import flat

LINES = [
    "已登记：徐汇区知识产权局 · half-year-summary，报送日期 2024-07-06（截止日后的休息日报送，"
    "逾期不足 1 个工作日，截止 2024-07-05），文件 2 个。",
    "     - 「贯彻落实《实施方案》的具体工作计划」（截止 2024-06-05）截至 2024-07-22 仍未报送，"
    "已逾期 32 个工作日，扣 30 分",
    "已登记：浦东新区知识产权局 · half-year-summary，文件 浦东-总结材料.pdf（sha256 2f22e9a1c4d6），"
    "已移到 processed/浦东-总结材料.pdf。",
    "  新增台账条目 616：work-plan/huangpu、work-plan/xuhui、work-plan/changning、work-plan/jingan、"
    "work-plan/putuo、work-plan/hongkou、…",
    "有邮件发送失败：运行 duban outbox --state failed 查看原因，修复后 duban outbox retry --state failed 全部重发。",
]


@pytest.mark.parametrize("line", LINES)
def test_a_long_line_fits_and_keeps_every_word(line: str) -> None:
    folded = fold(line, 80).splitlines()
    assert len(folded) > 1
    assert all(cell_len(part) <= 80 for part in folded), folded
    assert flat("".join(folded)) == flat(line)  # nothing lost, nothing added but the layout
    words = set(re.findall(r"[\x21-\x7e]+", line))
    for part in folded:  # every ASCII run (id, date, path, option) is whole on one line
        for word in re.findall(r"[\x21-\x7e]+", part):
            assert word in words or any(word in w for w in words if "/" in w), (word, folded)
    assert all(part.startswith(" " * (len(line) - len(line.lstrip()) + 2)) for part in folded[1:])


def test_a_line_that_fits_is_left_alone_and_a_path_is_never_cut() -> None:
    assert fold("短行：duban status", 80) == "短行：duban status"
    path = "/srv/duban/" + "长目录名" * 20 + "/var/inbox/unmatched/上半年工作总结.pdf"
    folded = fold(f"错误：有 1 个文件未能处理，已移到 {path}", 80).splitlines()
    assert folded[-1].strip() == path


def test_a_list_of_names_breaks_only_after_the_separator() -> None:
    names = ["黄浦区知识产权局", "徐汇区知识产权局", "长宁区知识产权局", "静安区知识产权局", "普陀区知识产权局",
             "虹口区知识产权局", "杨浦区知识产权局", "闵行区知识产权局", "临港新片区市场监管局"]
    folded = fold("督导检查名单：9 个单位（" + "、".join(names) + "）。", 80, after="、").splitlines()
    assert all(cell_len(part) <= 80 for part in folded)
    pieces = [p.strip() for part in folded for p in re.split(r"[（、）]", part)]
    for name in names:
        assert name in pieces, (name, folded)
