"""Mail with a mail server's security on: implicit TLS, STARTTLS, a login whose password
comes from the OS keyring — against aiosmtpd with a certificate from a throwaway CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.fail
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from jaraco.classes import properties

from headless_agent.alerts.channels import DeliveryFailed, send
from headless_agent.alerts.channels import test_payload as notification
from headless_agent.alerts.config import Channel, ConfigProblems, load_config
from tests.alerts.receivers import _Mailbox, free_port

USER, PASSWORD = "alerts", "correct horse battery staple"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An OS keyring stand-in: no Secret Service daemon runs here. The product's code
    goes through keyring's real API, as it would with the desktop's keyring."""

    @properties.classproperty
    def priority(cls) -> float:
        # Never viable on its own: keyring must not pick it for the rest of the run just
        # because the class exists; the fixture sets it, and puts the real one back.
        raise RuntimeError("set by the memory_keyring fixture only")

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(before)


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def _server_context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    good = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=good, handled=False)


def _mail(port: int, security: str, ca: Path | None, **extra: Any) -> Channel:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "sender": "atlhyper@example.com",
        "to": ["oncall@example.com"],
        **({"ca_file": str(ca)} if ca else {}),
        **extra,
    }
    return Channel("mail", "smtp", "en", settings, {"password": PASSWORD} if extra else {})


async def test_implicit_tls_delivers_and_an_unknown_certificate_is_refused(
    authority: trustme.CA, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    mailbox = _Mailbox()
    server = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        ssl_context=_server_context(authority),
        server_hostname="127.0.0.1",
    )
    server.start()
    try:
        await send(_mail(server.port, "tls", ca), notification(0.0))
        [message] = mailbox.messages
        assert message["To"] == "oncall@example.com"
        with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
            await send(_mail(server.port, "tls", None), notification(1.0))
        assert len(mailbox.messages) == 1
    finally:
        server.stop()


async def test_starttls_with_a_login_and_a_wrong_password_said_in_words(
    authority: trustme.CA, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    mailbox = _Mailbox()
    server = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=_server_context(authority),
        require_starttls=True,
        authenticator=_check_login,
        auth_require_tls=True,
    )
    server.start()
    try:
        await send(_mail(server.port, "starttls", ca, username=USER), notification(0.0))
        assert len(mailbox.messages) == 1
        wrong = _mail(server.port, "starttls", ca, username=USER)
        wrong = Channel(wrong.name, wrong.type, "en", wrong.settings, {"password": "nope"})
        with pytest.raises(DeliveryFailed, match="refused the login") as caught:
            await send(wrong, notification(1.0))
        assert not caught.value.retry  # another try would be refused the same way
        # A server that requires STARTTLS takes nothing in plain text.
        with pytest.raises(DeliveryFailed):
            await send(_mail(server.port, "plain", None), notification(2.0))
        assert len(mailbox.messages) == 1
    finally:
        server.stop()


def _settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "alerts.toml"
    path.write_text(
        f"""
[[channels]]
name = "mail"
type = "smtp"
host = "127.0.0.1"
port = {free_port()}
username = "{USER}"
password_keyring = "atlhyper-smtp"
sender = "atlhyper@example.com"
to = ["oncall@example.com"]
"""
    )
    return path


def test_a_password_from_the_keyring(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    path = _settings_file(tmp_path)
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, environ={})
    [problem] = caught.value.problems
    assert problem.startswith("line 8: channels[0].password_keyring: nothing is stored")
    assert "keyring set atlhyper-smtp alerts" in problem
    memory_keyring.set_password("atlhyper-smtp", USER, PASSWORD)
    config = load_config(path, environ={})
    assert config.channels["mail"].secrets["password"] == PASSWORD
    assert PASSWORD not in repr(config)


def test_no_keyring_on_this_machine_is_said_plainly(tmp_path: Path) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(ConfigProblems) as caught:
            load_config(_settings_file(tmp_path), environ={})
    finally:
        keyring.set_keyring(before)
    assert "no OS keyring is available here" in caught.value.problems[0]
