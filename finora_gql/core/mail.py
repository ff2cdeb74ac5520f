"""Email sending infrastructure: message type, MIME building, SMTP and outbox mailers.

Nothing here knows about users or verification; domain code builds an `EmailMessage`
and hands it to whichever `Mailer` `build_mailer` chose:

* `SmtpMailer` delivers through an SMTP relay (STARTTLS or implicit TLS, optional AUTH);
* `OutboxMailer` is the embedded default and writes each message as an `.eml` file.

Both serialize the message through the same `build_mime`, so what lands in the outbox is
byte-for-byte the MIME structure that would have gone over the wire.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import os
import secrets
import ssl
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import aiosmtplib

__all__ = [
    "EmailMessage",
    "MailDeliveryError",
    "Mailer",
    "OutboxMailer",
    "SmtpMailer",
    "build_mailer",
    "build_mime",
    "read_outbox",
]

logger = logging.getLogger("finora.mail")

# Headers that build_mime owns; callers set them through EmailMessage fields instead.
_RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "mime-version", "content-type", "content-transfer-encoding"}
)


@dataclass(frozen=True)
class EmailMessage:
    """One email to one recipient. `headers` adds extra headers (e.g. a Message-ID to make
    retries idempotent, or Date); From/To/Subject/Content-* are not allowed there."""

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Snapshot the caller's mapping so later mutation can't change a queued message.
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))


class MailDeliveryError(Exception):
    """Sending failed. The cause is chained (`__cause__`).

    `temporary` is a retry hint: False for permanent SMTP replies (5xx, e.g. bad
    credentials or a refused recipient) and for certificate verification failures, which
    will not fix themselves; True for everything else (connection errors, timeouts, 4xx).
    """

    def __init__(
        self,
        message: str,
        *,
        message_id: str | None = None,
        temporary: bool = True,
        smtp_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message_id = message_id
        self.temporary = temporary
        self.smtp_code = smtp_code


@runtime_checkable
class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> str:
        """Send (or store) `message`; return the Message-ID header value used."""
        ...


def _address(value: str, what: str) -> str:
    """The bare addr-spec from 'Name <addr>' or 'addr'; ValueError if there is none."""
    addr = parseaddr(value)[1]
    if "@" not in addr:
        raise ValueError(f"{what} {value!r} is not an email address")
    return addr


def build_mime(message: EmailMessage, sender: str) -> MimeMessage:
    """Build the RFC 5322 message: text/plain, or multipart/alternative (text + html).

    Adds Date and a Message-ID on the sender's domain unless `message.headers` has them.
    Raises ValueError for malformed addresses, reserved headers in `message.headers`, or
    header values containing line breaks (header injection).
    """
    sender_addr = _address(sender, "sender")
    _address(message.to, "recipient")
    extra = dict(message.headers)
    lowered = {name.lower(): name for name in extra}
    reserved = sorted(set(lowered) & _RESERVED_HEADERS)
    if reserved:
        raise ValueError(f"headers may not set {', '.join(reserved)}; use EmailMessage fields")

    mime = MimeMessage(policy=email.policy.SMTP)
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = extra.pop(lowered["date"]) if "date" in lowered else format_datetime(datetime.now(UTC))
    if "message-id" in lowered:
        mime["Message-ID"] = extra.pop(lowered["message-id"])
    else:
        mime["Message-ID"] = make_msgid(domain=sender_addr.rpartition("@")[2])
    for name, value in extra.items():
        mime[name] = value

    mime.set_content(message.text)
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html")
    return mime


def _secret(value: Any) -> str | None:
    """Accept a plain string or anything with get_secret_value() (pydantic SecretStr)."""
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return getter() if callable(getter) else str(value)


class SmtpMailer:
    """Delivers through an SMTP server with aiosmtplib, one connection per message.

    `use_tls` (implicit TLS, usually port 465) takes precedence over `starttls`. With
    `starttls=True` the upgrade is mandatory: a server that doesn't offer STARTTLS fails
    the send instead of getting the message (and credentials) in plaintext. With both off
    the connection stays plaintext (local dev relays only).
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: Any = None,
        starttls: bool = True,
        use_tls: bool = False,
        timeout: float = 10.0,
        ca_file: str | os.PathLike[str] | None = None,
        validate_certs: bool = True,
    ) -> None:
        _address(sender, "sender")
        username = username or None
        password = _secret(password) or None
        if (username is None) != (password is None):
            raise ValueError("SMTP username and password must be given together")
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self._password = password
        self.use_tls = use_tls
        self.starttls = starttls and not use_tls
        self.timeout = timeout
        self.ca_file = os.fspath(ca_file) if ca_file is not None else None
        self.validate_certs = validate_certs
        if username is not None and not (self.use_tls or self.starttls):
            logger.warning("SMTP credentials for %s:%s will be sent without TLS", host, port)

    def __repr__(self) -> str:
        tls = "tls" if self.use_tls else "starttls" if self.starttls else "plain"
        return f"SmtpMailer({self.host}:{self.port}, {tls}, user={self.username!r})"

    async def send(self, message: EmailMessage) -> str:
        mime = build_mime(message, self.sender)
        message_id = str(mime["Message-ID"])
        try:
            await aiosmtplib.send(
                mime,
                sender=_address(self.sender, "sender"),
                recipients=[_address(message.to, "recipient")],
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                use_tls=self.use_tls,
                start_tls=self.starttls,  # True = required, never opportunistic
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                cert_bundle=self.ca_file,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            code = _smtp_code(exc)
            temporary = not ((code is not None and code >= 500) or _is_cert_error(exc))
            raise MailDeliveryError(
                f"sending {message_id} via {self.host}:{self.port} failed: {type(exc).__name__}: {exc}",
                message_id=message_id,
                temporary=temporary,
                smtp_code=code,
            ) from exc
        return message_id


def _is_cert_error(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:  # aiosmtplib may wrap the ssl error
        if isinstance(exc, ssl.SSLCertVerificationError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _smtp_code(exc: BaseException) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return exc.recipients[0].code
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code
    return None


class OutboxMailer:
    """Writes each message to `<directory>/<UTC timestamp>-<short id>.eml` (the embedded
    default when no SMTP server is configured). Files appear atomically, so anything
    watching the folder never sees a half-written message."""

    def __init__(self, directory: Path, sender: str = "Finora <no-reply@finora.local>") -> None:
        _address(sender, "sender")
        self.directory = Path(directory)
        self.sender = sender
        self._lock = threading.Lock()
        self._last_stamp: datetime | None = None

    def __repr__(self) -> str:
        return f"OutboxMailer({str(self.directory)!r})"

    def _next_stamp(self) -> datetime:
        # Strictly increasing within this mailer so file names sort in sending order even
        # when the clock is coarse or two messages land in the same microsecond.
        with self._lock:
            stamp = datetime.now(UTC)
            if self._last_stamp is not None and stamp <= self._last_stamp:
                stamp = self._last_stamp + timedelta(microseconds=1)
            self._last_stamp = stamp
            return stamp

    async def send(self, message: EmailMessage) -> str:
        mime = build_mime(message, self.sender)
        message_id = str(mime["Message-ID"])
        name = f"{self._next_stamp():%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(4)}.eml"
        path = await asyncio.to_thread(self._write, name, mime.as_bytes())
        logger.info("outbox: to=%s subject=%r file=%s", message.to, message.subject, path)
        return message_id

    def _write(self, name: str, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        # Dot-prefixed temp name in the same directory: never matched by *.eml, and
        # os.replace within one filesystem is atomic.
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def read_outbox(directory: Path) -> list[MimeMessage]:
    """Parse every `.eml` in `directory`, oldest first; [] if the folder doesn't exist.

    Files are stored with CRLF line ends (RFC 5322); parsing uses LF so that
    `get_body(...).get_content()` returns text as it was given to `EmailMessage`."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    parser = BytesParser(policy=email.policy.default)
    messages: list[MimeMessage] = []
    for path in sorted(directory.glob("*.eml"), key=lambda p: p.name):
        messages.append(parser.parsebytes(path.read_bytes().replace(b"\r\n", b"\n")))  # type: ignore[arg-type]
    return messages


def build_mailer(
    *,
    smtp_host: str | None,
    smtp_port: int = 587,
    mail_from: str,
    smtp_username: str | None = None,
    smtp_password: Any = None,
    smtp_starttls: bool = True,
    smtp_use_tls: bool = False,
    smtp_timeout: float = 10.0,
    smtp_ca_file: str | os.PathLike[str] | None = None,
    smtp_validate_certs: bool = True,
    outbox_dir: Path,
) -> Mailer:
    """SMTP when `smtp_host` is set, else the outbox folder. Parameter names match the
    Settings fields; `smtp_password` may be a str or a pydantic SecretStr."""
    if smtp_host:
        return SmtpMailer(
            smtp_host,
            smtp_port,
            mail_from,
            username=smtp_username,
            password=smtp_password,
            starttls=smtp_starttls,
            use_tls=smtp_use_tls,
            timeout=smtp_timeout,
            ca_file=smtp_ca_file,
            validate_certs=smtp_validate_certs,
        )
    return OutboxMailer(outbox_dir, sender=mail_from)
