"""Files attached to an outbox message: frozen when queued, checked when sent.

A queued message stores each attachment as a path under var/ plus its sha256.  The file
is copied once, when the message is queued, into a folder of its own
(var/attachments/<message>/), so re-running the job that made it (which rewrites its
reports) cannot change what a retried message carries: every attempt sends the same
bytes.  If the frozen copy vanished or changed, sending refuses with a clear message
rather than mail something else.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.db import var_dir

TYPES = {".pdf": "application/pdf",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


class AttachmentError(Exception):
    """A frozen attachment is gone or no longer the file that was queued."""


@dataclass(frozen=True)
class Attachment:
    path: str  # relative to var/
    name: str  # the file name the recipient sees
    sha256: str
    content_type: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "name": self.name, "sha256": self.sha256,
                "content_type": self.content_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        return cls(str(data["path"]), str(data["name"]), str(data["sha256"]),
                   str(data["content_type"]))


def _folder_for(key: str) -> str:
    return "attachments/" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def plan_attachment(key: str, source: Path, name: str) -> tuple[Attachment, bytes]:
    """The attachment record for ``source`` in message ``key``, and the bytes to freeze."""
    data = source.read_bytes()
    content_type = TYPES.get(source.suffix.lower()) or mimetypes.guess_type(source.name)[0] \
        or "application/octet-stream"
    record = Attachment(f"{_folder_for(key)}/{source.name}", name,
                        hashlib.sha256(data).hexdigest(), content_type)
    return record, data


def freeze(record: Attachment, data: bytes) -> None:
    """Write the frozen copy (only for a message that was actually queued)."""
    target = var_dir() / record.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def read_checked(record: Attachment) -> bytes:
    """The attachment's bytes, if they are still the ones that were queued."""
    where = f"var/{record.path}"
    try:
        data = (var_dir() / record.path).read_bytes()
    except OSError:
        raise AttachmentError(f"附件「{record.name}」（{where}）不见了，拒绝发送缺附件的邮件；"
                              "恢复该文件后用 duban outbox retry 重发") from None
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise AttachmentError(f"附件「{record.name}」（{where}）在入队后被改动（sha256 不符），"
                              "拒绝发送与入队时不同的内容；恢复原文件后用 duban outbox retry 重发")
    return data
