"""Opening containers units send: ``.zip`` archives and saved mails (``.eml``).

Each member or attachment comes out as its own file, to go through the same checks and
identification as a file dropped in the inbox.  Limits keep a hostile archive from
filling the disk (zip bomb): member count, total unpacked size, compression ratio, and
nesting depth 1 (a zip inside a zip, or inside a mail, is not opened again).
"""

from __future__ import annotations

import contextlib
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from plan.intake_errors import refuse
from plan.intake_rules import unsafe_name
from plan.mail_parse import clean_subject, parse_message

MAX_MEMBERS = 50
MAX_RATIO = 100  # a real document compresses 2–10×; 100× is a bomb


@dataclass(frozen=True)
class Member:
    name: str  # the member's own file name (no folders)
    path: Path  # where it was written
    origin: str  # Chinese: 压缩包 x.zip / 邮件 y.eml


def _zip_name(info: zipfile.ZipInfo) -> str:
    """Member name as the sender's machine wrote it: Chinese Windows zips names in GBK
    without the UTF-8 flag, which Python reads as cp437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("gb18030")
    return name


def unpack_zip(path: Path, *, name: str, into: Path, limit: int) -> list[Member]:
    """Members of a checked .zip (folders flattened), written under ``into``."""
    out: list[Member] = []
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_MEMBERS:
            raise refuse(name, f"压缩包内有 {len(infos)} 个文件，超过上限 {MAX_MEMBERS} 个",
                         "请只打包本次报送的材料")
        total = sum(i.file_size for i in infos)
        if total > limit or any(i.compress_size and i.file_size / i.compress_size > MAX_RATIO for i in infos):
            raise refuse(name, "压缩包解压后过大或压缩比异常，不予解压",
                         "请直接发送报送材料本身，或只打包报送材料")
        for i, info in enumerate(infos):
            member = PurePath(_zip_name(info).replace("\\", "/")).name
            if not member or unsafe_name(member):
                continue
            target = into / f"{i:02d}" / member
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src:
                data = src.read(limit + 1)
            target.write_bytes(data)
            out.append(Member(member, target, f"压缩包 {PurePath(name).name}"))
    return out


def unpack_eml(path: Path, *, name: str, into: Path, limit: int) -> tuple[str, str, list[Member]]:
    """(subject, sender address, attachments) of a saved mail, decoded by the same parser as the
    contact mailbox (GBK/GB18030 headers and names, forwarded messages opened)."""
    parsed = parse_message(path.read_bytes())
    out: list[Member] = []
    for i, attachment in enumerate(parsed.attachments):
        member = PurePath(attachment.name.replace("\\", "/")).name
        if not member or unsafe_name(member):
            continue
        if len(attachment.data) > limit:
            raise refuse(name, f"邮件附件「{member}」超过大小上限", "请压缩或拆分后重新报送")
        target = into / f"{i:02d}" / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(attachment.data)
        out.append(Member(member, target, f"邮件 {PurePath(name).name}"))
    return clean_subject(parsed.subject), parsed.sender, out
