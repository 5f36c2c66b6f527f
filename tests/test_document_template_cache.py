"""The empty GB/T 9704 document kept under var/cache between commands: a document written
from the kept template is byte for byte the one written from a freshly built template."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications import gbt9704
from notifications.gbt9704 import OfficialDocument
from notifications.supervision_docx import lay_out_sheet
from plan import plan_file
from tests.test_official_docs import sheet

STAMP = (2024, 7, 20, 9, 0, 0)


def written(path: Path, *, draft: bool) -> bytes:
    doc = OfficialDocument(draft=draft)
    lay_out_sheet(doc, sheet())
    return doc.save(path, date_time=STAMP).read_bytes()


@pytest.fixture
def var(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "var").mkdir()
    plan_file.set_cache_dir(tmp_path / "var" / "cache")
    gbt9704._template.cache_clear()
    yield tmp_path / "var"
    plan_file.set_cache_dir(None)
    gbt9704._template.cache_clear()


@pytest.mark.parametrize("draft", [False, True])
def test_a_later_command_writes_the_same_bytes_from_the_kept_template(
        var: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, draft: bool) -> None:
    built = written(tmp_path / "built.docx", draft=draft)
    kept = list((var / "cache").glob("gbt9704-*.pickle"))
    assert len(kept) == 1

    def refused(draft: bool) -> object:
        raise AssertionError("built again although var/cache holds the template")

    gbt9704._template.cache_clear()  # as in a new process
    monkeypatch.setattr(gbt9704, "_build_template", refused)
    assert written(tmp_path / "from-cache.docx", draft=draft) == built


def test_a_damaged_cache_is_rebuilt_and_no_var_means_no_cache(var: Path, tmp_path: Path) -> None:
    built = written(tmp_path / "built.docx", draft=False)
    (kept,) = (var / "cache").glob("gbt9704-*.pickle")
    kept.write_bytes(b"not a pickle")
    gbt9704._template.cache_clear()
    assert written(tmp_path / "again.docx", draft=False) == built
    assert kept.read_bytes() != b"not a pickle"  # written again whole
    plan_file.set_cache_dir(tmp_path / "elsewhere" / "cache")
    gbt9704._template.cache_clear()
    assert written(tmp_path / "no-cache.docx", draft=False) == built
    assert not (tmp_path / "elsewhere").exists()
