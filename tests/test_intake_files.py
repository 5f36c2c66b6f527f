"""Integrity of every format a unit sends, and the containers intake opens (pure file checks)."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import pytest

from plan.intake_convert import INSTALL_HINT, to_xlsx
from plan.intake_errors import FileRefused
from plan.intake_files import OLE_MAGIC, check_file
from plan.intake_rules import ignorable
from plan.intake_unpack import unpack_eml, unpack_zip

OLE = OLE_MAGIC + b"\0" * 1024


def _refusal(path: Path) -> str:
    with pytest.raises(FileRefused) as caught:
        check_file(path, name=path.name)
    return caught.value.reason


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("a.doc", b"", "是空文件（0 字节）\n  提示：请对方重新发送完整的文件（邮件附件可能没有下载完整）"),
    ("a.wps", b"hello world" * 100, "文件内容不是 .wps 格式（文件头不符），可能已损坏或改了扩展名\n"
                                    "  提示：请用 Office/WPS 打开确认后重新保存并发送"),
    ("a.et", OLE_MAGIC + b"\0" * 10, "只有 18 字节，小于该类文件的最小合理大小（512 字节），不是完整的文件\n"
                                     "  提示：请对方重新导出并完整发送该文件"),
    ("a.ofd", b"%PDF-1.4" + b"\0" * 200, "文件内容不是 .ofd 格式（不是 zip 包），可能已损坏或改了扩展名\n"
                                         "  提示：请对方重新导出并完整发送该文件"),
    ("a.zip", b"PK\x05\x06" + b"\0" * 18, "文件内容不是 .zip 格式（不是 zip 包），可能已损坏或改了扩展名\n"
                                          "  提示：请对方重新导出并完整发送该文件"),
    ("a.eml", b"just some text, no headers at all\n" * 4,
     "不是有效的邮件文件（.eml 中没有邮件头）\n  提示：请在邮箱中把原邮件另存为 .eml，或直接保存其中的附件"),
    ("a.txt", b"x" * 200,
     "是不接收的文件类型（.txt）\n"
     "  提示：报送材料请用 .docx/.doc/.wps/.pdf/.ofd，统计表用 .xlsx/.xls/.et/.ods，可打包为 .zip"),
])
def test_every_format_is_checked(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert _refusal(path) == reason


def test_real_legacy_containers_pass(tmp_path: Path) -> None:
    for name in ("a.doc", "a.wps", "a.et", "a.xls"):
        (tmp_path / name).write_bytes(OLE)
        check_file(tmp_path / name, name=name)


def test_empty_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("folder/", "")
    assert _refusal(path) == "压缩包是空的，里面没有文件\n  提示：请对方把报送材料放进压缩包后重新发送"


@pytest.mark.parametrize("name", ["半年总结.pdf.tmp", "~$半年总结.docx", "x.part", "y.crdownload", ".DS_Store"])
def test_partial_and_lock_files_are_ignored(name: str) -> None:
    assert ignorable(name)


def test_zip_members_keep_gbk_names_and_bombs_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    buffer = io.BytesIO()
    gbk = "浦东新区半年总结.pdf".encode("gbk")
    placeholder = b"A" * (len(gbk) - 4) + b".pdf"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(placeholder.decode(), b"%PDF-1.4 x %%EOF")
    # As Chinese Windows writes it: the name in GBK bytes, without the UTF-8 flag.
    path.write_bytes(buffer.getvalue().replace(placeholder, gbk))
    [member] = unpack_zip(path, name="a.zip", into=tmp_path / "out", limit=10_000)
    assert member.name == "浦东新区半年总结.pdf"

    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.pdf", b"\0" * 5_000_000)
    with pytest.raises(FileRefused) as caught:
        unpack_zip(tmp_path / "bomb.zip", name="bomb.zip", into=tmp_path / "out2", limit=20_000_000)
    assert caught.value.reason == ("压缩包解压后过大或压缩比异常，不予解压\n"
                                   "  提示：请直接发送报送材料本身，或只打包报送材料")


def test_eml_attachment_names_in_gbk_decode(tmp_path: Path) -> None:
    raw = ("From: yangpu@example.org\r\nSubject: =?GBK?B?" + base64.b64encode(
        "杨浦区半年总结".encode("gbk")).decode() + "?=\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"=?GBK?B?"
        + base64.b64encode("杨浦区上半年工作总结.pdf".encode("gbk")).decode()
        + "?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--XX--\r\n")
    path = tmp_path / "m.eml"
    path.write_bytes(raw.encode("ascii"))
    subject, sender, [member] = unpack_eml(path, name="m.eml", into=tmp_path / "out", limit=10_000)
    assert (subject, sender, member.name) == ("杨浦区半年总结", "yangpu@example.org", "杨浦区上半年工作总结.pdf")
    assert member.path.read_bytes() == b"%PDF-1.4"


def test_eml_with_raw_gbk_headers_decodes_like_the_mailbox(tmp_path: Path) -> None:
    """Old clients write GBK bytes straight into headers; the inbox reads a saved mail with the
    contact mailbox's own parser, so both decode it alike."""
    raw = ("From: yangpu@example.org\r\nSubject: 杨浦区半年总结\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
           "--XX\r\nContent-Type: application/pdf; name=\"杨浦区上半年工作总结.pdf\"\r\n"
           "Content-Disposition: attachment; filename=\"杨浦区上半年工作总结.pdf\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--XX--\r\n").encode("gbk")
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    subject, sender, [member] = unpack_eml(path, name="m.eml", into=tmp_path / "out", limit=10_000)
    assert (subject, sender, member.name) == ("杨浦区半年总结", "yangpu@example.org", "杨浦区上半年工作总结.pdf")


def test_without_libreoffice_legacy_sheets_are_refused_with_the_instruction(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice here
    (tmp_path / "a.xls").write_bytes(OLE)
    with pytest.raises(FileRefused) as caught:
        to_xlsx(tmp_path / "a.xls", name="青浦区统计表.xls", outdir=tmp_path / "out")
    assert caught.value.reason == ("是 .xls 表格，需要 LibreOffice 转换为 .xlsx 才能读取，但本机没有安装 LibreOffice"
                                   "（soffice --headless --convert-to xlsx）\n  提示：" + INSTALL_HINT)
