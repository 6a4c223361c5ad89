"""Debian's Chromium through Playwright (no downloaded browsers) and a phone-sized context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE_WIDTH = 390
PHONE_HEIGHT = 844
DESKTOP_WIDTH = 1280
DESKTOP_HEIGHT = 800


def launch(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)


def phone_context(browser: Browser, base_url: str, *, scale: int = 3) -> BrowserContext:
    options: dict[str, Any] = {
        "viewport": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        "device_scale_factor": scale,
        "is_mobile": True,
        "has_touch": True,
        "locale": "de-DE",
        "base_url": base_url,
    }
    return browser.new_context(**options)


def desktop_context(browser: Browser, base_url: str) -> BrowserContext:
    """A desktop-sized context (the back office is used at a desk)."""
    return browser.new_context(
        viewport={"width": DESKTOP_WIDTH, "height": DESKTOP_HEIGHT},
        locale="de-DE",
        base_url=base_url,
    )


def log_in_citizen(
    page: Page, email: str, password: str, municipality: str = "musterstadt"
) -> None:
    """Log in through the municipal log-in form (the page must be on the live server)."""
    page.goto(f"/{municipality}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"**/{municipality}/konto")
