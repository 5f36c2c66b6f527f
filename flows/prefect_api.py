"""A warm local Prefect API, so orchestrated commands do not start a server each time.

Without ``PREFECT_API_URL`` every ``duban run``/``digest``/``evaluate`` starts Prefect's
ephemeral server afresh (~4–8 s of a 9 s run, STACK-NOTES).  ``duban serve`` and ``duban api``
keep one ``prefect server start`` child on 127.0.0.1 and write its address to
``var/prefect/api.json``; :func:`adopt_warm_api` (called by ``configure_prefect`` before
Prefect is imported) points this process at it when it answers, and otherwise leaves
everything as it was: ephemeral mode, silently.  The user's own ``PREFECT_API_URL`` always
wins.  Only the standard library is imported here: the check runs on every command that
uses Prefect and must cost milliseconds, not Prefect's import.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from models.db import var_dir
from plan.errors import DubanError

HEALTH_TIMEOUT = 2.0  # seconds: a warm API answers in milliseconds; a stuck one is skipped
START_TIMEOUT = 180.0  # a fresh Prefect database migrates first (10–12 s, more under load)


def state_file() -> Path:
    return var_dir() / "prefect" / "api.json"


def read_state() -> dict[str, Any] | None:
    try:
        data = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) \
            or not isinstance(data.get("pid"), int):
        return None
    return data


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, but not ours to judge
        return True
    return True


def health(url: str, timeout: float = HEALTH_TIMEOUT) -> str:
    """``ok``, ``refused`` (nothing listens there: the file is stale) or ``busy``."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as reply:
            return "ok" if reply.status == 200 else "busy"
    except urllib.error.HTTPError:
        return "busy"
    except urllib.error.URLError as exc:
        refused = isinstance(exc.reason, ConnectionRefusedError)
        return "refused" if refused else "busy"
    except OSError:  # a read timeout
        return "busy"


def live_api() -> dict[str, Any] | None:
    """The warm API recorded in var/, if it answers; a stale record is removed."""
    state = read_state()
    if state is None:
        return None
    answer = health(state["url"]) if _alive(state["pid"]) else "refused"
    if answer == "ok":
        return state
    if answer == "refused":
        # Dead process or nothing on its port (a kill -9 of serve): nobody will remove it.
        with contextlib.suppress(OSError):
            state_file().unlink()
    return None  # busy: leave the record for the next command, run ephemeral this time


def adopt_warm_api() -> str | None:
    """Point this process at the warm API when one answers; returns its URL or None."""
    if os.environ.get("PREFECT_API_URL"):
        return None  # the user's choice (or one made for us already)
    state = live_api()
    if state is None:
        return None
    os.environ["PREFECT_API_URL"] = state["url"]
    return str(state["url"])


def prefect_off() -> bool:
    """No API configured and Prefect's own local server switched off: nothing to warm."""
    ephemeral = os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").strip().lower()
    return not os.environ.get("PREFECT_API_URL") and ephemeral in ("false", "0", "no")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_state(state: dict[str, Any]) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state), encoding="utf-8")
    temporary.replace(path)  # readers see the whole record or none


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_server(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``prefect server start`` on a free loopback port with ``env``, answering; it dies
    with the calling thread's process (Linux).  The test suite's shared server uses this too."""
    from flows.prefect_env import die_with_parent

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            # Linux: the kernel stops the server when we die, even by kill -9.
            preexec_fn=(functools.partial(die_with_parent, os.getpid())
                        if sys.platform.startswith("linux") else None))
    deadline = time.monotonic() + START_TIMEOUT
    while health(url) != "ok":
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise DubanError(f"Prefect 服务器没有启动：{_log_tail(log_path) or '没有输出'}",
                             f"详见 {log_path}；检查 PREFECT_HOME 是否可写，或先运行 duban init")
        time.sleep(0.2)
    return process, url


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def warm_api() -> Iterator[str | None]:
    """Keep a warm API for the duration: reuse a live one, else start one and record it.

    Yields its URL (this process's ``PREFECT_API_URL`` is set to it), or None when the
    user set ``PREFECT_API_URL`` or switched Prefect's local server off.
    """
    if os.environ.get("PREFECT_API_URL") or prefect_off():
        yield None
        return
    existing = adopt_warm_api()
    if existing is not None:
        try:
            yield existing
        finally:
            os.environ.pop("PREFECT_API_URL", None)
        return
    from flows.prefect_env import configure_prefect

    configure_prefect()  # PREFECT_HOME under var/ and the quiet defaults, for the child too
    process, url = start_server(dict(os.environ), var_dir() / "log" / "prefect-api.log")
    state = {"pid": process.pid, "url": url, "owner": os.getpid(),
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_state(state)
    os.environ["PREFECT_API_URL"] = url
    try:
        yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        if read_state() == state:
            with contextlib.suppress(OSError):
                state_file().unlink()
        stop_server(process)


def serve_api(say: Callable[[str], None]) -> None:
    """``duban api``: keep the warm API up in the foreground until SIGTERM/SIGINT; ``say``
    prints a line for the operator (the CLI's console: this module sits below the CLI)."""
    import signal
    import threading

    if os.environ.get("PREFECT_API_URL"):
        raise DubanError(f"已设置 PREFECT_API_URL={os.environ['PREFECT_API_URL']}，"
                         "duban 的命令会直接使用那个 Prefect 服务器",
                         "不需要 duban api；要用本机的常驻 API，先 unset PREFECT_API_URL")
    running = live_api()
    if running is not None:
        raise DubanError(f"本目录已有常驻的 Prefect API：{running['url']}（进程 {running['pid']}）",
                         "不必再启动；duban run / digest / evaluate 会自动使用它")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "true"  # asked for explicitly
    with warm_api() as url:
        say(f"Prefect API 已就绪：{url}（记录在 {state_file()}）；"
            "本目录的 duban run / digest / evaluate 会使用它。Ctrl-C 停止。")
        while not stop.wait(5):
            state = read_state()
            if state is None or not _alive(state["pid"]):  # the server died: say so
                raise DubanError("Prefect API 意外停止", f"详见 {var_dir() / 'log' / 'prefect-api.log'}")
    say("Prefect API 已停止。")
