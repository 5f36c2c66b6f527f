"""A minimal ZIP writer for packages whose parts are mostly fixed (the .docx documents).

``zipfile`` deflates every member again on every write; a sweep writes ~1,000 督办单 whose
parts are the same but for word/document.xml, and deflating the unchanged ~0.8 MB of
styles was a fifth of each document's time.  Here each member is deflated once
(:func:`deflated`) and the archive is laid out from those bytes (:func:`archive`).

The archive is byte for byte what ``zipfile.ZipFile(path, "w", ZIP_DEFLATED)`` writes for
the same members with ``writestr`` at the same second (tests/test_zip_package.py compares
the two): the same compressor (zlib, default level, raw deflate), local headers, central
directory and end record.  No ZIP64: a member or archive near 4 GB is refused.
"""

from __future__ import annotations

import struct
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile.structCentralDir
_END = struct.Struct("<4s4H2LH")  # zipfile.structEndArchive
_VERSION = 20  # zipfile.DEFAULT_VERSION: deflate needs 2.0
_DEFLATED = 8
_UTF8_NAME = 0x800
_CREATE_SYSTEM = 0 if sys.platform == "win32" else 3
_EXTERNAL_ATTR = 0o600 << 16  # what ZipFile.writestr gives a file member
_LIMIT = (1 << 31) - 1  # zipfile.ZIP64_LIMIT: beyond it zipfile would write ZIP64 records


@dataclass(frozen=True)
class Member:
    """One archive member, already deflated."""

    name: str
    crc: int
    size: int  # uncompressed
    data: bytes  # raw deflate stream


def deflated(name: str, blob: bytes) -> Member:
    """Deflate ``blob`` as zipfile does (one compress call, then flush)."""
    if len(blob) * 1.05 > _LIMIT:
        raise ValueError(f"{name}: {len(blob)} bytes would need ZIP64")
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    data = compressor.compress(blob) + compressor.flush()
    return Member(name, zlib.crc32(blob), len(blob), data)


def _name(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME


def archive(members: Sequence[Member], date_time: tuple[int, int, int, int, int, int] | None = None) -> bytes:
    """The ZIP archive of ``members`` in order, each stamped ``date_time`` (local time now,
    to the second, as zipfile's writestr stamps it, when not given)."""
    year, month, day, hour, minute, second = date_time or time.localtime(time.time())[:6]
    dosdate = (year - 1980) << 9 | month << 5 | day
    dostime = hour << 11 | minute << 5 | second // 2
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for member in members:
        name, flags = _name(member.name)
        header = _LOCAL.pack(b"PK\003\004", _VERSION, 0, flags, _DEFLATED, dostime, dosdate, member.crc,
                             len(member.data), member.size, len(name), 0)
        central.append(_CENTRAL.pack(b"PK\001\002", _VERSION, _CREATE_SYSTEM, _VERSION, 0, flags, _DEFLATED,
                                     dostime, dosdate, member.crc, len(member.data), member.size, len(name),
                                     0, 0, 0, 0, _EXTERNAL_ATTR, offset) + name)
        out += (header, name, member.data)
        offset += len(header) + len(name) + len(member.data)
        if offset > _LIMIT:
            raise ValueError("archive would need ZIP64")
    directory = b"".join(central)
    end = _END.pack(b"PK\005\006", 0, 0, len(central), len(central), len(directory), offset, 0)
    return b"".join(out) + directory + end
