"""What a transport reports: accepted (maybe with refused recipients) or a failure that
says whether trying again later can help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from notifications.mime import Outgoing


class DeliveryFailure(Exception):
    """A message was not accepted.  ``permanent``: retrying cannot help."""

    permanent = False

    def __init__(self, message: str, refused: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Every recipient refused at RCPT: {address: reply}, so each can be settled alone.
        self.refused = refused or {}


class TemporaryFailure(DeliveryFailure):
    """4xx, a timeout or a dropped connection: try again on a later run."""


class PermanentFailure(DeliveryFailure):
    """5xx for this message (e.g. 550 unknown recipient): it fails, the others still go."""

    permanent = True


class ServerUnavailable(TemporaryFailure):
    """The server cannot be reached at all: stop this run, every message waits."""


@dataclass(frozen=True)
class Accepted:
    """The server took the message.  ``refused``: recipients it refused, with reasons."""

    refused: dict[str, str] = field(default_factory=dict)

    def note(self) -> str | None:
        if not self.refused:
            return None
        return "部分收件人被拒收：" + "；".join(f"{a}：{r}" for a, r in self.refused.items())


class Transport(Protocol):
    name: str

    def send(self, message: Outgoing, data: bytes | None = None) -> Accepted:
        """Deliver one message; ``data`` is its wire bytes when already built."""
        ...

    def close(self) -> None: ...
