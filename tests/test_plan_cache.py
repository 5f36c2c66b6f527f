"""The parsed-plan cache the CLI turns on: used only for the same bytes parsed by the same
code, invalidated by any edit of plan.yaml, never holding a plan with errors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plan import PlanError, load_plan, loader, plan_file

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def cached(tmp_path: Path) -> Iterator[Path]:
    """plan.yaml in a folder with var/, the cache on under var/cache."""
    shutil.copy(ROOT / "plan.yaml", tmp_path / "plan.yaml")
    (tmp_path / "var").mkdir()
    plan_file.set_cache_dir(tmp_path / "var" / "cache")
    yield tmp_path / "plan.yaml"
    plan_file.set_cache_dir(None)


def refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(*_: object) -> None:
        raise AssertionError("plan parsed although the cache holds it")
    monkeypatch.setattr(loader, "validate_source", parse)


def test_an_unchanged_plan_comes_from_the_cache(cached: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_plan(cached)
    assert list((cached.parent / "var" / "cache").glob("plan-*.pickle"))
    refuse_parsing(monkeypatch)
    again = load_plan(cached)
    assert again.units.keys() == first.units.keys()
    assert again.units["huangpu"].name == "黄浦区知识产权局"
    assert len(list(again.obligations())) == len(list(first.obligations()))
    assert again.warnings == first.warnings
    assert again.path == cached.resolve()


def test_an_edited_plan_is_parsed_again(cached: Path) -> None:
    load_plan(cached)
    text = cached.read_text(encoding="utf-8")
    cached.write_text(text.replace("name: 黄浦区知识产权局", "name: 黄浦区知识产权处", 1), encoding="utf-8")
    assert load_plan(cached).units["huangpu"].name == "黄浦区知识产权处"


def test_same_size_and_time_but_other_bytes_is_parsed_again(cached: Path) -> None:
    load_plan(cached)
    stat = cached.stat()
    text = cached.read_text(encoding="utf-8")
    edited = text.replace("name: 黄浦区知识产权局", "name: 黄浦区知识产权处", 1)
    assert len(edited.encode()) == stat.st_size
    cached.write_text(edited, encoding="utf-8")
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # an editor that keeps the time
    assert load_plan(cached).units["huangpu"].name == "黄浦区知识产权处"


def test_a_plan_with_errors_is_reported_every_time(cached: Path) -> None:
    load_plan(cached)
    text = cached.read_text(encoding="utf-8")
    cached.write_text(text.replace("kind: district", "kind: distrikt", 1), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PlanError) as raised:
            load_plan(cached)
        assert "distrikt" in str(raised.value.problems)
    cached.write_text(text, encoding="utf-8")  # fixed again: the old cached plan is good again
    assert load_plan(cached).units["huangpu"].kind == "district"


def test_a_damaged_cache_file_is_ignored(cached: Path) -> None:
    load_plan(cached)
    for stored in (cached.parent / "var" / "cache").glob("plan-*.pickle"):
        stored.write_bytes(b"not a pickle")
    assert load_plan(cached).units["huangpu"].name == "黄浦区知识产权局"


def test_no_cache_folder_is_made_outside_a_working_directory(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plan.yaml", tmp_path / "plan.yaml")
    plan_file.set_cache_dir(tmp_path / "var" / "cache")
    try:
        load_plan(tmp_path / "plan.yaml")
    finally:
        plan_file.set_cache_dir(None)
    assert not (tmp_path / "var").exists()
