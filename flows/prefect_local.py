"""The command's own local Prefect API, started before Prefect is imported.

Without a warm API (``duban serve``/``duban api``) or ``PREFECT_API_URL``, Prefect starts
a local server on a command's first flow run: the client first imports Prefect's whole
server package to reach the class that starts it (6.4 s on a slow 2-core machine), then
starts the server (a child process importing the same package again) and waits for it.
Everything happens one after the other, after the command has imported Prefect itself.

:func:`start_local_api` starts the same server (Prefect's own command line for its local
server: uvicorn with the server's app factory, UI off) as soon as a foreground command
knows it will run a flow, on a socket bound here and handed to the child, and points
``PREFECT_API_URL`` at it.  The child then starts while this process imports Prefect and
duban's modules, and the client never imports the server package.  Before the flow runs,
:func:`wait_for_local_api` waits until the server answers (``run_in_foreground`` calls
it).  The server lives as long as the command: stopped at exit, and on Linux sent SIGTERM
by the kernel if the command dies (``kill -9`` included).  Starts are serialised across
processes with the lock Prefect's own start takes in duban (two first runs would both
migrate Prefect's database).  Only the standard library is imported here.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flows.prefect_api import health, prefect_off
from flows.prefect_env import (
    PREFECT_STARTUP_TIMEOUT,
    QUIET_DEFAULTS,
    configure_prefect,
    die_with_parent,
    start_lock_path,
)
from models.db import var_dir
from plan.errors import DubanError

# What Prefect's own local server gets besides this process's environment
# (prefect.server.api.server.SubprocessASGIServer).
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}


@dataclass
class LocalApi:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    log_offset: int  # where this start's output begins in the log
    lock: IO[str] | None  # held until the server answers (or the command ends)

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()  # closing the file releases the flock
            self.lock = None

    def stop(self) -> None:
        self.release()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_started: LocalApi | None = None


def log_path() -> Path:
    return var_dir() / "log" / "prefect-local.log"


def start_local_api() -> str | None:
    """Configure Prefect (``configure_prefect``: its home under var/, the quiet defaults, a
    warm API adopted) and start this command's local Prefect API unless one is configured
    (the user's ``PREFECT_API_URL``, the warm API) or Prefect's local server is switched
    off.  Returns its URL, or None.  Call before Prefect is imported; the server is stopped
    when this process exits."""
    global _started
    configure_prefect()
    if _started is not None:
        return _started.url
    if os.environ.get("PREFECT_API_URL") or prefect_off():
        return None
    if "prefect" in sys.modules:  # too late: Prefect has read its settings already
        return None
    lock_path = start_lock_path()
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_path.open("a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # another command's server is starting: wait for it
    try:
        listener = socket.socket()
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            url = f"http://127.0.0.1:{listener.getsockname()[1]}/api"
            offset = log_path().stat().st_size if log_path().exists() else 0
            process = _spawn(listener)
        finally:
            listener.close()  # the child has its own copy
    except BaseException:
        lock.close()
        raise
    _started = LocalApi(process, url, log_path(), offset, lock)
    atexit.register(_started.stop)  # registered before Prefect's own exit handlers: runs after them
    os.environ["PREFECT_API_URL"] = url
    return url


def _spawn(listener: socket.socket) -> subprocess.Popen[bytes]:
    spec = importlib.util.find_spec("prefect")  # a top-level package: found, not imported
    if spec is None or not spec.submodule_search_locations:
        raise DubanError("找不到 Prefect", "重新安装 duban：pip install -e .")
    packages = Path(next(iter(spec.submodule_search_locations))).parent
    env = {**{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}, **SERVER_ENV}
    if env.get("PREFECT_SERVER_LOGGING_LEVEL") == QUIET_DEFAULTS["PREFECT_SERVER_LOGGING_LEVEL"]:
        # Its output goes to the log file, not the terminal: keep its errors, for the hint.
        env["PREFECT_SERVER_LOGGING_LEVEL"] = "ERROR"
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as log:
        # -P: nothing from the current folder shadows a module; --app-dir as Prefect passes it.
        return subprocess.Popen(
            [sys.executable, "-P", "-m", "uvicorn", "--app-dir", str(packages), "--factory",
             "prefect.server.api.server:create_app", "--fd", str(listener.fileno()),
             "--log-level", "error", "--lifespan", "on"],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            pass_fds=(listener.fileno(),),
            # Linux: the kernel stops the server when this process dies, even by kill -9.
            preexec_fn=(functools.partial(die_with_parent, os.getpid())
                        if sys.platform.startswith("linux") else None))


def wait_for_local_api() -> None:
    """Wait until this command's local API answers (nothing to do if none was started)."""
    started = _started
    if started is None or started.lock is None:
        return
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or PREFECT_STARTUP_TIMEOUT)
    deadline = time.monotonic() + timeout
    while health(started.url) != "ok":
        if started.process.poll() is not None or time.monotonic() > deadline:
            exited = started.process.poll()
            started.stop()
            what = f"进程已退出（退出码 {exited}）" if exited is not None else f"{timeout:g} 秒内没有应答"
            raise DubanError(f"Prefect 本地服务器没有启动：{what}：{_failure(started.log_path, started.log_offset)}",
                             f"详见 {started.log_path}；检查 PREFECT_HOME 是否可写，或先运行 duban init；"
                             "也可以先在另一个终端运行 duban api，让各命令共用一个常驻服务器")
        time.sleep(0.05)
    started.release()


def _failure(path: Path, offset: int) -> str:
    """What the server wrote before it failed (from ``offset``, where this start began):
    its exception's last line, else its last line."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode("utf-8", errors="replace").strip().splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if _EXCEPTION.match(line)]
    return (errors or lines or ["没有输出"])[-1].strip()


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b.*:")
