"""Matching a file in the inbox to a unit and an obligation (pure rules)."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from flows.inbox import deliverables
from plan.intake_rules import match_file, unit_aliases, unsafe_name


@pytest.fixture(scope="module")
def names(plan) -> dict[str, str]:
    return {u: unit.name for u, unit in plan.units.items()}


@pytest.fixture(scope="module")
def owed(plan):
    return deliverables(plan)


def test_unit_aliases() -> None:
    assert unit_aliases("浦东新区知识产权局") == ["浦东新区知识产权局", "浦东新区", "浦东"]
    assert unit_aliases("黄浦区知识产权局") == ["黄浦区知识产权局", "黄浦区", "黄浦"]
    assert unit_aliases("临港新片区市场监管局") == ["临港新片区市场监管局", "临港新片区", "临港"]
    assert unit_aliases("上海市知识产权保护中心") == ["上海市知识产权保护中心", "知识产权保护中心", "保护中心"]


@pytest.mark.parametrize(("path", "unit", "deliverable"), [
    ("浦东新区-半年总结.pdf", "pudong", "half-year-summary"),
    ("浦东新区知识产权局半年度工作总结.docx", "pudong", "half-year-summary"),
    ("浦东2024年上半年总结（盖章）.pdf", "pudong", "half-year-summary"),
    ("黄浦区-全年工作总结.pdf", "huangpu", "annual-summary"),
    ("黄浦年终总结.docx", "huangpu", "annual-summary"),
    ("徐汇区知识产权局2024年度工作计划.pdf", "xuhui", "work-plan"),
    ("临港-计划.docx", "lingang", "work-plan"),
    ("pudong-t08-cste.pdf", "pudong", "t08-cste"),
    ("浦东新区-第十届中国（上海）国际技术进出口交易会知识产权保护（驻展：展前排查、展中巡查、展后追查）.pdf",
     "pudong", "t08-cste"),
    ("保护中心-半年总结.pdf", "protection-centre", "half-year-summary"),
    ("pudong/半年总结.pdf", "pudong", "half-year-summary"),
    ("浦东新区知识产权局/全年总结.pdf", "pudong", "annual-summary"),
    ("pudong/浦东新区-工作计划.docx", "pudong", "work-plan"),
])
def test_matches(path: str, unit: str, deliverable: str, names, owed) -> None:
    match = match_file(PurePath(path), names, owed)
    assert (match.unit_id, match.deliverable, match.reason) == (unit, deliverable, "")


@pytest.mark.parametrize(("path", "reason"), [
    ("半年总结.pdf", "文件名中没有可识别的单位名称，也没有放在单位文件夹里"),
    ("浦东新区-总结.pdf", "文件名中看不出是哪项报送（应含「工作计划」「半年」「全年」或节点编号）"),
    ("浦东、徐汇-半年总结.pdf", "文件名中有多个单位：徐汇区知识产权局、浦东新区知识产权局"),
    ("浦东-半年工作计划.pdf", "文件名同时含有「半年」「计划」，无法判断是哪项报送"),
    ("火星/半年总结.pdf", "文件夹「火星」不是单位编号或单位名称"),
    ("pudong/徐汇区-半年总结.pdf",
     "文件名写的是「徐汇区知识产权局」，但放在「浦东新区知识产权局」（pudong）的文件夹里"),
    ("知识产权保护处-半年总结.pdf", "识别为「知识产权保护处」，该单位没有与「半年」对应的报送义务"),
])
def test_unmatched_with_reason(path: str, reason: str, names, owed) -> None:
    match = match_file(PurePath(path), names, owed)
    assert match.deliverable is None and match.reason == reason


def test_unsafe_names() -> None:
    assert unsafe_name("../半年总结.pdf") and unsafe_name("..\\..\\x.pdf") and unsafe_name("/etc/passwd")
    assert unsafe_name("C:\\x.pdf")
    assert not unsafe_name("浦东..半年总结.pdf") and not unsafe_name("a.b.pdf")
