"""Fixtures for the browser tests: a live server with demo data, its own localstripe as its
Stripe server, and headless Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.e2e import browser as chromium
from tests.e2e.server import LiveServer, register_webhook, serving, stripe_config
from tests.localstripe import running_localstripe


@pytest.fixture(scope="session")
def e2e_localstripe() -> Iterator[str]:
    """Base URL of a localstripe for the live server alone (not the one of tests/web: its
    webhook would send those tests' events to the live server)."""
    with running_localstripe() as base:
        yield base


@pytest.fixture(scope="session")
def live_app(e2e_localstripe: str) -> Iterator[LiveServer]:
    """The live server (``url``, ``database_url``, ``app``); localstripe is its Stripe and
    delivers signed events to its webhook."""
    with serving(stripe_config(e2e_localstripe)) as server:
        register_webhook(e2e_localstripe, server.url)
        yield server


@pytest.fixture(scope="session")
def live_server(live_app: LiveServer) -> str:
    """Base URL (no trailing slash) of the portal with demo data, served over HTTP."""
    return live_app.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def console_errors() -> Iterator[list[str]]:
    """Console errors and uncaught script errors of every page a test opened, one line each.

    Fails the test on any of them, e.g. a stylesheet or font that the Content-Security-Policy
    blocks. A test that expects one removes it from the list.
    """
    errors: list[str] = []
    yield errors
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)


def _watched_page(context: BrowserContext, console_errors: list[str]) -> Page:
    page = context.new_page()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            console_errors.append(f"{msg.text} ({msg.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: console_errors.append(f"script error: {exc} ({page.url})"))
    return page


@pytest.fixture
def phone(browser: Browser, live_server: str, console_errors: list[str]) -> Iterator[Page]:
    """A fresh page (own cookies) on a 390×844 phone; relative URLs go to the live server.

    Console errors fail the test (see ``console_errors``).
    """
    context = chromium.phone_context(browser, live_server)
    yield _watched_page(context, console_errors)
    context.close()


@pytest.fixture
def new_page(
    browser: Browser, live_server: str, console_errors: list[str]
) -> Iterator[Callable[..., Page]]:
    """Opens further pages, each in its own context (own cookies), for a second person in the
    same test: ``new_page()`` on a phone, ``new_page(desktop=True)`` at 1280×800."""
    contexts: list[BrowserContext] = []

    def open_page(*, desktop: bool = False) -> Page:
        context = (
            chromium.desktop_context(browser, live_server)
            if desktop
            else chromium.phone_context(browser, live_server)
        )
        contexts.append(context)
        return _watched_page(context, console_errors)

    yield open_page
    for context in contexts:
        context.close()
