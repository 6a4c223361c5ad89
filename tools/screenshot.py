"""Screenshot of the citizen's account on a phone, for the README: docs/screenshot-phone.png.

Starts the portal with demo data on a throw-away SQLite database (the same live server as the
browser tests, tests/e2e/server.py), logs in as the Musterstadt demo citizen in Debian's headless
Chromium at 390×844 CSS pixels and saves the visible part of "Mein Konto".

    .venv/bin/python tools/screenshot.py [OUTPUT.png]

The demo data follow today's date; set OPENKASSE_TODAY=YYYY-MM-DD for a reproducible picture.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: make the repository's packages importable

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e import browser as chromium  # noqa: E402
from tests.e2e.server import CITIZEN_EMAIL, PASSWORD, live_server  # noqa: E402

OUTPUT = ROOT / "docs" / "screenshot-phone.png"
SCALE = 2  # device pixels per CSS pixel: sharp on screens, small enough for the repository


def take(output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with live_server() as url, sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        try:
            context = chromium.phone_context(browser, url, scale=SCALE)
            page = context.new_page()
            chromium.log_in_citizen(page, CITIZEN_EMAIL, PASSWORD)
            page.get_by_role("heading", name="Mein Konto").wait_for()
            page.evaluate("document.fonts.ready")
            page.screenshot(path=str(output), animations="disabled", caret="hide")
            context.close()
        finally:
            browser.close()


def main() -> None:
    output = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else OUTPUT
    take(output)
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    print(f"{shown}: {output.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
