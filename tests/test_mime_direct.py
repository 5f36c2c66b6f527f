"""notifications/mime.py joins a message's bytes directly (issue #13); the standard library's
MIME classes and generator (``build_message_stdlib``, the builder before) are the oracle.
Every input that varies the output — Chinese and ASCII names and subjects, long lines that
fold, Cc, empty and long bodies, CR/LF and form feeds in bodies, attachments with Chinese
names, non-ASCII addresses that take the stdlib path — must give the same bytes."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from notifications.attachments import freeze, plan_attachment
from notifications.mime import Outgoing, build_message, build_message_stdlib
from tests.outgoing_samples import LONG_NAME, outgoing_notice

CASES: dict[str, dict[str, object]] = {
    "plain": {},
    "cc and several recipients": dict(to=("浦东新区知识产权局 <pudong@example.org>", "联系人 <li@example.org>"),
                                      cc=("协调处室 <shszcj@126.com>", "lead@example.org")),
    "long names and subject fold": dict(to=(f"{LONG_NAME} <long@example.org>",),
                                        sender=f'"{LONG_NAME}" <s@example.org>',
                                        subject="【督办】" + "关于报送行政保护工作情况的督办通知" * 6),
    "long ascii subject": dict(subject="Reminder " * 30),
    "ascii only": dict(sender="duban <duban@example.org>", to=("unit@example.org",), subject="test",
                       body_text="hello\n", body_html="<p>hello</p>"),
    "quoted ascii name with comma": dict(to=('"Smith, J." <j@example.org>',)),
    "bare addresses": dict(sender="shszcj@126.com", to=("pudong@example.org",)),
    "empty bodies": dict(body_text="", body_html=""),
    "body without final newline": dict(body_text="无换行结尾", body_html="x"),
    "CR, CRLF, form feed and tabs in bodies": dict(body_text="a\r\nb\rc\x0cd\te\n\n", body_html="<p>\r\n</p>\x0b"),
    "57-byte boundary": dict(body_text="x" * 57, body_html="y" * 114),
    "large body": dict(body_text="请按期报送半年度工作总结。\n" * 3000, body_html="<p>报送</p>" * 5000),
    "subject with newline and tab": dict(subject="第一行\n第二行\t结束"),
    "non-ascii message id takes the stdlib path": dict(message_id="<督办.1@example.org>"),
    "other date and zone": dict(created_at=dt.datetime(2023, 12, 31, 17, 59, 59,
                                                       tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
}


@pytest.mark.parametrize("case", CASES)
def test_direct_join_is_the_standard_library_bytes(case: str) -> None:
    out = outgoing_notice(**CASES[case])
    assert build_message(out) == build_message_stdlib(out)


def test_attachments_with_chinese_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_VAR", str(tmp_path / "var"))
    records = []
    for name, data in [("督办单督〔2024〕7月第01号（浦东新区知识产权局）.docx", b"PK\x03\x04" + bytes(range(256)) * 40),
                       ("简报.pdf", b"%PDF-1.7\n" + b"x" * 5000), ("empty.txt", b"")]:
        source = tmp_path / "source" / name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        record, payload = plan_attachment("2024-07-08|unit-notice|pudong", source, name)
        freeze(record, payload)
        records.append(record)
    out = outgoing_notice(attachments=tuple(records), cc=("lead@example.org",))
    built = build_message(out)
    assert built == build_message_stdlib(out)
    assert b"filename*=utf-8''" in built


ALPHABET = "督办单位知识产权局报送总结 abcXYZ,.;:\"'<>()[]\\@=?_-\t\r\n\x0c\u3000😀é"


def test_random_inputs_give_the_same_bytes() -> None:
    rng = random.Random(13)

    def text(low: int, high: int) -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(low, high)))

    for n in range(300):
        names = [text(0, 90).replace("\n", " ") for _ in range(3)]
        out = outgoing_notice(
            message_id=f"<duban.{n}.{rng.randint(0, 10**9)}@example.org>",
            sender=f'"{names[0]}" <duban@example.org>' if names[0] else "duban@example.org",
            to=tuple(f'"{name}" <u{n}-{i}@example.org>' for i, name in enumerate(names[1:rng.randint(1, 3)])),
            cc=tuple(f"c{i}@example.org" for i in range(rng.randint(0, 2))),
            subject=text(0, 200), body_text=text(0, 400), body_html=text(0, 400),
            created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 10**8)))
        assert _outcome(build_message, out) == _outcome(build_message_stdlib, out), n


def _outcome(build: Callable[[Outgoing], bytes], out: Outgoing) -> object:
    """The bytes, or the error raised (a name that swallows the address leaves a non-ASCII
    one, which both builders refuse the same way)."""
    try:
        return build(out)
    except Exception as exc:  # compared, not hidden
        return (type(exc), str(exc))


def test_a_non_ascii_address_is_refused_by_both() -> None:
    out = outgoing_notice(to=("单位 <单位@example.org>",))
    assert _outcome(build_message, out) == _outcome(build_message_stdlib, out)
    assert isinstance(_outcome(build_message, out), tuple)
