"""The offline GraphiQL page: local assets only, no inline script, escaped attributes (no browser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from finora_gql.graphiql import CSP_HEADER, STATIC_DIR, graphiql_page

PREFIX = "/graphiql-static"


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_bodies: list[str] = []
        self.title = ""
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "title"):
            self._open = tag
            if tag == "script":
                self.script_bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open == "script":
            self.script_bodies[-1] += data
        elif self._open == "title":
            self.title += data


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def asset_urls(parser: PageParser) -> list[str]:
    urls = []
    for tag, attrs in parser.tags:
        if tag == "script":
            assert attrs.get("src"), "every <script> must load a file"
            urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href") is not None:
            urls.append(attrs["href"])
    return urls


@pytest.mark.parametrize("prefix", [PREFIX, PREFIX + "/"])
def test_every_asset_is_a_local_file_under_the_static_prefix(prefix: str) -> None:
    parser = parse(graphiql_page(endpoint="/graphql", subscription_endpoint="/graphql", static_prefix=prefix))
    urls = asset_urls(parser)
    assert any(url.endswith(".css") for url in urls)
    assert sum(tag == "script" for tag, _ in parser.tags) >= 5  # react, react-dom, graphql-ws, graphiql, init
    for url in urls:
        assert url.startswith(PREFIX + "/"), url
        name = url.removeprefix(PREFIX + "/")
        path = (STATIC_DIR / name).resolve()
        assert path.is_relative_to(STATIC_DIR.resolve()), url
        assert path.is_file() and path.stat().st_size > 0, f"{url} is not in {STATIC_DIR}"


def test_page_has_no_inline_script_and_no_remote_url() -> None:
    page = graphiql_page(endpoint="/graphql", subscription_endpoint="/graphql", static_prefix=PREFIX)
    parser = parse(page)
    assert parser.script_bodies and all(body.strip() == "" for body in parser.script_bodies)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:[a-z][a-z0-9+.-]*:|//)""", page, re.IGNORECASE)
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)  # no inline handlers
    assert parser.title == "Finora GraphQL"


def test_endpoints_are_passed_as_escaped_data_attributes() -> None:
    evil = '/graphql"><script>alert(1)</script>'
    evil_ws = "/ws'><img src=x onerror=alert(2)>&"
    page = graphiql_page(endpoint=evil, subscription_endpoint=evil_ws, static_prefix=PREFIX)
    assert evil not in page and "<script>alert" not in page and "<img" not in page
    assert "&quot;&gt;&lt;script&gt;" in page
    parser = parse(page)
    (root,) = [attrs for tag, attrs in parser.tags if attrs.get("id") == "graphiql"]
    assert root["data-endpoint"] == evil  # the browser decodes exactly what was given
    assert root["data-subscription-endpoint"] == evil_ws
    assert [tag for tag, _ in parser.tags].count("script") == 5


def test_static_prefix_is_escaped_too() -> None:
    page = graphiql_page(endpoint="/graphql", subscription_endpoint="/graphql", static_prefix='/s"><script>x')
    assert '"><script>x' not in page


def test_init_script_reads_the_attributes_the_page_sets() -> None:
    init = (STATIC_DIR / "init.js").read_text()
    for attribute in ("data-endpoint", "data-subscription-endpoint"):
        assert attribute in graphiql_page(endpoint="/g", subscription_endpoint="/g", static_prefix=PREFIX)
        assert attribute in init
    assert "shouldPersistHeaders: true" in init and "isHeadersEditorEnabled: true" in init


def test_every_static_file_is_accounted_for_in_versions() -> None:
    versions = (STATIC_DIR / "VERSIONS.txt").read_text()
    for path in STATIC_DIR.iterdir():
        if path.name != "VERSIONS.txt":
            assert path.name in versions, f"{path.name} missing from VERSIONS.txt"
    for package in ("graphiql@3.8.3", "react@18.2.0", "react-dom@18.2.0", "graphql-ws@5.16.2"):
        assert package in versions


def test_csp_forbids_inline_and_remote_scripts() -> None:
    directives = {
        name: values
        for name, *values in (part.split() for part in CSP_HEADER.split(";") if part.strip())
    }
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["connect-src"] == ["'self'"]  # 'self' covers ws(s) to the same host
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["font-src"] == ["'self'", "data:"]  # graphiql.min.css inlines its fonts
