"""Mail infrastructure against a real SMTP server (aiosmtpd with STARTTLS + AUTH)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from finora_gql.core.mail import (
    EmailMessage,
    MailDeliveryError,
    Mailer,
    OutboxMailer,
    SmtpMailer,
    build_mailer,
    build_mime,
    read_outbox,
)
from tests.smtp_sink import SmtpSink

SENDER = "Finora <no-reply@finora.example>"


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(tmp_path / "certs") as server:
        yield server


def smtp_mailer(sink: SmtpSink, **overrides) -> SmtpMailer:
    params = {
        "username": sink.username,
        "password": sink.password,
        "ca_file": sink.ca_file,
        "timeout": 5.0,
    }
    params.update(overrides)
    return SmtpMailer(sink.host, sink.port, SENDER, **params)


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


async def test_multipart_delivered_over_starttls_with_auth(sink: SmtpSink) -> None:
    mailer = smtp_mailer(sink)
    assert isinstance(mailer, Mailer)
    message = EmailMessage(
        to="Ann Example <ann@example.com>",
        subject="Verify your email – Finora",
        text="Hello Ann,\nopen https://finora.example/verify?t=abc\n",
        html="<p>Hello Ann, <a href='https://finora.example/verify?t=abc'>verify</a></p>",
    )

    message_id = await mailer.send(message)

    delivery = await sink.wait_for_delivery(lambda d: d.message["Message-ID"] == message_id)
    assert delivery.tls is True
    assert delivery.auth_user == sink.username
    assert delivery.mail_from == "no-reply@finora.example"
    assert delivery.rcpt_tos == ("ann@example.com",)

    received = await sink.wait_for(lambda m: m["To"].addresses[0].addr_spec == "ann@example.com")
    assert received is delivery.message
    assert message_id.endswith("@finora.example>")
    assert received["Subject"] == "Verify your email – Finora"
    assert received["From"] == SENDER
    assert received["Date"] is not None
    assert received.get_content_type() == "multipart/alternative"
    assert body(received, "plain") == message.text
    assert body(received, "html").strip() == message.html
    assert len(sink.messages) == 1


async def test_text_only_and_caller_message_id(sink: SmtpSink) -> None:
    mailer = smtp_mailer(sink)
    message = EmailMessage(
        to="bob@example.com",
        subject="plain",
        text="just text",
        headers={"Message-ID": "<fixed-123@finora.example>", "X-Finora-Kind": "test"},
    )

    assert await mailer.send(message) == "<fixed-123@finora.example>"

    received = await sink.wait_for(lambda m: m["Message-ID"] == "<fixed-123@finora.example>")
    assert received.get_content_type() == "text/plain"
    assert received.get_content().strip() == "just text"
    assert received["X-Finora-Kind"] == "test"


async def test_wrong_password_raises_delivery_error(sink: SmtpSink) -> None:
    mailer = smtp_mailer(sink, password="not-the-password")
    with pytest.raises(MailDeliveryError) as info:
        await mailer.send(EmailMessage(to="ann@example.com", subject="s", text="t"))
    assert info.value.smtp_code == 535
    assert info.value.temporary is False
    assert info.value.message_id
    assert sink.messages == []


async def test_missing_credentials_rejected_by_server(sink: SmtpSink) -> None:
    mailer = smtp_mailer(sink, username=None, password=None)
    with pytest.raises(MailDeliveryError):
        await mailer.send(EmailMessage(to="ann@example.com", subject="s", text="t"))
    assert sink.messages == []


async def test_starttls_required_no_plaintext_downgrade() -> None:
    with SmtpSink(tls=False, auth=False) as plain:
        mailer = SmtpMailer(plain.host, plain.port, SENDER, timeout=5.0)  # starttls=True default
        with pytest.raises(MailDeliveryError, match="STARTTLS"):
            await mailer.send(EmailMessage(to="ann@example.com", subject="secret", text="t"))
        assert plain.messages == []

        # The server itself accepts mail: the failure above is the refused downgrade.
        plaintext = SmtpMailer(plain.host, plain.port, SENDER, starttls=False, timeout=5.0)
        await plaintext.send(EmailMessage(to="ann@example.com", subject="allowed", text="t"))
        delivery = await plain.wait_for_delivery()
        assert delivery.tls is False
        assert delivery.message["Subject"] == "allowed"


async def test_certificate_validation_fails_without_ca_file(sink: SmtpSink) -> None:
    mailer = smtp_mailer(sink, ca_file=None)
    with pytest.raises(MailDeliveryError) as info:
        await mailer.send(EmailMessage(to="ann@example.com", subject="s", text="t"))
    assert "certificate" in str(info.value).lower()
    assert info.value.temporary is False
    assert sink.messages == []


async def test_connection_refused_is_temporary_delivery_error(tmp_path: Path) -> None:
    with SmtpSink(tls=False, auth=False) as server:
        port = server.port
    mailer = SmtpMailer("127.0.0.1", port, SENDER, starttls=False, timeout=2.0)
    with pytest.raises(MailDeliveryError) as info:
        await mailer.send(EmailMessage(to="ann@example.com", subject="s", text="t"))
    assert info.value.temporary is True


async def test_outbox_writes_parseable_eml(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = tmp_path / "data" / "outbox"  # created on first send
    mailer = OutboxMailer(outbox, sender=SENDER)
    assert isinstance(mailer, Mailer)
    assert read_outbox(outbox) == []

    with caplog.at_level(logging.INFO, logger="finora.mail"):
        first_id = await mailer.send(
            EmailMessage(to="ann@example.com", subject="First", text="one", html="<b>one</b>")
        )
        second_id = await mailer.send(EmailMessage(to="bob@example.com", subject="Second", text="two"))

    files = sorted(outbox.iterdir())
    assert b"\r\n" in files[0].read_bytes()  # RFC 5322 line ends on disk
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temp files left behind
    assert all(f.name[:8].isdigit() and f.name.split("-")[0].endswith("Z") for f in files)

    first, second = read_outbox(outbox)
    assert (first["Message-ID"], second["Message-ID"]) == (first_id, second_id)
    assert first["Subject"] == "First" and first["To"] == "ann@example.com"
    assert first["From"] == SENDER
    assert first.get_content_type() == "multipart/alternative"
    assert body(first, "plain") == "one\n"
    assert body(first, "html").strip() == "<b>one</b>"
    assert second["Subject"] == "Second"
    assert second.get_content().strip() == "two"

    records = [r for r in caplog.records if r.name == "finora.mail"]
    assert len(records) == 2
    assert all(r.levelno == logging.INFO for r in records)
    line = records[0].getMessage()
    assert "ann@example.com" in line and "First" in line and str(files[0]) in line


def test_build_mime_rejects_header_injection_and_reserved_headers() -> None:
    with pytest.raises(ValueError):
        build_mime(EmailMessage(to="ann@example.com", subject="hi\r\nBcc: x@evil.test", text="t"), SENDER)
    with pytest.raises(ValueError, match="from"):
        build_mime(EmailMessage(to="a@example.com", subject="s", text="t", headers={"From": "x@y.z"}), SENDER)
    with pytest.raises(ValueError):
        build_mime(EmailMessage(to="not an address", subject="s", text="t"), SENDER)


def test_headers_are_snapshotted() -> None:
    headers = {"X-A": "1"}
    message = EmailMessage(to="a@example.com", subject="s", text="t", headers=headers)
    headers["X-A"] = "2"
    assert message.headers["X-A"] == "1"


def test_build_mailer_chooses_backend(tmp_path: Path) -> None:
    class Secret:
        def get_secret_value(self) -> str:
            return "pw"

    smtp = build_mailer(
        smtp_host="smtp.example.com",
        smtp_port=465,
        mail_from=SENDER,
        smtp_username="user",
        smtp_password=Secret(),
        smtp_use_tls=True,
        outbox_dir=tmp_path,
    )
    assert isinstance(smtp, SmtpMailer)
    assert (smtp.host, smtp.port, smtp.use_tls, smtp.starttls) == ("smtp.example.com", 465, True, False)
    assert "pw" not in repr(smtp)

    outbox = build_mailer(smtp_host=None, mail_from=SENDER, outbox_dir=tmp_path / "outbox")
    assert isinstance(outbox, OutboxMailer)
    assert outbox.directory == tmp_path / "outbox"
