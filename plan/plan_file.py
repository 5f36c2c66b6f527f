"""Reading plan.yaml's bytes, and the cache of parsed plans that lets commands skip parsing.

Every command loads the plan; parsing and validating the 617-entry plan, with the YAML
parser and the cross-checks imported for it, is ~0.1 s of a read-only command's ~0.4 s
budget.  The CLI turns the cache on (:func:`set_cache_dir`, under ``var/cache``); library
callers and tests that do not ask for it always parse.

A cached plan is used only when the file's bytes hash to the same SHA-256 *and* the code
that built it is the same (the ``plan`` package's files, Python and pydantic versions), so
an edited plan.yaml or an upgraded duban is always parsed afresh.  Plans with errors are
never cached: their report is always made from the file.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from plan.errors import PlanError, Problem

_PLAN_PACKAGE = Path(__file__).parent
_cache_dir: Path | None = None


def set_cache_dir(path: Path | None) -> None:
    """Where parsed plans are kept; None (the default) turns the cache off."""
    global _cache_dir
    _cache_dir = path


def cache_folder(name: str) -> Path | None:
    """``name`` under the cache :func:`set_cache_dir` turned on, created if need be; None when
    the cache is off, lies outside an existing var/ (nothing is created elsewhere), or the
    folder cannot be made.  For the other caches kept beside the plans."""
    if _cache_dir is None or not _cache_dir.parent.is_dir():
        return None
    folder = _cache_dir / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def read_plan_bytes(path: Path, display: str | None = None) -> bytes:
    """The file's bytes; a missing or unreadable file is a :class:`PlanError`."""
    file = display or str(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PlanError([Problem(file, 1, 1, "(文件)", "找不到这个文件",
                                 "检查路径，或在项目根目录运行（默认读取 ./plan.yaml）")]) from None
    except OSError as err:
        raise PlanError([Problem(file, 1, 1, "(文件)", f"无法读取文件：{err.strerror}",
                                 "检查文件权限")]) from None


def _code_version() -> str:
    """Changes whenever the code that turns plan.yaml into a Plan may have changed."""
    import pydantic

    parts = [sys.version, pydantic.VERSION]
    for source in sorted(_PLAN_PACKAGE.glob("*.py")):
        stat = source.stat()
        parts.append(f"{source.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "\n".join(parts)


def source_sha256(raw: bytes) -> str:
    """The plan file's own fingerprint (its bytes, nothing else)."""
    return hashlib.sha256(raw).hexdigest()


def cache_key(raw: bytes, display: str) -> str:
    digest = hashlib.sha256(raw)
    digest.update(b"\0" + display.encode() + b"\0" + _code_version().encode())
    return digest.hexdigest()


def _cache_file(resolved: Path) -> Path | None:
    if _cache_dir is None:
        return None
    name = hashlib.sha256(str(resolved).encode()).hexdigest()[:20]
    return _cache_dir / f"plan-{name}.pickle"


def cached_plan(resolved: Path, key: str) -> Any | None:
    """The plan stored for this file under ``key``, or None (no cache, stale, unreadable)."""
    file = _cache_file(resolved)
    if file is None:
        return None
    try:
        stored_key, plan = pickle.loads(file.read_bytes())
    except Exception:  # missing, truncated, or pickled by code that no longer matches: parse
        return None
    return plan if stored_key == key else None


def store_plan(resolved: Path, key: str, plan: Any) -> None:
    """Keep ``plan`` for the next command; a cache that cannot be written is not an error."""
    file = _cache_file(resolved)
    # Only inside an existing var/: checking a plan elsewhere must not create folders there.
    if file is None or not file.parent.parent.is_dir():
        return
    try:
        file.parent.mkdir(exist_ok=True)
        # Written whole then renamed: a concurrent reader sees the old file or the new one.
        with tempfile.NamedTemporaryFile(dir=file.parent, prefix=".plan-", delete=False) as handle:
            handle.write(pickle.dumps((key, plan), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(handle.name, file)
    except OSError:
        return
