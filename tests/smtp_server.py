"""A real SMTP server on loopback (aiosmtpd) for the delivery tests, with scripted faults.

Use it as a pytest fixture by listing this module in a test file's ``pytest_plugins``::

    pytest_plugins = ["tests.smtp_server"]

    def test_x(smtp_server): ...

The handler records every message it accepts and can be told to refuse a recipient
(``rcpt_replies``), answer EHLO with an outage (``ehlo_reply``), answer DATA with a reply
of our choosing (``data_reply``), close the connection instead of answering (``drop``), or
call back after accepting (``after_accept``, e.g. to kill the sending process in the
window between the server's 250 and our commit).
It is strict about RFC 5322 line length: a message with a line over ``max_line`` (998)
octets is refused with ``500 5.5.2 Line too long``, as real servers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class Recorder:
    """The aiosmtpd handler: accepts and records, unless told otherwise."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: Callable[[Received], str | None] | None = None
    drop: Callable[[Received], bool] | None = None
    after_accept: Callable[[Received], None] | None = None
    delay: float = 0.0
    max_line: int = 998  # RFC 5322 2.1.1, CRLF excluded
    ehlo_reply: str | None = None  # e.g. "421 4.3.2 Service not available": an outage
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        with self.lock:
            self.connections += 1
        if self.ehlo_reply:
            return [self.ehlo_reply]
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        got = Received(envelope.mail_from, list(envelope.rcpt_tos),
                       bytes(envelope.original_content or envelope.content))
        if self.delay:
            await asyncio.sleep(self.delay)
        if any(len(line) > self.max_line for line in got.data.split(b"\r\n")):
            return "500 5.5.2 Line too long"
        if self.drop is not None and self.drop(got):
            server.transport.close()  # the client never sees a reply
            return "421 closing"
        reply = self.data_reply(got) if self.data_reply is not None else None
        if reply:
            return reply
        with self.lock:
            self.received.append(got)
        if self.after_accept is not None:
            self.after_accept(got)
        return "250 OK queued"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Recorder
    controller: Controller

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def env(self) -> dict[str, str]:
        """The DUBAN_SMTP_* settings that point duban at this server."""
        return {"DUBAN_SMTP_HOST": self.host, "DUBAN_SMTP_PORT": str(self.port),
                "DUBAN_SMTP_STARTTLS": "false", "DUBAN_SMTP_SSL": "false",
                "DUBAN_SMTP_TIMEOUT": "10"}


def start_server() -> SmtpServer:
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return SmtpServer("127.0.0.1", port, handler, controller)


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A fresh SMTP server on a free loopback port; DUBAN_SMTP_* point at it."""
    server = start_server()
    for key in ("DUBAN_SMTP_USER", "DUBAN_SMTP_PASSWORD", "DUBAN_SMTP_FROM"):
        monkeypatch.delenv(key, raising=False)
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    try:
        yield server
    finally:
        server.controller.stop()


def kill_after(pid_box: dict[str, int], count: int) -> Callable[[Received], None]:
    """An ``after_accept`` that SIGKILLs ``pid_box['pid']`` once ``count`` messages arrived."""
    seen = {"n": 0}

    def callback(_: Received) -> None:
        seen["n"] += 1
        if seen["n"] == count:
            os.kill(pid_box["pid"], 9)

    return callback


@contextlib.contextmanager
def login_server(authenticate: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                 password: str) -> Iterator[tuple[Recorder, int]]:
    """A plaintext loopback server that asks for a login, with duban's SMTP settings pointed at
    it as ``duban@example.org`` / ``password``; yields (recorder, port)."""
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        for key, value in {"DUBAN_SMTP_HOST": "127.0.0.1", "DUBAN_SMTP_PORT": str(port),
                           "DUBAN_SMTP_STARTTLS": "false", "DUBAN_SMTP_USER": "duban@example.org",
                           "DUBAN_SMTP_PASSWORD": password}.items():
            monkeypatch.setenv(key, value)
        yield handler, port
    finally:
        controller.stop()
