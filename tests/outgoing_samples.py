"""One outgoing notice as the outbox hands it to the MIME builders, for their tests."""

from __future__ import annotations

import datetime as dt

from notifications.mime import Outgoing

LONG_NAME = "上海市某某区市场监督管理局（知识产权局）知识产权保护科" * 4


def outgoing_notice(**changes: object) -> Outgoing:
    """A 催办 to 浦东, with ``changes`` applied."""
    fields: dict[str, object] = dict(
        id=1, key="2024-07-08|unit-notice|pudong", message_id="<duban.2024-07-08.pudong@example.org>",
        sender="上海市知识产权局 <shszcj@126.com>", to=("浦东新区知识产权局 <pudong@example.org>",),
        cc=(), subject="【催办】请于7月12日前报送2024年上半年工作总结",
        body_text="浦东新区知识产权局：\n请于7月12日前报送。\n",
        body_html="<p>浦东新区知识产权局：</p><p>请于7月12日前报送。</p>",
        created_at=dt.datetime(2024, 7, 8, 1, 30, tzinfo=dt.UTC))
    fields.update(changes)
    return Outgoing(**fields)  # type: ignore[arg-type]
