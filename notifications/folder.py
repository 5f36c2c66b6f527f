"""The embedded default transport: each message as an ``.eml`` file in ``var/outbox/``."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from notifications.failures import Accepted, TemporaryFailure
from notifications.mime import Outgoing, build_message

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def eml_name(key: str) -> str:
    """A file name for a key: safe characters only, unique through a hash suffix."""
    readable = _UNSAFE.sub("_", key.replace("@", "_at_")).strip("._")[:120]
    return f"{readable}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}.eml"


class FolderTransport:
    """Writes each message as ``<folder>/<key>.eml`` — the embedded default.

    The file appears whole or not at all (written to a temporary name, synced, then
    linked into place); a message whose file already exists is not written again.
    """

    name = "folder"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"FolderTransport({str(self.folder)!r})"

    def path_for(self, message: Outgoing) -> Path:
        return self.folder / eml_name(message.key)

    def send(self, message: Outgoing, data: bytes | None = None) -> Accepted:
        target = self.path_for(message)
        if target.exists():
            return Accepted()
        data = data if data is not None else build_message(message)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = self.folder / f".{target.name}.{os.getpid()}.tmp"
            with temp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp, target)  # fails if another run wrote it first: keep theirs
            except FileExistsError:
                pass
            except OSError:
                if not target.exists():
                    os.replace(temp, target)
            finally:
                temp.unlink(missing_ok=True)
        except OSError as exc:
            raise TemporaryFailure(f"无法写入 {target}：{exc.strerror or exc}") from None
        return Accepted()

    def close(self) -> None:
        return None
