"""Which unit a sender's address stands for, from the contacts in plan.yaml.

Pure rules: no database, no network.  Addresses compare case-insensitively; an address
listed for two units identifies neither (refuse rather than guess).
"""

from __future__ import annotations

from dataclasses import dataclass

from plan.model import Plan


@dataclass(frozen=True)
class SenderMatch:
    unit_id: str | None
    reason: str  # Chinese, when unit_id is None


def address_book(plan: Plan) -> dict[str, list[str]]:
    """address (lower case) → ids of the units that list it."""
    book: dict[str, list[str]] = {}
    for unit_id, unit in plan.units.items():
        for contact in unit.contacts:
            ids = book.setdefault(contact.email.strip().lower(), [])
            if unit_id not in ids:
                ids.append(unit_id)
    return book


def coordinator_addresses(plan: Plan) -> set[str]:
    """The bureau's own addresses: mail forwarded from these is judged by its original sender."""
    return {plan.meta.mailbox.lower(), *(c.email.lower() for c in plan.meta.contacts)}


def match_sender(plan: Plan, address: str, *, forwarded_from: list[str] | None = None) -> SenderMatch:
    book = address_book(plan)
    address = address.strip().lower()
    if not address:
        return SenderMatch(None, "邮件没有发件人地址")
    if address in coordinator_addresses(plan) and forwarded_from:
        # The coordinator forwarded a unit's mail in: the original sender decides.
        found = {u for a in forwarded_from for u in book.get(a.strip().lower(), [])}
        if len(found) == 1:
            return SenderMatch(found.pop(), "")
        inner = "、".join(sorted(set(forwarded_from)))
        return SenderMatch(None, f"转发的原邮件发件人（{inner}）不能确定为某一个单位的联系人")
    units = book.get(address, [])
    if len(units) == 1:
        return SenderMatch(units[0], "")
    if len(units) > 1:
        names = "、".join(plan.units[u].name for u in units)
        return SenderMatch(None, f"发件地址 {address} 同时列为多个单位（{names}）的联系人，无法确定是哪个单位；"
                                 "请在 plan.yaml 中只留一个单位使用该地址")
    return SenderMatch(None, f"发件地址 {address} 不是 plan.yaml 中任何单位的联系人邮箱；"
                             "如确是某单位所发，请把该地址加入该单位的 contacts")
