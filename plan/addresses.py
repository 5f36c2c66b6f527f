"""The one email-address rule: what ``duban check`` accepts is exactly what the sender sends.

A deliberately plain addr-spec: ASCII only, no spaces, quotes, commas, angle brackets or
line breaks, so an address can never smuggle a second recipient or a header into a
message, and every mail server accepts it.  Internationalised addresses (测试@例子.中国)
are refused: write the ASCII (punycode) form the unit's mail server gives.
"""

from __future__ import annotations

import re

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")

ADDRESS_HINT = "写成 name@example.org 这样的纯地址，不带姓名、空格或尖括号"


def is_address(text: str) -> bool:
    """Whether ``text`` is one plain ASCII address such as ``zhang@pudong.gov.cn``."""
    local, _, domain = text.rpartition("@")
    return (_ADDRESS.fullmatch(text) is not None and len(local) <= 64 and len(text) <= 254
            and not domain[-1:].isdigit())
