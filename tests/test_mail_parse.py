"""Decoding what 126/163/Outlook really send, and naming the unit from the sender."""

from __future__ import annotations

import dataclasses

import pytest

from flows.mail_fetch import staged_name
from plan.mail_parse import Attachment, decode_text, parse_message
from plan.mail_rules import match_sender
from tests.mail_messages import forwarded, message

# 「喆」 and 「镕」 are GBK, not GB2312: a "gb2312" label must still decode them.
NAME = "徐汇区2024年上半年工作总结（喆、镕）"


def test_gb2312_labelled_gbk_text_decodes() -> None:
    encoded = "=?gb2312?B?" + __import__("base64").b64encode(NAME.encode("gbk")).decode() + "?="
    assert decode_text(encoded) == NAME


def test_raw_8bit_gbk_subject_and_filename_decode() -> None:
    raw = (b"From: =?utf-8?B?5L2g?= <XuHui@Example.org>\r\nSubject: " + ("回复：" + NAME).encode("gbk")
           + b"\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
           b"Content-Type: text/plain; charset=gb2312\r\n\r\n" + "\r\n  材料见附件\r\n".encode("gbk")
           + b"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\""
           + "盖章版（喆）.pdf".encode("gbk") + b"\"\r\n\r\nabc\r\n--XX--\r\n")
    parsed = parse_message(raw)
    assert (parsed.sender, parsed.subject, parsed.body_line) == ("xuhui@example.org", "回复：" + NAME, "材料见附件")
    assert [(a.name, a.subject) for a in parsed.attachments] == [("盖章版（喆）.pdf", NAME)]
    assert parsed.message_id.startswith("<sha256.")  # no Message-ID: the content is the key


@pytest.mark.parametrize("how", ["rfc2047", "rfc2231"])
def test_encoded_attachment_names_decode(how: str) -> None:
    parsed = parse_message(message("a@example.org", NAME, attachments=(("附件（喆）.docx", b"x", how),)).as_bytes())
    assert parsed.subject == NAME
    assert [a.name for a in parsed.attachments] == ["附件（喆）.docx"]


def test_a_forwarded_message_is_opened() -> None:
    inner = message("changning@example.org", "长宁区2024年上半年工作总结",
                    attachments=(("总结.pdf", b"%PDF", "rfc2047"),))
    outer = message("shszcj@126.com", "Fwd: 长宁区", parts=(forwarded(inner),))
    parsed = parse_message(outer.as_bytes())
    assert parsed.forwarded_senders == ["changning@example.org"]
    assert [(a.name, a.subject) for a in parsed.attachments] == [("总结.pdf", "长宁区2024年上半年工作总结")]


def test_staged_names() -> None:
    att = Attachment("附件1.pdf", b"", "徐汇区2024年上半年工作总结")
    assert staged_name(att, context="") == "徐汇区2024年上半年工作总结-附件1.pdf"
    assert staged_name(dataclasses.replace(att, name="徐汇区２０２４年上半年工作总结.pdf"), context="") \
        == "徐汇区２０２４年上半年工作总结.pdf"  # already named so (NFKC): left alone
    assert staged_name(dataclasses.replace(att, name="统计表.xlsx"), context="") == "统计表.xlsx"
    assert staged_name(dataclasses.replace(att, subject="", name="a/../b.pdf"), context="黄浦区半年总结") \
        == "黄浦区半年总结-a___b.pdf"  # no path survives


def test_the_sender_names_the_unit(plan) -> None:
    assert match_sender(plan, "XuHui@EXAMPLE.org").unit_id == "xuhui"
    assert match_sender(plan, "xuhui-lead@example.org").unit_id == "xuhui"  # any listed contact
    assert match_sender(plan, "shszcj@126.com", forwarded_from=["changning@example.org"]).unit_id == "changning"
    assert match_sender(plan, "stranger@example.org", forwarded_from=["changning@example.org"]).unit_id is None


def test_an_address_listed_for_two_units_names_neither(plan) -> None:
    from plan.schema import Contact

    units = dict(plan.units)
    units["jingan"] = units["jingan"].model_copy(update={"contacts": [
        *units["jingan"].contacts, Contact(name="共用", email="XUHUI@example.org")]})
    shared = dataclasses.replace(plan, units=units) if dataclasses.is_dataclass(plan) \
        else plan.model_copy(update={"units": units})
    found = match_sender(shared, "xuhui@example.org")
    assert found.unit_id is None
    assert found.reason == ("发件地址 xuhui@example.org 同时列为多个单位（徐汇区知识产权局、静安区知识产权局）"
                            "的联系人，无法确定是哪个单位；请在 plan.yaml 中只留一个单位使用该地址")


def test_imap_settings_refuse_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    from notifications.imap_settings import ImapSettings
    from plan.errors import DubanError

    for key in ("HOST", "PORT", "USER", "PASSWORD", "SSL", "FOLDER"):
        monkeypatch.delenv(f"DUBAN_IMAP_{key}", raising=False)
    assert ImapSettings.from_env() is None
    monkeypatch.setenv("DUBAN_IMAP_HOST", "imap.126.com")
    with pytest.raises(DubanError, match=r"^设置了 DUBAN_IMAP_HOST，但没有设置 DUBAN_IMAP_USER$"):
        ImapSettings.from_env()
    monkeypatch.setenv("DUBAN_IMAP_USER", "shszcj@126.com")
    monkeypatch.setenv("DUBAN_IMAP_PASSWORD", "auth-code")
    settings = ImapSettings.from_env()
    assert settings is not None and (settings.port, settings.ssl, settings.folder) == (993, True, "INBOX")
    assert "auth-code" not in repr(settings)
    monkeypatch.setenv("DUBAN_IMAP_PORT", "99999")
    with pytest.raises(DubanError, match=r"^环境变量 DUBAN_IMAP_PORT 的值「99999」无效$"):
        ImapSettings.from_env()
