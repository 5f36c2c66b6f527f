"""Compiled notice templates kept under var/cache: the same bytes as compiling afresh, and a
cache that cannot be written never stops a message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment

from notifications import render
from plan import plan_file
from tests.test_notifications_samples import coordinator_list, interview_proposal, item, unit_notice

NOTICES = (unit_notice(item("remind", days=3), item("chase", days=2), item("supervise", days=6)),
           coordinator_list(item("supervise", days=6)), interview_proposal(item("interview", days=12)))


@pytest.fixture
def var(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "var").mkdir()
    plan_file.set_cache_dir(tmp_path / "var" / "cache")
    yield tmp_path / "var"
    plan_file.set_cache_dir(None)


def rendered_with(monkeypatch: pytest.MonkeyPatch, env: Environment) -> list[render.Rendered]:
    monkeypatch.setattr(render, "_ENV", env)
    return [render.render_notice(notice) for notice in NOTICES]


def test_a_second_process_renders_from_the_cache_the_same_bytes(var: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = [render.render_notice(notice) for notice in NOTICES]  # no cache in tests by default
    first = rendered_with(monkeypatch, render._environment(render._bytecode_cache()))
    folder = var / "cache" / f"templates-{render.TEMPLATE_VERSION}"
    stored = sorted(folder.iterdir())
    assert len(stored) >= 9 and all(p.stat().st_size > 0 for p in stored)

    def compile_refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled although the cache holds the template")

    second_env = render._environment(render._bytecode_cache())
    monkeypatch.setattr(Environment, "compile", compile_refused)
    second = rendered_with(monkeypatch, second_env)
    assert first == fresh and second == fresh


def test_off_without_var_and_never_an_error_when_it_cannot_be_written(
        tmp_path: Path, var: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = render._bytecode_cache()
    assert cache is not None
    folder = var / "cache" / f"templates-{render.TEMPLATE_VERSION}"
    folder.rmdir()  # the temporary file cannot be created: an OSError inside Jinja's writer
    assert rendered_with(monkeypatch, render._environment(cache)) == [render.render_notice(n) for n in NOTICES]
    plan_file.set_cache_dir(tmp_path / "elsewhere" / "cache")  # no var/ there: nothing created
    assert render._bytecode_cache() is None and not (tmp_path / "elsewhere").exists()
