"""Render and build the next messages in a helper process while this one sends (issue #13).

Sending is a wait for the server's replies; rendering a stored notice and joining its bytes
is CPU work of about the same size.  For a batch of at least :data:`BUILD_AHEAD_FROM`
messages one helper process (``forkserver`` context: a fresh interpreter, nothing of this
process's database connections or threads is inherited) renders and builds them in order
while the main process sends what is ready.  Smaller batches, where starting the helper
costs more than it saves, build in this process.

Nothing here touches the database or the server: the helper returns a :class:`Built` per
row, in the rows' order, and the main process still decides, sends and records each one.
If the helper fails in any way (it died, a row would not pickle, the platform has no
``forkserver``), the rest of the run builds in this process, with a warning in the log;
the messages and their order are the same either way.

This module must not import :mod:`notifications.delivery` (SQLAlchemy, the models): the
helper imports it to find :func:`build_all`.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from notifications.compose import address_problem, outgoing
from notifications.failures import PermanentFailure
from notifications.mime import Outgoing, build_message

log = logging.getLogger("duban.delivery")

# Measured on 2 cores (bench/RESULTS.md): starting the helper costs ~0.3-0.5 s of a
# second interpreter importing Jinja2 and the templates, about what 300 messages spend
# rendering and building.
BUILD_AHEAD_FROM = 300
# Rows per round trip to the helper: enough to amortise pickling, small enough that the
# first messages are ready soon.
CHUNK = 25
# While a new helper starts, this process builds the first messages itself.
HEAD = 40


@dataclass(frozen=True)
class Built:
    """One row, ready: its message and wire bytes, or why it can never be sent."""

    row_id: int
    message: Outgoing | None
    data: bytes | None
    failure: str | None = None  # a permanent failure (cannot be rendered or built)


def build(row: Any) -> Built:
    """Render (a stored notice), check the addresses of and build one claimed row (any
    object with its columns)."""
    try:
        message = outgoing(row)
    except Exception as exc:  # a stored notice that cannot be rendered never will be
        return Built(row.id or 0, None, None, f"邮件内容无法生成：{type(exc).__name__}: {exc}")
    problem = address_problem(message)
    if problem is not None:  # fails alone; the rest of the run goes on
        return Built(message.id, None, None, problem)
    try:
        data = build_message(message)
    except PermanentFailure as failure:  # e.g. an attachment's frozen copy is missing
        return Built(message.id, message, None, failure.message)
    # Parsed here, so the copy the sender unpickles carries them (cached properties).
    message.from_address, message.recipients  # noqa: B018
    return Built(message.id, message, data)


def build_all(rows: Sequence[Any], builder: Callable[[Any], Built] = build) -> list[Built]:
    """A chunk of rows, built in the helper."""
    return [builder(row) for row in rows]


def _adopt_environment(environ: dict[str, str]) -> None:
    # The forkserver was started once, perhaps under another DUBAN_VAR (tests change it
    # per test): the helper reads attachments and templates under this run's settings.
    os.environ.clear()
    os.environ.update(environ)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start the helper without re-running the caller's main script in it.

    multiprocessing imports the parent's ``__main__`` (by module name or file path) in every
    new process; a script without an ``if __name__ == "__main__"`` guard that delivers at top
    level would then deliver again from inside the helper, a second sender.  The helper needs
    nothing from ``__main__``, so while it starts, ``__main__`` names neither.
    """
    main = sys.modules["__main__"]
    saved: dict[str, Any] = {name: main.__dict__[name] for name in ("__spec__", "__file__")
                             if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class Builder:
    """Yields a :class:`Built` for each row, in order; ahead in a helper process for large
    batches.  One helper for the whole run; :meth:`close` stops it.

    ``remote`` is what the helper runs per row (tests pass a builder that fails there).
    """

    def __init__(self, *, remote: Callable[[Any], Built] = build,
                 threshold: int | None = None) -> None:
        self._remote = remote
        self._threshold = threshold
        self._executor: Executor | None = None
        self._broken = False

    def built(self, rows: Sequence[Any]) -> Iterator[Built]:
        threshold = BUILD_AHEAD_FROM if self._threshold is None else self._threshold
        if len(rows) < threshold or self._broken:
            yield from map(build, rows)
            return
        head = HEAD if self._executor is None else 0
        try:
            executor = self._start()
            chunks = [rows[i:i + CHUNK] for i in range(head, len(rows), CHUNK)]
            with _main_module_hidden():  # the helper process starts on the first map
                results = executor.map(build_all, chunks, [self._remote] * len(chunks))
        except Exception as exc:  # e.g. no forkserver on this platform
            self._fall_back(exc, len(rows))
            yield from map(build, rows)
            return
        yield from map(build, rows[:head])  # while the helper starts
        done = head
        try:
            for chunk in results:
                for item in chunk:
                    yield item
                    done += 1
        except Exception as exc:  # only the helper's failures arrive here
            self._fall_back(exc, len(rows) - done)
            yield from map(build, rows[done:])

    def _fall_back(self, exc: Exception, left: int) -> None:
        log.warning("后台组装邮件的辅助进程出错（%s: %s），余下的 %d 封邮件改在主进程组装",
                    type(exc).__name__, exc, left)
        self._broken = True
        self.close()

    def _start(self) -> Executor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("forkserver"),
                initializer=_adopt_environment, initargs=(dict(os.environ),))
        return self._executor

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
