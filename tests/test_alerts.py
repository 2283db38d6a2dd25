"""`python -m dashboard alerts`: last week's unusual municipalities, e-mailed to subscribed captains through a real
SMTP server started by the test (aiosmtpd on 127.0.0.1), in both languages, each message audited; a relay whose
certificate is not verified (self-signed, or for another host) gets neither the password nor a message."""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from dashboard.commands.alerts import AlertSettingsError, last_complete_week, relay_from_url, subscriptions
from dashboard.commands.serve import free_port
from dashboard.settings import PROJECT_ROOT
from queries.schema import audit_event
from tests.test_expected import history  # noqa: F401 (fixture: Beloeil's week of 8 in 2025-W10)


class Inbox:
    """An SMTP handler keeping every message it is handed, every sender it is told and every login it is shown."""

    def __init__(self) -> None:
        self.messages, self.senders, self.logins = [], [], []

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.senders.append(address)
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, data):
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.logins.append((mechanism, data.login.decode(), data.password.decode(), encrypted))
        return AuthResult(success=True)


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@dataclass(frozen=True)
class Certificates:
    """PEM files made for the test: a CA, a relay certificate it signed for 127.0.0.1 and localhost, one it signed
    for evil.invalid, and a self-signed one for evil.invalid."""

    ca: Path
    relay: tuple[Path, Path]
    evil_signed: tuple[Path, Path]
    evil_self_signed: tuple[Path, Path]


def _certificate(directory: Path, name: str, common_name: str, issuer=None, *, ca: bool = False,
                 hosts: tuple[str, ...] = ()) -> tuple[Path, Path, object, object]:
    """A certificate and its key written as PEM, signed by issuer (certificate, key) or by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_certificate, issuer_key = issuer or (None, key)
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer_certificate.subject if issuer_certificate else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        names = [x509.IPAddress(ipaddress.ip_address(host)) if host[0].isdigit() else x509.DNSName(host)
                 for host in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                        critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    certificate_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return certificate_path, key_path, certificate, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    directory = tmp_path_factory.mktemp("certificates")
    ca_path, _, ca_certificate, ca_key = _certificate(directory, "ca", "Relais test CA", ca=True)
    relay = _certificate(directory, "relay", "localhost", (ca_certificate, ca_key), hosts=("localhost", "127.0.0.1"))
    evil = _certificate(directory, "evil", "evil.invalid", (ca_certificate, ca_key), hosts=("evil.invalid",))
    evil_self = _certificate(directory, "evil-self", "evil.invalid", hosts=("evil.invalid",))
    return Certificates(ca_path, relay[:2], evil[:2], evil_self[:2])


@pytest.fixture
def tls_relay():
    """Start relays on 127.0.0.1 offering STARTTLS ('smtp') or TLS from the start ('smtps') with a certificate."""
    started = []

    def start(scheme: str, certificate: tuple[Path, Path]) -> tuple[Controller, Inbox]:
        handler = Inbox()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        # aiosmtpd counts only STARTTLS as TLS for AUTH: a server with TLS from the start must be told.
        tls = {"tls_context": context} if scheme == "smtp" else {"ssl_context": context, "auth_require_tls": False}
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=handler.authenticate,
                                **tls)
        controller.start()
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


def _alerts(database_url: str, *arguments: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LANGUAGE": "en", "RELAIS_USER": "cron",
                   "RELAIS_APP_URL": "https://relais.example", **variables}
    return subprocess.run([sys.executable, "-m", "dashboard", "alerts", *arguments], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def test_each_captain_gets_his_services_digest_in_both_languages(history, database_url, inbox):  # noqa: F811
    controller, handler = inbox
    done = _alerts(database_url, "--week", "2025-W10", "--send",
                   RELAIS_SMTP_URL=f"smtp+plain://127.0.0.1:{controller.port}",
                   RELAIS_ALERT_SUBSCRIPTIONS="cap@riprsl.test=RIPRSL; cap@sps.test=SPS")
    assert done.returncode == 0, done.stderr
    assert "2025-W10 RIPRSL: Beloeil (8)" in done.stdout
    received = {recipients[0]: message for recipients, message in handler.messages}
    assert set(received) == {"cap@riprsl.test", "cap@sps.test"}
    riprsl = received["cap@riprsl.test"]
    body = riprsl.get_content()
    assert "semaine 2025-W10" in riprsl["Subject"] and "week 2025-W10" in riprsl["Subject"]
    assert "Beloeil : 8 interventions (attendu 1,0, limite haute 4)" in body
    assert "Beloeil: 8 interventions (expected 1.0, upper end 4)" in body
    assert "https://relais.example/overview?period=custom&from=2025-03-03&to=2025-03-09&service=RIPRSL" in body
    # Counts and municipalities only: no file number of the data set appears.
    assert not any(f"E{number}" in body for number in range(1, 200))
    sps = received["cap@sps.test"].get_content()
    assert "rien d'inhabituel" in sps and "nothing unusual" in sps and "Beloeil" not in sps
    with history.connect() as connection:
        rows = connection.execute(select(audit_event.c.action, audit_event.c.detail).order_by(audit_event.c.id)).all()
    sent = [json.loads(detail) for action, detail in rows if action == "alert_sent"]
    assert sorted((row["to"], row["unusual"]) for row in sent) == [("cap@riprsl.test", 1), ("cap@sps.test", 0)]
    assert [action for action, _ in rows][-1] == "alerts"


def test_nothing_is_sent_in_clear_to_a_server_without_starttls(history, database_url, inbox):  # noqa: F811
    controller, handler = inbox
    done = _alerts(database_url, "--week", "2025-W10", "--send",
                   RELAIS_SMTP_URL=f"smtp://127.0.0.1:{controller.port}", RELAIS_ALERT_SUBSCRIPTIONS="a@b.test=RIPRSL")
    assert done.returncode == 1 and "does not offer STARTTLS" in done.stderr
    assert handler.messages == []


def _sent(engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_event.c.detail).where(audit_event.c.action == "alert_sent")).all()
    return [json.loads(detail) for (detail,) in rows]


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
@pytest.mark.parametrize(
    ("certificate", "ca_file", "words"),
    [("evil_self_signed", False, "self-signed certificate"),
     # Signed by the trusted CA, but for another host: the host name is checked too.
     ("evil_signed", True, "IP address mismatch"),
     # A good certificate of an internal CA the system does not trust, and no CA file given.
     ("relay", False, "unable to get local issuer certificate")],
)
def test_a_relay_whose_certificate_is_not_verified_gets_neither_password_nor_digest(
        history, database_url, certificates, tls_relay, scheme, certificate, ca_file, words):  # noqa: F811
    controller, handler = tls_relay(scheme, getattr(certificates, certificate))
    variables = {"RELAIS_SMTP_CA_FILE": str(certificates.ca)} if ca_file else {}
    done = _alerts(database_url, "--week", "2025-W10", "--send",
                   RELAIS_SMTP_URL=f"{scheme}://alerts:s3cret-pass@127.0.0.1:{controller.port}",
                   RELAIS_ALERT_SUBSCRIPTIONS="cap@riprsl.test=RIPRSL; cap@sps.test=SPS", **variables)
    assert done.returncode == 1
    assert "the certificate of the relay 127.0.0.1 could not be verified" in done.stderr and words in done.stderr
    assert "RELAIS_SMTP_CA_FILE" in done.stderr
    # Said once: the second subscriber is not tried against the same relay.
    assert done.stderr.count("could not be verified") == 1
    assert (handler.logins, handler.senders, handler.messages) == ([], [], [])
    assert _sent(history) == []


@pytest.mark.parametrize(("scheme", "host"), [("smtp", "localhost"), ("smtp", "127.0.0.1"), ("smtps", "127.0.0.1")])
def test_a_relay_with_a_certificate_of_the_configured_ca_gets_the_digest(
        history, database_url, certificates, tls_relay, scheme, host):  # noqa: F811
    controller, handler = tls_relay(scheme, certificates.relay)
    done = _alerts(database_url, "--week", "2025-W10", "--send",
                   RELAIS_SMTP_URL=f"{scheme}://alerts:s3cret-pass@{host}:{controller.port}",
                   RELAIS_SMTP_CA_FILE=str(certificates.ca), RELAIS_ALERT_SUBSCRIPTIONS="cap@riprsl.test=RIPRSL")
    assert done.returncode == 0, done.stderr
    # The login came over TLS (the relay saw an encrypted session), then the one digest.
    assert [login[1:] for login in handler.logins] == [("alerts", "s3cret-pass", True)]
    ((recipients, message),) = handler.messages
    assert recipients == ["cap@riprsl.test"] and "Beloeil: 8 interventions" in message.get_content()
    assert [row["to"] for row in _sent(history)] == ["cap@riprsl.test"]


def test_an_unreadable_ca_file_stops_before_any_connection(
        history, database_url, tmp_path, tls_relay, certificates):  # noqa: F811
    controller, handler = tls_relay("smtp", certificates.relay)
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate", encoding="utf-8")
    for ca_file in (str(tmp_path / "missing.pem"), str(not_pem)):
        done = _alerts(database_url, "--week", "2025-W10", "--send",
                       RELAIS_SMTP_URL=f"smtp://alerts:s3cret-pass@127.0.0.1:{controller.port}",
                       RELAIS_SMTP_CA_FILE=ca_file, RELAIS_ALERT_SUBSCRIPTIONS="cap@riprsl.test=RIPRSL")
        assert done.returncode == 2 and f"RELAIS_SMTP_CA_FILE ({ca_file}) is not a readable PEM file" in done.stderr
    assert (handler.logins, handler.senders) == ([], [])


def test_a_login_is_never_sent_over_a_plain_connection_to_another_machine(monkeypatch):
    """Whatever built the relay, send() checks the socket: a plain connection to a remote host gets no password."""
    import smtplib

    from dashboard.commands import alerts

    class PlainServer:
        sock = object()
        logins = []

        def __init__(self, *_args, **_options):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *_exc):
            return False

        def ehlo(self):
            pass

        def login(self, user, password):
            self.logins.append(user)

        def send_message(self, _message):
            raise AssertionError("sent")

    monkeypatch.setattr(smtplib, "SMTP", PlainServer)
    relay = alerts.Relay("mail.example.org", 25, "plain", "alerts", "s3cret-pass")
    with pytest.raises(smtplib.SMTPException, match="pas chiffrée"):
        alerts.send(relay, alerts.EmailMessage(), alerts.tls_context())
    assert PlainServer.logins == []


def test_without_send_it_only_prints(history, database_url, inbox):  # noqa: F811
    controller, handler = inbox
    done = _alerts(database_url, "--week", "2025-W10", RELAIS_SMTP_URL=f"smtp+plain://127.0.0.1:{controller.port}",
                   RELAIS_ALERT_SUBSCRIPTIONS="a@b.test=RIPRSL")
    assert done.returncode == 0 and "Beloeil (8)" in done.stdout and handler.messages == []


@pytest.mark.parametrize(("url", "words"), [("smtp+plain://mail.example.org:25", "vers cette machine"),
                                            ("http://mail.example.org", "RELAIS_SMTP_URL doit être")])
def test_unsafe_or_unreadable_relays_are_refused(url, words):
    with pytest.raises(AlertSettingsError, match=words):
        relay_from_url(url)
    relay = relay_from_url("smtp://alerts%40relais:s%3Dcret@smtp.example.org")
    assert (relay.port, relay.security, relay.user, relay.password) == (587, "starttls", "alerts@relais", "s=cret")
    assert (relay_from_url("smtps://a:b@smtp.example.org").port, relay_from_url("smtps://smtp.example.org").security,
            relay_from_url("smtp+plain://127.0.0.1").security) == (465, "tls", "plain")


def test_subscriptions_and_the_default_week():
    from datetime import datetime

    from queries.localtime import LOCAL_TIMEZONE

    assert subscriptions(" a@x.ca = riprsl , sps ;b@y.ca=SPS;") == {"a@x.ca": ("RIPRSL", "SPS"), "b@y.ca": ("SPS",)}
    with pytest.raises(AlertSettingsError):
        subscriptions("nobody=RIPRSL")
    assert last_complete_week(datetime(2026, 12, 7, 8, 0, tzinfo=LOCAL_TIMEZONE)) == "2026-W49"
