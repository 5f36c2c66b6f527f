"""Compiled notice templates kept under var/cache: the same bytes as compiling afresh, and a
cache that cannot be written never stops a message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment

from notifications import gbt9704, render
from plan import plan_file
from plan.notice import Notice, ReceiptFile, ReceiptItem
from tests.test_notifications_samples import (
    PLAN_INFO,
    RUN_DATE,
    coordinator_list,
    interview_proposal,
    item,
    unit_notice,
)

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


def test_init_compiles_every_template_a_notice_uses(var: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``duban init`` prepares: afterwards no notice kind compiles anything."""
    from flows.commands.plan import prepare_caches

    monkeypatch.setattr(render, "_ENV", render._environment(render._bytecode_cache()))
    gbt9704._template.cache_clear()
    prepare_caches()
    folder = var / "cache" / f"templates-{render.TEMPLATE_VERSION}"
    assert len(list(folder.iterdir())) == render.precompile() == 17
    assert len(list((var / "cache").glob("gbt9704-*.pickle"))) == 2  # the document and the draft

    def compile_refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled although init prepared the templates")

    monkeypatch.setattr(render, "_ENV", render._environment(render._bytecode_cache()))
    monkeypatch.setattr(Environment, "compile", compile_refused)
    receipt = Notice(kind="receipt", run_date=RUN_DATE, to=("huangpu@example.org",), cc=(),
                     recipient_name="黄浦区知识产权局", unit_id="huangpu", items=(), plan=PLAN_INFO,
                     receipts=(ReceiptItem("half-year-summary", "2024年上半年工作总结",
                                           (ReceiptFile("总结.docx", "ab" * 32, "联系邮箱"),), ()),))
    for notice in (*NOTICES, receipt):
        render.render_notice(notice)
    gbt9704._template.cache_clear()


def test_a_process_renders_with_the_templates_it_started_with() -> None:
    """Stored notices name TEMPLATE_VERSION, read from the template files when duban starts;
    Jinja would otherwise look at each file's mtime on every render and pick up an edit made
    while a run is sending, under the version read at start."""
    assert render._ENV.auto_reload is False
    assert render._environment().auto_reload is False
