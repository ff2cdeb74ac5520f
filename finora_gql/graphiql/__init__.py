"""GraphiQL served from our own files: no CDN, so it works offline and under a strict CSP."""

from __future__ import annotations

from html import escape
from pathlib import Path

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
