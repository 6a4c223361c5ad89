"""Fixtures for the browser tests: a live server with demo data and headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e import browser as chromium
from tests.e2e.server import live_server as running_live_server


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """Base URL (no trailing slash) of the portal with demo data, served over HTTP."""
    with running_live_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and uncaught script errors of the ``phone`` page, one line each."""
    return []


@pytest.fixture
def phone(browser: Browser, live_server: str, console_errors: list[str]) -> Iterator[Page]:
    """A fresh page (own cookies) on a 390×844 phone; relative URLs go to the live server.

    Fails the test on any console error or uncaught script error, e.g. a stylesheet or font
    that the Content-Security-Policy blocks. A test that expects one removes it from
    ``console_errors``.
    """
    context = chromium.phone_context(browser, live_server)
    page = context.new_page()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            console_errors.append(f"{msg.text} ({msg.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: console_errors.append(f"script error: {exc} ({page.url})"))
    yield page
    context.close()
    assert not console_errors, "errors in the browser console:\n" + "\n".join(console_errors)
