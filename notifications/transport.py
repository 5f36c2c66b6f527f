"""Mail transports and how to pick one.

* :class:`SmtpTransport` — SMTP over one connection per run (``DUBAN_SMTP_HOST`` set);
* :class:`FolderTransport` — ``.eml`` files in ``var/outbox/``, the embedded default.

Both take :class:`~notifications.mime.Outgoing` messages and either return
:class:`Accepted` or raise a :class:`DeliveryFailure` (temporary or permanent).
"""

from __future__ import annotations

from pathlib import Path

from notifications.failures import (
    Accepted,
    DeliveryFailure,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    Transport,
)
from notifications.folder import FolderTransport, eml_name
from notifications.smtp import SmtpTransport
from notifications.smtp_settings import SmtpSettings

__all__ = [
    "Accepted", "DeliveryFailure", "FolderTransport", "PermanentFailure", "ServerUnavailable",
    "SmtpSettings", "SmtpTransport", "TemporaryFailure", "Transport", "eml_name",
    "transport_from_env",
]


def transport_from_env(outbox_folder: Path | None = None) -> Transport:
    """SMTP when ``DUBAN_SMTP_HOST`` is set, else ``.eml`` files in ``outbox_folder``
    (default ``var/outbox``)."""
    settings = SmtpSettings.from_env()
    if settings is None:
        if outbox_folder is None:
            from models.db import var_dir

            outbox_folder = var_dir() / "outbox"
        return FolderTransport(outbox_folder)
    return SmtpTransport(settings)
