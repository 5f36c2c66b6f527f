"""A real IMAP server on loopback: Debian's dovecot, unprivileged, from a temp config.

Use it as a pytest fixture by listing this module in a test file's ``pytest_plugins``::

    pytest_plugins = ["tests.imap_server"]

    def test_x(imap_server): ...

Session-scoped (starting dovecot costs a second); each test gets its own user
(``imap_account``) so mailboxes never leak between tests.  Plain-text login over a
loopback socket; the password file uses the PLAIN scheme.  When the tests run as root,
dovecot's own accounts (dovenull, dovecot) and ``nobody`` own the processes and mail,
as dovecot refuses mail access as uid 0.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smtp_server import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
_USERS = itertools.count(1)
POOL = 50  # mailboxes per session; each test takes a fresh one


@dataclass
class ImapServer:
    host: str
    port: int
    root: Path
    passwd: Path
    uid: int
    gid: int



def _config(root: Path, port: int, *, uid: int, gid: int, login_user: str, internal_user: str) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
last_valid_uid = 0
first_valid_gid = 1
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _wait_for(port: int, log: Path) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not start:\n" + (log.read_text() if log.exists() else "(no log)"))


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    if not os.path.exists(DOVECOT):
        pytest.fail("dovecot is not installed: apt-get install dovecot-imapd (.ci/run does)")
    # Not under pytest's tmp folder: as root that is mode 0700, closed to dovecot's users.
    root = Path(tempfile.mkdtemp(prefix="duban-dovecot-"))
    port = free_port()
    if os.geteuid() == 0:
        mail = pwd.getpwnam("nobody")
        uid, gid, login_user, internal_user = mail.pw_uid, mail.pw_gid, "dovenull", "dovecot"
    else:
        me = pwd.getpwuid(os.getuid())
        uid, gid, login_user, internal_user = me.pw_uid, me.pw_gid, me.pw_name, me.pw_name
    for sub in ("run", "state", "home"):
        (root / sub).mkdir()
    # Every user up front: dovecot caches passwd-file by mtime (whole seconds), so a user
    # added during the session could be refused.
    (root / "passwd").write_text("".join(f"u{n}:{{PLAIN}}secret-u{n}::::::\n" for n in range(1, POOL + 1)),
                                 encoding="utf-8")
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        os.chown(root / "home", uid, gid)
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port, uid=uid, gid=gid, login_user=login_user,
                            internal_user=internal_user), encoding="utf-8")
    # -F: stay in the foreground, so this fixture owns the process and ends it.
    with (root / "stderr.log").open("wb") as errors:
        process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                   stderr=errors)
    try:
        _wait_for(port, root / "dovecot.log")
        yield ImapServer("127.0.0.1", port, root, root / "passwd", uid, gid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str

    def env(self) -> dict[str, str]:
        """The ``DUBAN_IMAP_*`` settings that point duban at this account."""
        return {"DUBAN_IMAP_HOST": self.host, "DUBAN_IMAP_PORT": str(self.port),
                "DUBAN_IMAP_USER": self.user, "DUBAN_IMAP_PASSWORD": self.password,
                "DUBAN_IMAP_SSL": "false"}


@pytest.fixture
def imap_account(imap_server: ImapServer) -> ImapAccount:
    """A fresh, empty mailbox on the shared server."""
    number = next(_USERS)
    assert number <= POOL, "raise tests.imap_server.POOL"
    name = f"u{number}"
    return ImapAccount(imap_server.host, imap_server.port, name, "secret-" + name)
