"""The links in emails, opened in headless Chromium: confirm an email, choose a new password,
sign in; and GraphiQL's first screen. Chromium is Debian's `chromium` + `chromium-driver`
(installed by .ci/run), driven by Selenium with the system driver: nothing is downloaded."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from finora_gql.pages import CSP_HEADER
from tests.flows import PASSWORD, register
from tests.server import RunningServer, unique_email
from tests.smtp_sink import SmtpSink

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


async def in_browser(work: Callable[[], Any]) -> Any:
    """Selenium blocks; the server runs on this loop, so the browser works from a thread."""
    return await asyncio.to_thread(work)


def text_of(driver: Any, element_id: str, contains: str, timeout: float = 30) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: contains in d.find_element(By.ID, element_id).text)
    return driver.find_element(By.ID, element_id).text


def type_into(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def click(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, element_id).click()


def local(server: RunningServer, link: str) -> str:
    return link.replace(server.settings.links_base_url.rstrip("/"), server.base_url)


def link_in(message: Any, path: str) -> str:
    body = message.get_body(("plain",)).get_content()
    return next(word for word in body.split() if path in word and "token=" in word)


async def test_the_verification_link_confirms_and_the_page_signs_in(
    server: RunningServer, smtp_sink: SmtpSink, browser: Any
) -> None:
    email = unique_email("newcomer")
    assert (await register(server, email))["errors"] == []
    message = await smtp_sink.wait_for(lambda m: m["To"] == email and "Confirm" in m["Subject"], timeout=30)
    link = local(server, link_in(message, "/verify-email"))

    def use_the_link() -> tuple[str, str, str]:
        browser.get(link)
        status = text_of(browser, "status", "is confirmed")
        address = browser.current_url
        type_into(browser, "password", PASSWORD)
        click(browser, "sign-in-button")
        return status, address, text_of(browser, "sign-in-status", "Signed in as")

    status, address, signed_in = await in_browser(use_the_link)
    assert email in status and email in signed_in
    assert "token=" not in address  # taken out of the address bar once read
    me = await server.gql("mutation($i: LoginInput!) { login(input: $i) { user { emailVerified } } }",
                          {"i": {"email": email, "password": PASSWORD}})
    assert me["data"]["login"]["user"]["emailVerified"] is True

    # The same link again: the page says why it does not work.
    again = await in_browser(lambda: (browser.get(link), text_of(browser, "status", "invalid"))[1])
    assert "expired or already used" in again


async def test_the_reset_link_sets_a_new_password_and_the_page_signs_in(
    server: RunningServer, smtp_sink: SmtpSink, browser: Any
) -> None:
    email = unique_email("forgetful")
    assert (await register(server, email))["errors"] == []
    requested = await server.gql("mutation($e: String!) { requestPasswordReset(input: {email: $e}) { ok } }", {"e": email})
    assert "errors" not in requested, requested
    message = await smtp_sink.wait_for(lambda m: m["To"] == email and "Reset" in m["Subject"], timeout=30)
    link = local(server, link_in(message, "/reset-password"))
    new_password = "a brand new passphrase"

    def use_the_link() -> tuple[str, str, str]:
        browser.get(link)
        type_into(browser, "new-password", "short")
        click(browser, "reset-button")  # refused by the browser's minlength: nothing sent
        type_into(browser, "new-password", "password1234")
        click(browser, "reset-button")
        weak = text_of(browser, "status", "common")
        type_into(browser, "new-password", new_password)
        click(browser, "reset-button")
        changed = text_of(browser, "status", "password was changed")
        type_into(browser, "password", new_password)
        click(browser, "sign-in-button")
        return weak, changed, text_of(browser, "sign-in-status", "Signed in as")

    weak, changed, signed_in = await in_browser(use_the_link)
    assert "common" in weak and email in signed_in
    old = await server.gql("mutation($i: LoginInput!) { login(input: $i) { errors { code } } }",
                           {"i": {"email": email, "password": PASSWORD}})
    assert old["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_a_link_without_token_says_so(server: RunningServer, browser: Any) -> None:
    said = await in_browser(lambda: (browser.get(server.base_url + "/verify-email"),
                                     text_of(browser, "status", "no token"))[1])
    assert "email again" in said


async def test_pages_have_a_strict_csp_and_no_inline_script(server: RunningServer) -> None:
    async with server.client() as client:
        for path in ("/verify-email?token=x", "/reset-password?token=x"):
            response = await client.get(path)
            assert response.status_code == 200
            assert response.headers["content-security-policy"] == CSP_HEADER
            assert response.headers["cache-control"] == "no-store"
            assert "<script>" not in response.text and "onclick" not in response.text
    assert "default-src 'none'" in CSP_HEADER and "script-src 'self'" in CSP_HEADER


async def test_graphiql_opens_with_a_sample_and_honours_query_links(server: RunningServer, browser: Any) -> None:
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def editor_text(url: str) -> str:
        browser.get(url)
        browser.execute_script("window.localStorage.clear()")
        browser.get(url)
        WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"))
        return browser.execute_script(
            "return document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")

    sample = await in_browser(lambda: editor_text(server.base_url + "/graphql"))
    assert "Authorization" in sample and "login(" in sample
    linked = await in_browser(lambda: editor_text(server.base_url + "/graphql?query=" + quote("{ __typename }")))
    assert linked == "{ __typename }"


async def test_graphiql_script_is_gzipped_and_cached(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        response = await client.get("/graphiql-static/graphiql.min.js", headers={"accept-encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert int(response.headers["content-length"]) < 1_500_000 < len(response.content)
        assert "max-age" in response.headers["cache-control"]
        again = await client.get("/graphiql-static/graphiql.min.js", headers={"if-none-match": response.headers["etag"]})
        assert again.status_code == 304
        missing = await client.get("/graphiql-static/../app.py")
        assert missing.status_code == 404


def test_frontend_url_sends_the_links_to_your_own_front_end() -> None:
    from finora_gql.auth import emails
    from finora_gql.config import Settings

    own = Settings(_env_file=None, public_url="https://api.example.com", frontend_url="https://app.example.com/")
    builtin = Settings(_env_file=None, public_url="https://api.example.com")
    assert own.links_base_url == "https://app.example.com/" and builtin.links_base_url == "https://api.example.com"
    message = emails.verification(to="a@example.com", name="Ann", base_url=own.links_base_url, token="t0k")
    assert "https://app.example.com/verify-email?token=t0k" in message.text
    reset = emails.password_reset(to="a@example.com", name="Ann", base_url=builtin.links_base_url, token="t0k")
    assert "https://api.example.com/reset-password?token=t0k" in reset.text
