"""Every command on the ``duban`` app is documented in README.md as `duban <command path>`.

Sub-groups are walked recursively, so a new command cannot ship without its line in the
README's command reference.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.test_cli_help import command_paths

README = ROOT / "README.md"


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    assert README.is_file(), "README.md 不存在"
    text = README.read_text(encoding="utf-8")
    assert f"duban {' '.join(path)}" in text, f"README.md 没有写到 `duban {' '.join(path)}`"


REFERENCE = ROOT / "docs" / "命令参考.md"
MANUAL = ROOT / "docs" / "协调处室手册.md"


def test_the_command_reference_is_generated_from_the_cli_and_current() -> None:
    from flows.cli_reference import render

    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/命令参考.md 已过期：运行 python -m flows.cli_reference > docs/命令参考.md 重新生成")


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_command_is_in_the_reference(path: tuple[str, ...]) -> None:
    assert f"### `duban {' '.join(path)}`" in REFERENCE.read_text(encoding="utf-8")


def test_the_manual_and_readme_link_each_other() -> None:
    manual = MANUAL.read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    assert "docs/协调处室手册.md" in readme and "docs/命令参考.md" in readme
    for heading in ("每天早上", "登记", "未能自动登记", "名单", "重发", "plan.yaml"):
        assert heading in manual
    assert "STACK-NOTES" not in readme + manual
