"""The clerk's run screen through axe-core: a water billing before the reading deadline is
refused at its preview with what it would do (meters estimated, readings waiting) and a
confirmation box; ticked, the preview offers to start it (not started here: other browser tests
rely on the demo's meters)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from core.kernel import clock
from tests.e2e.a11y import assert_accessible
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL

pytestmark = pytest.mark.e2e


def test_early_water_billing_asks_for_confirmation(
    new_page: Callable[..., Page], console_errors: list[str]
) -> None:
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.goto("/backoffice/veranlagung")
    assert_accessible(clerk)
    clerk.get_by_label("Lauf").select_option("water_fee")
    clerk.get_by_label("Jahr").fill(str(clock.today().year))  # its reading period runs on
    clerk.get_by_role("button", name="Vorschau anzeigen").click()
    expect(clerk.get_by_text("Geschätzt würden").first).to_be_visible()
    expect(clerk.get_by_label("Ich bestätige", exact=False)).not_to_be_checked()
    expect(clerk.get_by_role("button", name="Lauf starten")).to_have_count(0)
    assert_accessible(clerk)
    clerk.get_by_label("Ich bestätige", exact=False).check()
    clerk.get_by_role("button", name="Vorschau anzeigen").click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("Vorschau: Wasserabrechnung")
    expect(clerk.get_by_text("Zähler werden geprüft")).to_be_visible()
    expect(clerk.get_by_text("Geschätzt würden").first).to_be_visible()
    expect(clerk.get_by_role("button", name="Lauf starten")).to_be_visible()
    assert_accessible(clerk)
    clerk.get_by_role("link", name="Angaben ändern").click()
    clerk.get_by_label("Jahr").fill("abc")
    clerk.get_by_role("button", name="Vorschau anzeigen").click()
    expect(clerk.get_by_role("alert").get_by_text("vierstellig")).to_be_visible()
    expect(clerk.get_by_label("Jahr")).to_have_value("abc")
    assert_accessible(clerk)
    console_errors[:] = [e for e in console_errors if "status of 422" not in e]  # bad year
