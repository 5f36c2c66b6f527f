"""The documentation: every command is described by hand, every link resolves, the README's two
commands are the ones CI runs, and the generated command reference is current.

Sub-groups are walked recursively, so a new command cannot ship without its description in a
hand-written page (README.md or docs/*.md other than the generated reference).
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_cli_help import command_paths

README = ROOT / "README.md"
DOCS = ROOT / "docs"
REFERENCE = DOCS / "命令参考.md"
MANUAL = DOCS / "协调处室手册.md"
PAGES = ("协调处室手册.md", "plan编写指南.md", "单位须知.md", "运维手册.md", "开发说明.md", "命令参考.md")


def hand_written() -> list[Path]:
    """README and every docs page a person wrote (the command reference is generated)."""
    return [README, *sorted(p for p in DOCS.glob("*.md") if p != REFERENCE)]


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_command_is_described_in_a_hand_written_page(path: tuple[str, ...]) -> None:
    command = f"duban {' '.join(path)}"
    pages = [p for p in hand_written() if command in p.read_text(encoding="utf-8")]
    assert pages, f"README.md 和 docs/ 的手写页面都没有写到 `{command}`（命令参考是生成的，不算）"


def test_the_command_reference_is_generated_from_the_cli_and_current() -> None:
    from flows.cli_reference import render

    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/命令参考.md 已过期：运行 python -m flows.cli_reference > docs/命令参考.md 重新生成")


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_command_is_in_the_reference(path: tuple[str, ...]) -> None:
    assert f"### `duban {' '.join(path)}`" in REFERENCE.read_text(encoding="utf-8")


def test_the_readme_links_every_page_and_each_page_starts_chinese_with_an_english_summary() -> None:
    readme = README.read_text(encoding="utf-8")
    for name in PAGES:
        assert f"](docs/{name})" in readme, f"README.md 没有链接 docs/{name}"
    for page in hand_written()[1:]:
        text = page.read_text(encoding="utf-8")
        title = text.splitlines()[0]
        assert title.startswith("# ") and re.search(r"[\u4e00-\u9fff]", title), f"{page.name} 的标题应是中文"
        assert "English summary" in text[:1500], f"{page.name} 开头缺少英文摘要"
        assert "](../README.md)" in text or "](协调处室手册.md)" in text, f"{page.name} 没有链接回其他文档"


def test_the_manual_covers_the_coordinators_day() -> None:
    manual = MANUAL.read_text(encoding="utf-8")
    for heading in ("每天早上", "登记", "未能自动登记", "名单", "重发", "plan.yaml", "演练"):
        assert heading in manual
    for page in hand_written():
        text = page.read_text(encoding="utf-8")
        assert "STACK-NOTES" not in text and "../shared" not in text and "shared/" not in text, page.name


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFC", heading.strip()).lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"#{1,6} (.+)", line)):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_the_slug_follows_github() -> None:
    assert slug("七、演练：在练习目录里过一个督办季") == "七演练在练习目录里过一个督办季"
    assert slug("基准 / Benchmarks") == "基准--benchmarks"
    assert slug("单机：`duban serve`") == "单机duban-serve"


@pytest.mark.parametrize("page", hand_written(), ids=lambda p: p.name)
def test_every_relative_link_resolves_to_a_file_and_anchor(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.name}：链接 {target} 指向的文件不存在"
        if anchor:
            assert anchor in anchors(dest), f"{page.name}：链接 {target} 的锚点在 {dest.name} 中不存在"


def _fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_the_readmes_two_commands_are_the_ones_ci_runs() -> None:
    blocks = _fenced(README.read_text(encoding="utf-8"), "bash")
    assert len(blocks) >= 2
    first, second = (b.strip() for b in blocks[:2])
    assert first.endswith("duban init && duban run --today 2024-07-08")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # .ci/run does what the second command says, step by step: a venv, the project with its
    # test extras, then tests/run.sh.
    steps = [shlex.split(s.strip()) for s in second.split("&&")]
    assert steps[0][:3] == ["python3", "-m", "venv"] and '"$PYTHON" -m venv "$VENV"' in ci
    assert steps[1][0] == "." and 'source "$VENV/bin/activate"' in ci
    assert steps[2] == ["pip", "install", "-e", ".[test]"] and "pip install --quiet -e '.[test]'" in ci
    assert steps[3] == ["tests/run.sh"] and re.search(r'^tests/run\.sh "\$@"$', ci, flags=re.M)
