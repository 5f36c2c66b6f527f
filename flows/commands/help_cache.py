"""``duban --help`` replayed from the text the last identical call printed.

Drawing the top-level help means importing every command module, typer's rich help
machinery (rich's markdown, syntax and traceback modules come with it) and laying out the
panels: ~0.3 s CPU for a page that is the same every time.  What it prints depends only on
the code (duban's and typer's, rich's, click's), on the terminal (is each standard stream a
terminal, its size, stdout's encoding) and on the environment variables rich and typer read
(width, colour, tty overrides).  :func:`fingerprint` covers all of those, so a cached page is
used only where drawing it afresh would print the same characters; anything else draws it.

The page is recorded while it is drawn (:class:`Recorder` on ``sys.stdout``) and kept under
``var/cache`` only when the call ended normally, printed nothing on stderr and wrote only
through ``write``.  This module imports nothing beyond the standard library, so a replay
costs about what ``python -c pass`` does.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any, TextIO

_DUBAN = Path(__file__).resolve().parents[2]
# Every package of duban: a help text may be built from a constant anywhere in them.
_PACKAGES = ("flows", "flows/commands", "flows/scheduling", "plan", "models", "notifications")
_LIBRARIES = ("typer", "rich", "click")
# What rich (Console: size, colour, tty detection; cells: UNICODE_VERSION for character widths)
# and typer (rich_utils, core) read from the environment, click's shell completion
# (``_DUBAN_COMPLETE``, COMP_WORDS: its output is not the help page), plus the locale and duban's
# own settings for good measure.
_ENV_NAMES = frozenset({
    "COLUMNS", "LINES", "JUPYTER_COLUMNS", "JUPYTER_LINES", "NO_COLOR", "FORCE_COLOR", "PY_COLORS",
    "GITHUB_ACTIONS", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM", "COLORTERM", "TERMINAL_WIDTH",
    "DATABRICKS_RUNTIME_VERSION", "UNICODE_VERSION", "LANG", "LANGUAGE", "PYTHONIOENCODING",
    "PYTHONUTF8",
})
_ENV_PREFIXES = ("TYPER", "_TYPER", "RICH", "CLICK", "DUBAN", "_DUBAN", "COMP_", "LC_")
_ENV_SUFFIXES = ("_COMPLETE",)  # click's completion switch, named after the program
_KEEP = 16  # pages kept: one per terminal size and setting in use, the oldest go


def _file_stamps(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            files = sorted((entry.name, entry.stat()) for entry in entries
                           if entry.name.endswith(".py") and entry.is_file())
    except OSError:
        return [f"{folder}:missing"]
    return [f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}" for name, stat in files]


def _library_stamps() -> list[str]:
    from importlib.util import find_spec  # finds the package's files, imports nothing of it

    stamps = []
    for name in _LIBRARIES:
        spec = find_spec(name)
        folder = os.path.dirname(spec.origin) if spec and spec.origin else None
        stamps += _file_stamps(folder) if folder else [f"{name}:absent"]
    return stamps


def _terminal() -> list[str]:
    parts = []
    for fd in (0, 1, 2):  # rich sizes the page from the first standard stream that answers
        try:
            size: Any = tuple(os.get_terminal_size(fd))
        except (OSError, ValueError):
            size = None
        try:
            tty = os.isatty(fd)
        except OSError:
            tty = None
        parts.append(f"fd{fd}:{tty}:{size}")
    stdout: Any = sys.stdout
    parts.append(f"stdout:{type(stdout).__name__}:{getattr(stdout, 'encoding', None)}:"
                 f"{getattr(stdout, 'errors', None)}")
    return parts


def fingerprint(args: tuple[str, ...]) -> str:
    """Changes whenever the help page for ``args`` might be drawn differently."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    # click names the program in the usage line after argv[0] (or ``python -m`` and the module)
    parts = [sys.version, sys.platform, repr(args), repr(sys.argv[0]), repr(getattr(spec, "name", None))]
    for package in _PACKAGES:
        parts += _file_stamps(str(_DUBAN / package))
    parts += _library_stamps()
    parts += _terminal()
    parts += sorted(f"{name}={value}" for name, value in os.environ.items()
                    if name in _ENV_NAMES or name.startswith(_ENV_PREFIXES)
                    or name.endswith(_ENV_SUFFIXES))
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def page_file(cache: Path, key: str) -> Path:
    return cache / f"help-{key}.txt"


def cached_page(cache: Path, key: str) -> str | None:
    try:
        return page_file(cache, key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def store_page(key: str, text: str) -> None:
    """Keep the page under var/cache (only inside an existing var/, as the plan cache);
    a cache that cannot be written is not an error."""
    import tempfile

    from plan.plan_file import cache_folder

    folder = cache_folder("")
    if folder is None:
        return
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=".help-",
                                         delete=False) as handle:
            handle.write(text)
        os.replace(handle.name, page_file(folder, key))
        pages = sorted(folder.glob("help-*.txt"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in pages[_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        return


class Recorder:
    """Passes everything to the stream it wraps and keeps what went through ``write``.
    Anything that reaches past it (its ``buffer``) makes the recording unusable."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.parts: list[str] = []
        self.bypassed = False

    def write(self, text: str) -> int:
        written = self._stream.write(text)  # click probes with b"" (TypeError): nothing written
        self.parts.append(text)
        return written

    def __getattr__(self, name: str) -> Any:
        if name in ("buffer", "writelines", "detach"):
            self.bypassed = True
        return getattr(self._stream, name)


class Recording:
    """Records stdout and stderr from now until :meth:`stop`; :meth:`store` keeps stdout's
    text as the page for ``key`` when nothing went to stderr or around the recorders."""

    def __init__(self) -> None:
        self.stdout, self.stderr = Recorder(sys.stdout), Recorder(sys.stderr)
        sys.stdout, sys.stderr = self.stdout, self.stderr

    def stop(self) -> None:
        sys.stdout, sys.stderr = self.stdout._stream, self.stderr._stream

    def store(self, key: str) -> None:
        if not self.stderr.parts and not self.stdout.bypassed and not self.stderr.bypassed:
            store_page(key, "".join(self.stdout.parts))
