"""Small built-in pages for the links in emails: confirm an email address, choose a new password.

Our own files only (no CDN, no inline script), under a strict Content-Security-Policy. The token
stays in the page: the script sends it to /graphql in a POST body (verifyEmail, resetPassword),
then takes it out of the address bar. A link scanner that only GETs the page consumes nothing.
With FRONTEND_URL set, emails link to your own front end instead; these pages stay available.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/pages-static"
CSP_HEADER = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
PAGES = {"/verify-email": "verify-email.html", "/reset-password": "reset-password.html"}


async def page(request: Request) -> Response:
    html = (STATIC_DIR / PAGES[request.url.path]).read_text()
    return Response(html, media_type="text/html", headers={
        "content-security-policy": CSP_HEADER,
        "cache-control": "no-store",  # the address holds a one-time token
    })
