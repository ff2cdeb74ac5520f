"""A real SMTP server for tests: aiosmtpd in its own thread, STARTTLS + AUTH by default.

    sink = SmtpSink(tmp_path)          # or SmtpSink() for a private temp dir
    sink.start()
    try:
        mailer = SmtpMailer(sink.host, sink.port, "App <app@example.com>",
                            username=sink.username, password=sink.password,
                            ca_file=sink.ca_file)
        await mailer.send(...)
        msg = await sink.wait_for(lambda m: m["To"] == "ann@example.com")
    finally:
        sink.stop()

The certificate comes from a throwaway CA generated per sink (`ca_file`); the server
certificate is valid for `localhost` and `127.0.0.1`. Every accepted message is appended
to `messages` (parsed with policy=default, CRLF line ends turned into LF) and to `deliveries` together with what the server
saw: envelope, whether TLS was active, and the authenticated user.
"""

from __future__ import annotations

import asyncio
import email.policy
import hmac
import ipaddress
import secrets
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Delivery", "SmtpSink", "make_test_certificates"]


@dataclass(frozen=True)
class Delivery:
    message: EmailMessage
    mail_from: str
    rcpt_tos: tuple[str, ...]
    tls: bool  # the session had completed STARTTLS (or was implicit TLS)
    auth_user: str | None  # login of the AUTH that succeeded, None if not authenticated


def make_test_certificates(directory: Path, hostname: str = "localhost") -> tuple[Path, Path, Path]:
    """Write a throwaway CA and a server cert/key signed by it (SAN: hostname, 127.0.0.1,
    ::1). Returns (ca_file, cert_file, key_file)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "finora test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(hostname),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_file = directory / "smtp-test-ca.pem"
    cert_file = directory / "smtp-test-cert.pem"
    key_file = directory / "smtp-test-key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


class _EphemeralPortController(Controller):
    """Controller bound to port 0; learns the real port before start() returns (no
    find-a-free-port race)."""

    def _create_server(self):  # type: ignore[override]
        create = super()._create_server()

        async def bind() -> asyncio.AbstractServer:
            server = await create
            self.port = server.sockets[0].getsockname()[1]
            return server

        return bind()


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list) -> str:
        stall = self._sink._take_stall(address)
        if stall:
            # Before DATA nothing is accepted yet: a client that dies here has delivered nothing.
            self._sink._record_stall()
            await asyncio.sleep(stall)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # SMTP content is CRLF; parse with LF line ends so get_content() reads naturally.
        raw = envelope.original_content.replace(b"\r\n", b"\n")
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        refusal = self._sink._take_refusal(message)
        if refusal is not None:
            self._sink.refused.append(message)
            return refusal
        login = getattr(session.auth_data, "login", None)
        if isinstance(login, bytes):
            login = login.decode()
        self._sink._record(
            Delivery(
                message=message,  # type: ignore[arg-type]
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                tls=session.ssl is not None,
                auth_user=login if session.authenticated else None,
            )
        )
        return "250 Message accepted for delivery"


class SmtpSink:
    """Real SMTP server on 127.0.0.1:<free port> recording what it receives.

    tls=True: STARTTLS offered and required before MAIL. auth=True: AUTH (PLAIN/LOGIN)
    required and only allowed after STARTTLS, accepting `username`/`password`.
    tls=False, auth=False gives a plain server without the STARTTLS extension.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        tls: bool = True,
        auth: bool = True,
        username: str = "finora-test",
        password: str | None = None,
    ) -> None:
        if auth and not tls:
            raise ValueError("auth=True needs tls=True (AUTH is only allowed after STARTTLS)")
        self.tls = tls
        self.auth = auth
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(16)
        self._workdir = workdir
        self._own_workdir: Path | None = None
        self.ca_file: str | None = None
        self.port: int = 0
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._refusals: list[list] = []
        self._refusals_lock = threading.Lock()
        self.refused: list[EmailMessage] = []
        self._stalls: list[tuple[str, float]] = []
        self.stalled = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._controller: _EphemeralPortController | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        if self._controller is not None:
            raise RuntimeError("SmtpSink already started")
        kwargs: dict[str, Any] = {}
        if self.tls:
            workdir = self._workdir
            if workdir is None:
                workdir = self._own_workdir = Path(tempfile.mkdtemp(prefix="smtp-sink-"))
            ca_file, cert_file, key_file = make_test_certificates(Path(workdir))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_file, key_file)
            self.ca_file = str(ca_file)
            kwargs.update(tls_context=context, require_starttls=True)
        if self.auth:
            kwargs.update(
                auth_required=True,
                auth_require_tls=True,
                authenticator=self._authenticate,
            )
        controller = _EphemeralPortController(
            _Handler(self), hostname=self.host, port=0, server_hostname="localhost", **kwargs
        )
        controller.start()
        self._controller = controller
        self.port = controller.port
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
        if self._own_workdir is not None:
            shutil.rmtree(self._own_workdir, ignore_errors=True)
            self._own_workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- received mail ---------------------------------------------------------------

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [d.message for d in self.deliveries]

    def refuse(self, subject_contains: str, times: int, reply: str = "451 4.3.0 Try again later", *,
               to: str | None = None) -> None:
        """Refuse the next `times` messages whose subject contains `subject_contains` (and go `to`)."""
        with self._refusals_lock:
            self._refusals.append([subject_contains, times, reply, to])

    def stall_next_recipient(self, seconds: float, to: str) -> None:
        """Make the next RCPT command for `to` hang for `seconds` (to catch a sender mid-delivery).
        Only for `to`: the sink is shared, and another test's email must not take the stall."""
        with self._refusals_lock:
            self._stalls.append((to, seconds))

    def _take_stall(self, address: str) -> float | None:
        with self._refusals_lock:
            for index, (to, seconds) in enumerate(self._stalls):
                if to == address:
                    del self._stalls[index]
                    return seconds
            return None

    def _record_stall(self) -> None:
        with self._refusals_lock:
            self.stalled += 1

    def _take_refusal(self, message: EmailMessage) -> str | None:
        with self._refusals_lock:
            for rule in self._refusals:
                addressed = rule[3] is None or rule[3] == message["To"]
                if rule[0] in str(message["Subject"]) and rule[1] > 0 and addressed:
                    rule[1] -= 1
                    return rule[2]
        return None

    def clear(self) -> None:
        with self._lock:
            self.deliveries.clear()

    async def wait_for(
        self, predicate: Callable[[EmailMessage], bool] = lambda _m: True, timeout: float = 5
    ) -> EmailMessage:
        """First received message (already here or arriving within `timeout` seconds)
        matching `predicate`. Never blocks the caller's event loop; the SMTP server runs
        on its own loop in another thread and wakes us thread-safely."""
        return (await self.wait_for_delivery(lambda d: predicate(d.message), timeout)).message

    async def wait_for_delivery(
        self, predicate: Callable[[Delivery], bool] = lambda _d: True, timeout: float = 5
    ) -> Delivery:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        checked = 0
        deadline = loop.time() + timeout
        with self._lock:
            self._waiters.append(waiter)
        try:
            while True:
                event.clear()  # before reading, so a delivery after the read re-sets it
                with self._lock:
                    snapshot = self.deliveries[checked:]
                for delivery in snapshot:
                    if predicate(delivery):
                        return delivery
                checked += len(snapshot)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            with self._lock:
                self._waiters.remove(waiter)
        subjects = [str(m["Subject"]) for m in self.messages]
        raise TimeoutError(f"no matching email within {timeout}s; received subjects: {subjects}")

    # -- server-thread side ----------------------------------------------------------

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the waiting loop has closed meanwhile
                pass

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = hmac.compare_digest(auth_data.login, self.username.encode()) and hmac.compare_digest(
            auth_data.password, self.password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
