"""``duban status`` prints what main printed before its drawing was made faster (issue #13):
every form in tests/status_scenario.py, piped and at a terminal, line for line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.status_scenario import FORMS, GOLDEN, prepare, render


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_status_prints_the_golden_output_in_every_form(synced, cli, workdir: Path) -> None:
    prepare(cli, workdir)
    got = render(workdir)
    if os.environ.get("DUBAN_WRITE_STATUS_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(expected) == set(FORMS)
    # The scenario has every kind of row, so the comparison covers every way a row is drawn.
    printed = "\n".join(line for form in expected.values() for line in form["stdout"])
    for word in ("按时报送", "逾期报送", "已豁免", "已逾期", "即将到期", "⚑", "\x1b[", "    xuhui  work-plan"):
        assert word in printed, word
    assert "完成情况：已完成" in "\n".join(expected["unit with progress, terminal 60"]["stdout"])
    for name in FORMS:
        want, have = expected[name], got[name]
        assert have["exit"] == want["exit"] == 0, (name, have["stderr"])
        differing = [i for i, (a, b) in enumerate(zip(have["stdout"], want["stdout"], strict=False)) if a != b]
        first = differing[0] if differing else min(len(have["stdout"]), len(want["stdout"]))
        assert have["stdout"] == want["stdout"], (
            f"{name}: line {first + 1} differs:\n  now:    {have['stdout'][first:first + 1]!r}\n"
            f"  before: {want['stdout'][first:first + 1]!r}")
        assert have["stderr"] == want["stderr"], name
