"""Content-addressed storage of the files units send, under ``var/files/``."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from models.db import var_dir
from plan.errors import DubanError


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "sha256": self.sha256, "size": self.size}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_file(path: Path, root: Path | None = None) -> StoredFile:
    """Copy ``path`` to ``files/<aa>/<sha256>`` (once) and describe it."""
    if not path.is_file():
        raise DubanError(f"找不到文件 {path}", "检查文件路径")
    digest = sha256_of(path)
    target = (root or var_dir() / "files") / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
    return StoredFile(path.name, digest, path.stat().st_size)
