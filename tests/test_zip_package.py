"""notifications.zip_package lays out an archive from members deflated once; it must be
the archive zipfile writes for the same members, byte for byte."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from notifications.zip_package import archive, deflated

STAMP = (2024, 7, 8, 9, 30, 14)  # DOS time: even seconds
MEMBERS = [("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'), ("empty.txt", b""),
           ("word/styles.xml", b"<w:style/>" * 5000), ("附件/说明.txt", "督办单".encode() * 100),
           ("random.bin", bytes(range(256)) * 64)]


def zipfile_bytes(members: list[tuple[str, bytes]], stamp: tuple[int, int, int, int, int, int]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, blob in members:
            package.writestr(zipfile.ZipInfo(name, stamp), blob, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


@pytest.mark.parametrize("stamp", [STAMP, (1980, 1, 1, 0, 0, 0), (2107, 12, 31, 23, 59, 58)])
def test_archive_is_what_zipfile_writes(stamp):
    ours = archive([deflated(name, blob) for name, blob in MEMBERS], stamp)
    assert ours == zipfile_bytes(MEMBERS, stamp)
    with zipfile.ZipFile(io.BytesIO(ours)) as package:
        assert package.testzip() is None
        assert [(i.filename, i.date_time) for i in package.infolist()] == [(n, stamp) for n, _ in MEMBERS]
        assert [package.read(name) for name, _ in MEMBERS] == [blob for _, blob in MEMBERS]


def test_archive_without_a_stamp_is_stamped_now():
    def dos(stamp: tuple[int, ...]) -> tuple[int, ...]:
        return (*stamp[:5], stamp[5] // 2 * 2)

    before = time.localtime(time.time())[:6]
    ours = archive([deflated(name, blob) for name, blob in MEMBERS[:2]])
    after = time.localtime(time.time())[:6]
    with zipfile.ZipFile(io.BytesIO(ours)) as package:
        (stamp,) = {i.date_time for i in package.infolist()}
        assert dos(before) <= stamp <= dos(after)
        assert [i.external_attr for i in package.infolist()] == [0o600 << 16] * 2  # writestr's rw-------
    assert ours == zipfile_bytes(MEMBERS[:2], stamp)


def test_an_empty_archive_is_what_zipfile_writes():
    assert archive([], STAMP) == zipfile_bytes([], STAMP)
