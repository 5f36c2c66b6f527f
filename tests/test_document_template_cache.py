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


def test_a_warm_cache_writes_documents_without_python_docx(var: Path, tmp_path: Path) -> None:
    """python-docx builds the empty document only; a command that finds it kept (every
    command after ``duban init``) writes its 督办单 without importing python-docx, which
    was ~0.09 s of each daily sweep that writes one."""
    import pickle
    import subprocess
    import sys

    built = written(tmp_path / "built.docx", draft=False)
    (tmp_path / "sheet.pickle").write_bytes(pickle.dumps(sheet()))  # this test module imports docx
    script = ("import sys\n"
              "from pathlib import Path\n"
              "from plan import plan_file\n"
              f"plan_file.set_cache_dir(Path({str(var / 'cache')!r}))\n"
              "from notifications.gbt9704 import OfficialDocument\n"
              "from notifications.supervision_docx import lay_out_sheet\n"
              "import pickle\n"
              "doc = OfficialDocument(draft=False)\n"
              f"lay_out_sheet(doc, pickle.loads(Path({str(tmp_path / 'sheet.pickle')!r}).read_bytes()))\n"
              f"doc.save(Path({str(tmp_path / 'child.docx')!r}), date_time={STAMP!r})\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docx', 'lxml')))\n")
    root = Path(__file__).resolve().parents[1]
    child = subprocess.run([sys.executable, "-c", script], cwd=root, check=True, capture_output=True, text=True)
    assert child.stdout.strip() == "[]"
    assert (tmp_path / "child.docx").read_bytes() == built
