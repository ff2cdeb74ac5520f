"""The price job against a real HTTP quote server the test starts (Alpha Vantage's
TIME_SERIES_DAILY format): new closes are stored and heard by holders (portfolioChanged), a
failing symbol backs off, a big daily move notifies its holders once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from finora_gql.config import Settings
from finora_gql.investments import prices
from finora_gql.investments.models import Security
from tests.auth.test_auth_flows import promote_to_admin
from tests.flows import signed_in_user
from tests.investments.invest_flows import investment_account, portfolio, recorded, set_price
from tests.server import RunningServer
from tests.ws import graphql_ws, listening

NOTIFICATIONS = "{ notifications(first: 10) { edges { node { kind title data } } } }"


class QuoteServer:
    """Answers /query?function=TIME_SERIES_DAILY&symbol=X&apikey=K from `series`; `failing` symbols get
    Alpha Vantage's rate-limit note."""

    def __init__(self) -> None:
        self.series: dict[str, dict[str, str]] = {}
        self.failing: set[str] = set()
        self.requests: list[dict[str, list[str]]] = []
        quotes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlparse(self.path).query)
                quotes.requests.append(query)
                symbol = query.get("symbol", [""])[0]
                if query.get("apikey") != ["test-key"]:
                    body: dict[str, Any] = {"Error Message": "the parameter apikey is invalid or missing."}
                elif symbol in quotes.failing:
                    body = {"Note": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day."}
                else:
                    body = {"Meta Data": {"2. Symbol": symbol}, "Time Series (Daily)": {
                        day: {"1. open": close, "2. high": close, "3. low": close, "4. close": close, "5. volume": "1"}
                        for day, close in quotes.series.get(symbol, {}).items()}}
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> QuoteServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def quotes() -> Iterator[QuoteServer]:
    with QuoteServer() as server:
        yield server


def test_provider_is_chosen_by_settings() -> None:
    assert isinstance(prices.provider_for(Settings(_env_file=None)), prices.EmbeddedProvider)  # type: ignore[call-arg]
    configured = prices.provider_for(Settings(_env_file=None, price_provider="alphavantage",  # type: ignore[call-arg]
                                              price_api_url="http://quotes.test", price_api_key="k"))
    assert isinstance(configured, prices.AlphaVantageProvider) and configured.base_url == "http://quotes.test"


async def test_price_job_against_a_local_quote_server(server: RunningServer, quotes: QuoteServer) -> None:
    admin = await signed_in_user(server)
    await promote_to_admin(server, admin.user_id)
    for symbol in ("JOBA", "JOBB"):
        assert (await set_price(server, admin.access_token, symbol, "2024-03-01", "100", "USD"))["errors"] == []
    ann = await signed_in_user(server)
    account = (await investment_account(server, ann.access_token))["id"]
    for symbol in ("JOBA", "JOBB"):
        await recorded(server, ann.access_token, account, kind="BUY", date="2024-03-01", symbol=symbol, quantity="2",
                       amount="200")
    quotes.series["JOBA"] = {"2024-03-01": "100.0000", "2024-03-04": "110.5000"}
    quotes.failing.add("JOBB")
    provider = prices.AlphaVantageProvider(quotes.url, "test-key", timeout=10)
    rt = server.runtime
    now = dt.datetime(2024, 3, 5, 12, tzinfo=dt.UTC)

    async with graphql_ws(server.ws_url, {"authorization": f"Bearer {ann.access_token}"}) as ws:
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription { portfolioChanged { at reason } }")
        await listening(server, ann.user_id)
        async with rt.sessions() as session:
            report = await prices.refresh_prices(session, rt, provider, now=now)
        assert "JOBA" in report.refreshed and report.failed == ["JOBB"]
        assert report.notified == 1
        assert (await ws.receive(timeout=10))["payload"]["data"]["portfolioChanged"]["reason"] == "PRICE"

    # The new close is in the portfolio, from the feed.
    figures = await portfolio(server, ann.access_token, "2024-03-01", "2024-03-04")
    joba = next(h for h in figures["holdings"] if h["symbol"] == "JOBA")
    assert (joba["price"], joba["priceDate"], joba["priceSource"]) == ("110.5", "2024-03-04", "ALPHAVANTAGE")
    # The 10.5% move was notified once.
    notes = (await server.gql(NOTIFICATIONS, token=ann.access_token))["data"]["notifications"]["edges"]
    moves = [n["node"] for n in notes if n["node"]["kind"] == "PRICE_MOVE"]
    assert len(moves) == 1 and moves[0]["data"]["symbol"] == "JOBA" and moves[0]["data"]["changePercent"] == "10.50"
    assert moves[0]["title"] == "JOBA rose 10.50%"

    # JOBB backs off: skipped a minute later, tried again after 2 minutes, then waits 4.
    async with rt.sessions() as session:
        failing = (await session.exec(Security.__table__.select().where(Security.symbol == "JOBB"))).first()
        assert failing.refresh_failures == 1 and failing.next_refresh_at == now + dt.timedelta(minutes=2)
    asked = len(quotes.requests)
    async with rt.sessions() as session:
        again = await prices.refresh_prices(session, rt, provider, now=now + dt.timedelta(minutes=1))
    assert "JOBB" not in again.failed and again.skipped >= 1
    assert not any(r["symbol"] == ["JOBB"] for r in quotes.requests[asked:])
    async with rt.sessions() as session:
        later = await prices.refresh_prices(session, rt, provider, now=now + dt.timedelta(minutes=3))
        assert later.failed == ["JOBB"] and later.notified == 0  # the JOBA move was already told
        failing = (await session.exec(Security.__table__.select().where(Security.symbol == "JOBB"))).first()
        assert failing.refresh_failures == 2
        assert failing.next_refresh_at == now + dt.timedelta(minutes=3) + dt.timedelta(minutes=4)
    # Once it answers, the failures reset.
    quotes.failing.clear()
    quotes.series["JOBB"] = {"2024-03-04": "101"}
    async with rt.sessions() as session:
        recovered = await prices.refresh_prices(session, rt, provider, now=now + dt.timedelta(minutes=30))
        assert "JOBB" in recovered.refreshed
        failing = (await session.exec(Security.__table__.select().where(Security.symbol == "JOBB"))).first()
        assert (failing.refresh_failures, failing.next_refresh_at) == (0, None)


async def test_a_bad_answer_is_a_provider_error(quotes: QuoteServer) -> None:
    security = Security(symbol="X", name="X", currency="USD")
    with pytest.raises(prices.PriceProviderError, match="apikey"):
        await prices.AlphaVantageProvider(quotes.url, "wrong").daily_closes(None, security,  # type: ignore[arg-type]
                                                                            since=dt.date(2024, 1, 1))
    with pytest.raises(prices.PriceProviderError):
        await prices.AlphaVantageProvider("http://127.0.0.1:9", "k", timeout=2).daily_closes(
            None, security, since=dt.date(2024, 1, 1))  # type: ignore[arg-type]
    quotes.series["X"] = {"2024-01-02": "-5"}
    with pytest.raises(prices.PriceProviderError, match="bad close"):
        await prices.AlphaVantageProvider(quotes.url, "test-key").daily_closes(None, security,  # type: ignore[arg-type]
                                                                               since=dt.date(2024, 1, 1))
