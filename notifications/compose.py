"""Notice → one outbox row (sender, recipients, Message-ID, content), and row → bodies.

A sweep notice is stored as its items (``content = "notice"``: the notice's JSON and the
template version), not as rendered bodies: :func:`materialise` renders subject, HTML and
text when a message is sent, written as ``.eml`` or shown.  Rendering is deterministic, so
every attempt of a message has the same bytes.  Digests, evaluations and receipts keep
their rendered bodies (``content = "bodies"``).  The Message-ID is derived from the outbox
key, so a message sent again after a crash carries the same Message-ID and receivers that
deduplicate on it drop the copy.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from typing import Any

from notifications.mime import Outgoing
from notifications.render import TEMPLATE_VERSION, Rendered, one_line, render_notice, render_subject
from plan.addresses import ADDRESS_HINT, is_address
from plan.errors import DubanError
from plan.notice import Notice, notice_from_json, notice_to_json

# The display name when the plan names no issuer (every shipped plan does: plan.issuer).
DEFAULT_SENDER_NAME = "督办系统"
_DOMAIN_SAFE = re.compile(r"[^A-Za-z0-9.-]")


def check_address(address: str, *, where: str) -> str:
    # The same rule duban check applies (plan.addresses), so a checked plan always sends.
    if not is_address(address):
        raise DubanError(f"{where}的邮箱地址「{one_line(address)}」无效", ADDRESS_HINT)
    return address


def parse_sender(value: str) -> tuple[str, str]:
    """``"名字 <addr>"`` or ``"addr"`` → (display name, address)."""
    name, address = parseaddr(one_line(value))
    if not address or "@" not in address:
        raise DubanError(f"发件人「{one_line(value)}」无效",
                         "DUBAN_SMTP_FROM 写成「显示名 <name@example.org>」或「name@example.org」")
    check_address(address, where="发件人")
    return one_line(name), address


def default_sender(plan_mailbox: str, issuer: str | None = None) -> str:
    """``$DUBAN_SMTP_FROM`` if set, else the plan's mailbox under the issuer's name (``plan.issuer``).

    Replies then reach the mailbox units already send their documents to.
    """
    configured = os.environ.get("DUBAN_SMTP_FROM", "").strip()
    if configured:
        name, address = parse_sender(configured)
        return mailbox(name, address)
    return mailbox(f"{issuer}督办" if issuer else DEFAULT_SENDER_NAME, plan_mailbox)


def make_message_id(key: str, sender: str) -> str:
    """``<duban.{sha256(key)[:24]}@{sender's domain}>``: the same key, the same Message-ID."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return f"<duban.{digest}@{_message_id_domain(sender)}>"


@lru_cache(maxsize=64)
def _message_id_domain(sender: str) -> str:
    # One sender for a whole sweep: parseaddr once, not once per message (1,000 a day).
    domain = parseaddr(sender)[1].rpartition("@")[2]
    return _DOMAIN_SAFE.sub("", domain).strip(".-") or "duban.invalid"


def mailbox(name: str, address: str) -> str:
    """One mailbox, ``"显示名" <addr>``, name flattened to one line and always quoted.

    Kept readable (not RFC 2047-encoded) in the outbox; quoting makes ``,`` ``<`` and
    ``"`` in a unit name harmless, so the string parses back to exactly one mailbox.  The
    transport encodes the name when it builds the message.
    """
    flat = one_line(name)
    if not flat:
        return address
    escaped = flat.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}" <{address}>'


def outbox_row(notice: Notice, rendered: Rendered | None = None, *, sender: str) -> dict[str, Any]:
    """The columns of one :class:`models.tables.OutboxMessage`, ready to queue.

    Without ``rendered`` the row stores the notice itself (rendered at delivery, see
    :func:`materialise`) and only its subject, for listings; with it, the rendered bodies.
    ``to`` holds mailboxes with the recipient's name (``"黄浦区知识产权局" <addr>``);
    ``cc`` holds plain addresses.  Addresses are checked: a malformed one is refused
    here, before anything is queued.
    """
    for address in (*notice.to, *notice.cc):
        check_address(address, where=f"收件人（{one_line(notice.recipient_name)}）")
    key = notice.key
    cc = [a for a in dict.fromkeys(notice.cc) if a not in notice.to]
    row: dict[str, Any] = {
        "key": key,
        "message_id": make_message_id(key, sender),
        "kind": notice.kind,
        "run_date": notice.run_date,
        "unit_id": notice.unit_id,
        "sender": one_line(sender),
        "to": [mailbox(notice.recipient_name, a) for a in dict.fromkeys(notice.to)],
        "cc": cc,
        "state": "queued",
        "attempts": 0,
    }
    if rendered is None:
        return {**row, "subject": render_subject(notice), "content": "notice",
                "notice": notice_to_json(notice), "template_version": TEMPLATE_VERSION,
                "body_text": None, "body_html": None}
    return {**row, "subject": one_line(rendered.subject), "content": "bodies", "notice": None,
            "template_version": None, "body_text": rendered.text, "body_html": rendered.html}


def materialise(row: Any) -> Rendered:
    """Subject, HTML and text of one outbox row (anything with its columns as attributes).

    The one place a stored notice becomes a message: delivery, the ``.eml`` folder, preview
    and ``outbox show`` all call it.  A row stored with bodies returns them as stored.
    """
    if getattr(row, "content", "bodies") == "notice":
        return render_notice(notice_from_json(row.notice))
    return Rendered(subject=row.subject, text=row.body_text or "", html=row.body_html or "")


def outgoing(row: Any) -> Outgoing:
    """What a transport sends for one claimed row: rendered here, once per attempt."""
    rendered = materialise(row)
    return replace(Outgoing.from_row(row), subject=rendered.subject, body_text=rendered.text,
                   body_html=rendered.html)


def address_problem(message: Any) -> str | None:
    """Why this message cannot go to its To/Cc as written, or None (``message``: anything
    with ``to`` and ``cc``, an outbox row or an :class:`Outgoing`).

    Each To/Cc entry must be exactly one mailbox with an address that passes the plan's
    address rule (:func:`check_address`): an entry such as ``a@b.org>,evil.x.org`` would
    otherwise add a recipient.  (Here rather than in notifications.delivery so that the
    helper process that builds messages ahead need not import the database layer.)
    """
    for entry in (*message.to, *message.cc):
        found = [a for _, a in getaddresses([one_line(entry)]) if a]
        try:
            if len(found) != 1:
                raise DubanError(f"收件人「{one_line(entry)}」不是一个有效的邮箱地址",
                                 "在 plan.yaml 中改正这个单位的联系邮箱")
            check_address(found[0], where="收件人")
        except DubanError as exc:
            return f"{exc.message}（{exc.hint}）" if exc.hint else exc.message
    return None
