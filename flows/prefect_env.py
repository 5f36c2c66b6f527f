"""Quiet, local defaults for Prefect, applied before Prefect is first imported.

Measured in STACK-NOTES: these keep a normal run free of telemetry tracebacks and
"Error flushing events" noise.  A value the user already set always wins.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.util
import logging
import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from models.db import var_dir

T = TypeVar("T")

PREFECT_STARTUP_TIMEOUT = 60  # seconds a local Prefect server may take to answer
PREFECT_LOGGERS = {"prefect", "uvicorn", "fastapi", "alembic"}  # alembic: Prefect's own DB
QUIET_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(PREFECT_STARTUP_TIMEOUT),
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
}


def configure_prefect() -> None:
    os.environ.setdefault("PREFECT_HOME", str((var_dir() / "prefect").resolve()))
    # Prefect cannot create a home whose parent is missing (a fresh folder without var/):
    # its local server would then time out after a minute.
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    for key, value in QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)
    # A running ``duban serve``/``duban api`` spares this command Prefect's server start.
    from flows.prefect_api import adopt_warm_api

    adopt_warm_api()
    _watch_for_server_module()


def run_in_foreground(flow: Callable[..., T], **parameters: Any) -> T:
    """Run ``flow`` here and wait for it, as ``duban run``/``digest``/``evaluate`` do.

    Such a run sends no flow-run heartbeats unless the user set a frequency
    (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``, in the environment or a Prefect profile).
    Heartbeats let Prefect detect a deployment's run whose worker died; a command in the
    foreground has its own exit status for that.  Prefect's heartbeat thread sleeps in
    one-second steps and the engine joins it when the flow ends, so every run waited up to a
    second after its work was done (0.96 s for an empty flow).  Deployments run by Prefect
    workers do not come through here and keep Prefect's default.
    """
    from flows.prefect_local import wait_for_local_api

    wait_for_local_api()  # the command's own local API, if it started one (flows.prefect_local)
    from prefect.settings import get_current_settings, temporary_settings

    if "heartbeat_frequency" in get_current_settings().flows.model_fields_set:
        return flow(**parameters)
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        return flow(**parameters)


# --- the ephemeral Prefect server's lifecycle ---------------------------------------------
# Prefect starts a local API server (uvicorn) in a child process on the first flow run, unless
# the command started one itself (run/digest/evaluate: flows.prefect_local, same lock).  Two
# things go wrong with it (issue #11): two first runs at once both migrate Prefect's SQLite
# database and one times out; and a ``kill -9`` of duban leaves the child running.  We
# patch Prefect's server class when (and only when) Prefect imports it — importing it
# ourselves would cost every command ~5 s: its start is serialised across processes with a
# file lock in PREFECT_HOME, and its process gets SIGTERM when duban dies (Linux).
_SERVER_MODULE = "prefect.server.api.server"
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Runs in the child between fork and exec: ask the kernel for SIGTERM on our death."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl: nobody will send it
        os._exit(1)


def start_lock_path() -> Path:
    """The lock that serialises local Prefect server starts across processes."""
    return Path(os.environ.get("PREFECT_HOME", var_dir() / "prefect")) / "duban-server-start.lock"


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    import fcntl

    path = start_lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _patch_server(module: ModuleType) -> None:
    server = module.SubprocessASGIServer
    if getattr(server, "_duban_patched", False):
        return
    start, run_uvicorn = server.start, server._run_uvicorn_command

    def locked_start(self: Any, timeout: int | None = None) -> None:
        if self.running:
            return start(self, timeout)
        with _start_lock():
            return start(self, timeout)

    def run_with_parent(self: Any) -> Any:
        if not sys.platform.startswith("linux"):
            return run_uvicorn(self)
        real = getattr(module, "subprocess")  # noqa: B009 (a module attribute we swap)
        shim = types.SimpleNamespace(**vars(real))
        shim.Popen = functools.partial(real.Popen, preexec_fn=functools.partial(
            die_with_parent, os.getpid()))
        setattr(module, "subprocess", shim)  # noqa: B010
        try:
            return run_uvicorn(self)
        finally:
            setattr(module, "subprocess", real)  # noqa: B010

    server.start = locked_start
    server._run_uvicorn_command = run_with_parent
    server._duban_patched = True


class _ServerModuleWatcher(importlib.abc.MetaPathFinder):
    """Patches Prefect's server module right after Prefect imports it."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _SERVER_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            _patch_server(module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def _watch_for_server_module() -> None:
    if _SERVER_MODULE in sys.modules:
        _patch_server(sys.modules[_SERVER_MODULE])
    elif not any(isinstance(f, _ServerModuleWatcher) for f in sys.meta_path):
        sys.meta_path.insert(0, _ServerModuleWatcher())


class _PrefectLogFile(logging.FileHandler):
    """Prefect's own records (a failed flow's traceback) go to ``var/log/duban.log``: the
    operator sees duban's one-line ``错误：…/提示：…`` instead of 40 lines of traceback."""

    def __init__(self) -> None:
        path = var_dir() / "log" / "duban.log"
        super().__init__(path, encoding="utf-8", delay=True)

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError):
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # a log that cannot be written must not add noise or stop the command


def _from_prefect(record: logging.LogRecord) -> bool:
    return record.name.split(".", 1)[0] in PREFECT_LOGGERS


def setup_cli_logging() -> None:
    """Warnings to stderr as plain lines, except Prefect's, which go to the log file."""
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(message)s"))
    console.addFilter(lambda record: not _from_prefect(record))
    log_file = _PrefectLogFile()
    log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log_file.addFilter(_from_prefect)
    logging.basicConfig(level=logging.WARNING, handlers=[console, log_file])
