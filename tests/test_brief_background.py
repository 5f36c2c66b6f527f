"""The digest's PDF brief drawn by a second process while the digest writes its other files,
and drawn here instead whenever that process cannot do it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pypdf import PdfReader

from notifications import digest_pdf
from notifications.digest_pdf import BriefInBackground

HTML = "<html><body><h1>督办简报第3期</h1><p>未报送 12 件</p></body></html>"


def pdf_text(path: Path) -> str:
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_the_second_process_draws_the_pdf(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "reports" / "brief.pdf"
    with caplog.at_level(logging.WARNING, logger="duban.digest"), BriefInBackground(HTML, target) as drawing:
        assert drawing.result() == target
    assert "未报送 12 件" in pdf_text(target)
    assert caplog.records == []  # no fallback: the child drew it
    assert sorted(p.name for p in target.parent.iterdir()) == ["brief.pdf"]  # its HTML removed


def test_a_failing_second_process_leaves_the_brief_to_this_one(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest_pdf, "_CHILD", "import sys\nsys.exit('pango is missing')\n")
    target = tmp_path / "brief.pdf"
    with caplog.at_level(logging.WARNING, logger="duban.digest"), BriefInBackground(HTML, target) as drawing:
        drawing.result()
    assert "未报送 12 件" in pdf_text(target)
    assert [r.getMessage() for r in caplog.records] == [
        "简报 PDF 的子进程失败（退出码 1：pango is missing），改在本进程生成"]


def test_an_error_elsewhere_stops_the_second_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digest_pdf, "_CHILD", "import time\ntime.sleep(60)\n")
    target = tmp_path / "brief.pdf"
    with pytest.raises(RuntimeError), BriefInBackground(HTML, target) as drawing:
        raise RuntimeError("the workbook could not be written")
    child = drawing._child
    assert child is not None and child.returncode is not None  # killed, not left running
    assert list(tmp_path.iterdir()) == []
