"""GraphiQL served from our own files: no CDN, so it works offline and under a strict CSP."""

from __future__ import annotations

import functools
import gzip
import hashlib
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC_DIR = Path(__file__).parent / "static"

CSP_HEADER = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphql-ws.min.js", "graphiql.min.js")


def graphiql_page(*, endpoint: str, subscription_endpoint: str, static_prefix: str) -> str:
    prefix = escape(static_prefix.rstrip("/"), quote=True)
    scripts = "\n".join(f'    <script src="{prefix}/{name}"></script>' for name in _SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Finora GraphQL</title>
    <link rel="stylesheet" href="{prefix}/graphiql.min.css">
    <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
  </head>
  <body>
    <div id="graphiql" data-endpoint="{escape(endpoint, quote=True)}"
         data-subscription-endpoint="{escape(subscription_endpoint, quote=True)}">Loading GraphiQL…</div>
{scripts}
    <script src="{prefix}/init.js"></script>
  </body>
</html>
"""


# --- the assets: compressed once, cached by browsers ----------------------------------------

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
CACHE_CONTROL = "public, max-age=86400"  # a day; then revalidated with the ETag (an upgrade changes it)


@functools.lru_cache(maxsize=16)
def _asset(name: str) -> tuple[bytes, bytes, str] | None:
    """(plain, gzipped, etag) of a static file, read and compressed once per process."""
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR.resolve()) or not path.is_file() or path.suffix not in _TYPES:
        return None
    plain = path.read_bytes()
    return plain, gzip.compress(plain, compresslevel=9, mtime=0), '"' + hashlib.sha256(plain).hexdigest()[:32] + '"'


async def static_asset(request: Request) -> Response:
    """GraphiQL's files (graphiql.min.js is 3.5 MB, ~1 MB gzipped) with gzip, ETag and max-age."""
    name = request.path_params["name"]
    asset = _asset(name)
    if asset is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    plain, packed, etag = asset
    headers = {"etag": etag, "cache-control": CACHE_CONTROL, "vary": "accept-encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    media_type = _TYPES[Path(name).suffix]
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed, media_type=media_type, headers={**headers, "content-encoding": "gzip"})
    return Response(plain, media_type=media_type, headers=headers)
