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
