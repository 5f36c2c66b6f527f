"""SMTP over STARTTLS on loopback with certificates made by openssl: a private CA trusted
through DUBAN_SMTP_CA_FILE, the right hint per certificate failure, and a warning when a
password would travel in clear text (issue #11)."""

from __future__ import annotations

import logging
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from notifications.delivery import DeliveryReport
from plan.errors import DubanError
from tests.test_delivery_smtp import deliver
from tests.test_notifications_samples import many_unit_notices, queue_notices

pytest_plugins = ["tests.smtp_server"]

SAN = "subjectAltName=DNS:localhost,IP:127.0.0.1"


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem (a private CA), server.pem signed by it, self.pem self-signed; keys beside."""
    folder = tmp_path_factory.mktemp("tls")
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "2", "-subj", "/CN=duban test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl(folder, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=localhost")
    (folder / "ext.cnf").write_text(f"{SAN}\nbasicConstraints=CA:FALSE\n"
                                    "extendedKeyUsage=serverAuth\n", encoding="ascii")
    _openssl(folder, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    _openssl(folder, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key",
             "-out", "self.pem", "-days", "2", "-subj", "/CN=localhost", "-addext", SAN)
    return folder


def _tls_server(certificates: Path, name: str, monkeypatch: pytest.MonkeyPatch,
                **kwargs) -> Iterator[tuple[Any, int]]:
    from tests.smtp_server import Recorder, free_port

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / f"{name}.pem", certificates / f"{name}.key")
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                            **kwargs)
    controller.start()
    for key in ("DUBAN_SMTP_USER", "DUBAN_SMTP_PASSWORD", "DUBAN_SMTP_FROM", "DUBAN_SMTP_CA_FILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {"DUBAN_SMTP_HOST": "127.0.0.1", "DUBAN_SMTP_PORT": str(port),
                       "DUBAN_SMTP_STARTTLS": "true", "DUBAN_SMTP_TIMEOUT": "10"}.items():
        monkeypatch.setenv(key, value)
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def ca_signed(certificates: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int]]:
    yield from _tls_server(certificates, "server", monkeypatch)


@pytest.fixture
def self_signed(certificates: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int]]:
    yield from _tls_server(certificates, "self", monkeypatch)


def test_a_private_ca_is_trusted_through_the_ca_file(workdir, certificates: Path, ca_signed,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    handler, port = ca_signed
    queue_notices(many_unit_notices(2))
    with pytest.raises(DubanError) as caught:
        deliver()
    assert caught.value.message == (f"SMTP 127.0.0.1:{port}（STARTTLS）的证书校验失败："
                                    "unable to get local issuer certificate")
    assert caught.value.hint == ("证书由系统不认识的 CA（例如单位内部 CA）签发：把该 CA 的证书存成 PEM 文件，"
                                 "设置 DUBAN_SMTP_CA_FILE=该文件")
    monkeypatch.setenv("DUBAN_SMTP_CA_FILE", str(certificates / "ca.pem"))
    assert deliver() == DeliveryReport(sent=2)
    assert len(handler.received) == 2


def test_a_self_signed_certificate_gets_its_own_hint(workdir, certificates: Path, self_signed,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _, port = self_signed
    queue_notices(many_unit_notices(1))
    monkeypatch.setenv("DUBAN_SMTP_CA_FILE", str(certificates / "ca.pem"))  # the wrong CA
    with pytest.raises(DubanError) as caught:
        deliver()
    assert caught.value.message == (f"SMTP 127.0.0.1:{port}（STARTTLS）的证书校验失败："
                                    "self-signed certificate")
    assert caught.value.hint == ("服务器用的是自签名证书：把这张证书存成 PEM 文件，设置 DUBAN_SMTP_CA_FILE=该文件"
                                 f"（当前 DUBAN_SMTP_CA_FILE={certificates / 'ca.pem'} 没有签发这张证书）")
    monkeypatch.setenv("DUBAN_SMTP_CA_FILE", str(certificates / "self.pem"))
    assert deliver() == DeliveryReport(sent=1)


def test_a_missing_ca_file_is_refused_before_anything_is_sent(workdir, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUBAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DUBAN_SMTP_CA_FILE", str(tmp_path / "nope.pem"))
    with pytest.raises(DubanError) as caught:
        deliver()
    assert caught.value.message == f"环境变量 DUBAN_SMTP_CA_FILE 指向的文件「{tmp_path / 'nope.pem'}」不存在"
    assert caught.value.hint == "填写签发邮件服务器证书的 CA 证书文件（PEM）的路径"


def test_a_password_in_clear_text_is_warned_about(workdir, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=True)

    from tests.smtp_server import login_server

    with login_server(authenticate, monkeypatch, "secret") as (_, port):
        queue_notices(many_unit_notices(2))
        with caplog.at_level(logging.WARNING, logger="duban.smtp"):
            assert deliver() == DeliveryReport(sent=2)
    warnings = [r.getMessage() for r in caplog.records if r.name == "duban.smtp"]
    assert warnings == [
        f"警告：SMTP 127.0.0.1:{port}（明文，用户 duban@example.org）没有加密（DUBAN_SMTP_STARTTLS=false），"
        "登录密码将以明文发送；请改用 STARTTLS（587 端口）或 DUBAN_SMTP_SSL=true（465 端口），"
        "只在可信的内网中继上这样设置"]
    assert "secret" not in caplog.text
