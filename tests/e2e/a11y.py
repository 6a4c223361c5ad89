"""axe-core in the page: WCAG 2.1 A/AA and axe's best practices; any violation fails the test.

The bundled axe.min.js of axe-playwright-python is evaluated through the DevTools protocol
(``page.evaluate``), which the portal's strict CSP (``script-src 'self'``) does not apply to; a
``<script>`` tag added to the page would be blocked.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.sync_api import Page

from tests.e2e.browser import PHONE_WIDTH

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")

# WCAG 2.0 and 2.1, levels A and AA (BITV 2.0 / EN 301 549), plus Deque's best practices
# (landmarks, one h1, heading order, ...). All of them pass on every page; keep it that way.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
OPTIONS = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}


@cache
def axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe on the page once it has loaded; returns axe's violation objects.

    Waiting for the load event matters after a click: the new document may already be parsed
    while its stylesheets are still on their way, and an unstyled page has other colours and
    widths.
    """
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    results: dict[str, Any] = page.evaluate("options => axe.run(document, options)", OPTIONS)
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            target = " ".join(" > ".join(t) if isinstance(t, list) else t for t in node["target"])
            lines.append(f"    {target}")
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            if summary:
                lines.append(f"      {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page) -> None:
    """Fail with a readable list (rule, impact, help, selectors) on any axe violation."""
    violations = axe_violations(page)
    assert not violations, (
        f"axe found {len(violations)} accessibility violation(s) on {page.url}:\n"
        + format_violations(violations)
    )


def assert_no_sideways_scrolling(page: Page) -> None:
    """WCAG 1.4.10 Reflow: at 320 CSS px (here: a 390 px phone) nothing scrolls sideways."""
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width}px wide on a {PHONE_WIDTH}px phone"


def check_phone_page(page: Page) -> None:
    """axe passes and the page fits the phone's width."""
    assert_accessible(page)
    assert_no_sideways_scrolling(page)
