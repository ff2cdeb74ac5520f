"""The emails auth sends, as text and HTML."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import urlencode

from finora_gql.core.mail import EmailMessage


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def _message(to: str, subject: str, greeting: str, lines: list[str], link: str | None, action: str | None) -> EmailMessage:
    text = "\n\n".join([greeting, *lines, *([f"{action}: {link}"] if link else []), "— Finora"])
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in lines)
    button = f'<p><a href="{escape(link)}">{escape(action or link)}</a></p>' if link else ""
    html = f"<html><body><p>{escape(greeting)}</p>{paragraphs}{button}<p>— Finora</p></body></html>"
    return EmailMessage(to=to, subject=subject, text=text, html=html)


def verification(*, to: str, name: str, base_url: str, token: str) -> EmailMessage:
    return _message(
        to,
        "Confirm your email for Finora",
        f"Hi {name},",
        ["Confirm this address to finish setting up your Finora account. The link works for 24 hours."],
        _link(base_url, "/verify-email", token),
        "Confirm email",
    )


def registration_attempt(*, to: str, name: str, base_url: str) -> EmailMessage:
    return _message(
        to,
        "Someone tried to register with your address",
        f"Hi {name},",
        [
            "Someone tried to create a Finora account with this email address, which already has one. "
            "Nothing changed in your account.",
            "If it was you, sign in instead; if you forgot your password, reset it here.",
        ],
        f"{base_url.rstrip('/')}/reset-password",
        "Reset your password",
    )


def password_reset(*, to: str, name: str, base_url: str, token: str) -> EmailMessage:
    return _message(
        to,
        "Reset your Finora password",
        f"Hi {name},",
        [
            "Someone asked to reset the password of your Finora account. The link works once, for one hour.",
            "If it wasn't you, ignore this email: your password stays as it is.",
        ],
        _link(base_url, "/reset-password", token),
        "Choose a new password",
    )


def account_locked(*, to: str, name: str, until: datetime, attempts: int) -> EmailMessage:
    return _message(
        to,
        "Your Finora account was locked",
        f"Hi {name},",
        [
            f"After {attempts} failed sign-in attempts we locked your account until "
            f"{until:%Y-%m-%d %H:%M} UTC.",
            "If this wasn't you, reset your password once the lock ends.",
        ],
        None,
        None,
    )
