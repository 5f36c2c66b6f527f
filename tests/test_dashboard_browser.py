"""The dashboard in a real browser: headless Debian ``chromium`` opens it from disk, shows
the 18 tasks and the units, sends no request anywhere but the local files, and leaves a
screenshot in tests/artifacts/ (kept by CI).

CI must install the browser and a Chinese font: ``apt-get install -y chromium
fonts-wqy-microhei``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["tests.report_fixtures"]

ARTIFACTS = Path(__file__).with_name("artifacts")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                                "(apt-get install -y chromium fonts-wqy-microhei)")


def _chromium(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


class DevTools:
    """A minimal Chrome DevTools Protocol client over the browser's websocket."""

    def __init__(self, tmp_path: Path) -> None:
        assert CHROMIUM
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'cdp-profile'}", "--remote-debugging-port=0",
             "about:blank"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        url = None
        deadline = time.monotonic() + 30
        assert self.process.stderr is not None
        while time.monotonic() < deadline and url is None:
            line = self.process.stderr.readline()
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            url = found.group(1) if found else None
        assert url, "chromium did not open its DevTools port"
        from websockets.sync.client import connect

        self.socket = connect(url, max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=30))
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return
        while time.monotonic() < deadline:
            event = json.loads(self.socket.recv(timeout=timeout))
            self.events.append(event)
            if event.get("method") == method:
                return
        raise AssertionError(f"no {method} within {timeout}s")

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_opens_from_disk_shows_tasks_and_units_and_fetches_nothing(season, workdir, tmp_path):
    index = workdir / "var" / "reports" / "2024-07-15" / "index.html"
    assert index.is_file()

    # 1. Load it through the DevTools protocol and record every request the page makes.
    tools = DevTools(tmp_path)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tools.send("Network.enable", session=session)
        tools.send("Page.enable", session=session)
        tools.send("Page.navigate", {"url": index.as_uri()}, session=session)
        tools.wait_for("Page.loadEventFired")
        counted = tools.send("Runtime.evaluate", {"expression":
                             "JSON.stringify({tasks: new Set([...document.querySelectorAll('a[href^=\"tasks/task-\"]')]"
                             ".map(a => a.getAttribute('href'))).size, text: document.body.innerText,"
                             " svgs: document.querySelectorAll('svg polyline').length})",
                             "returnByValue": True}, session=session)["result"]["value"]
    finally:
        tools.close()
    requested = [e["params"]["request"]["url"] for e in tools.events
                 if e.get("method") == "Network.requestWillBeSent"]
    assert requested and all(url.startswith("file://") for url in requested), requested
    page = json.loads(counted)
    assert page["tasks"] == 18
    for name in ("静安区知识产权局", "闵行区知识产权局", "浦东新区知识产权局", "上海市知识产权保护中心",
                 "18. 创新知识产权数字化监管模式", "督导检查名单（2 项）"):
        assert name in page["text"]
    assert page["svgs"] >= 2  # the history charts have lines, not just axes

    # 2. The same page and a task page with --dump-dom, every host name unresolvable.
    dom = _chromium(tmp_path, "--dump-dom", index.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('href="tasks/task-') >= 18 and "静安区知识产权局" in dom.stdout
    task = _chromium(tmp_path, "--dump-dom", (index.parent / "tasks" / "task-07.html").as_uri())
    assert "端午节地理标志保护专项行动" in task.stdout and "任务7完成比例" in task.stdout

    # 3. The screenshot CI keeps.
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2200", "--hide-scrollbars",
                       index.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.stat().st_size > 20_000
