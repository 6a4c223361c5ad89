"""The decision on an objection through axe-core on a phone (390×844): the demo citizen lodges
an objection with a request for suspension, the clerk's objection detail page with both forms
(also with the decision form's error summary after sending it empty) decides it
(Zurückweisung), and the citizen's objection page shows the decision and the letter, which
downloads as a PDF saying so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import flat_text, log_in
from tests.e2e.server import CITIZEN_EMAIL, CLERK_EMAIL

pytestmark = pytest.mark.e2e

REASONS = "Der Bescheid berücksichtigt die Ermäßigung nicht (e2e)."
DECISION = "Die Satzung sieht diese Ermäßigung nicht vor (e2e)."


def _lodge(phone: Page) -> str:
    """Lodge an objection against the first notice that has the form; the received page."""
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    phone.goto("/musterstadt/bescheide")
    links = phone.get_by_role("link", name=re.compile("Widerspruch gegen Bescheid"))
    targets = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    for href in targets:
        phone.goto(href)
        button = phone.get_by_role("button", name="Widerspruch einlegen")
        if button.count():
            phone.get_by_label("Begründung").fill(REASONS)
            phone.get_by_label("Aussetzung der Vollziehung beantragen").check()
            button.click()
            expect(phone.get_by_role("main")).to_contain_text("noch nicht entschieden")
            return phone.url.split("#")[0]
    raise AssertionError("no notice of the demo citizen can be objected to")


def test_clerk_decides_and_the_citizen_sees_it(
    phone: Page, tmp_path: Path, console_errors: list[str]
) -> None:
    received = _lodge(phone)
    log_in(phone, "/backoffice/anmelden", CLERK_EMAIL, phone=True)
    phone.goto("/backoffice/widersprueche")
    phone.get_by_role("main").get_by_role("link").first.click()
    expect(phone.get_by_role("main")).to_contain_text(REASONS)
    expect(phone.get_by_role("heading", name="Entscheidung über den Widerspruch")).to_be_visible()
    check_phone_page(phone)

    phone.get_by_role("button", name="Über den Widerspruch entscheiden").click()
    expect(phone.get_by_role("alert")).to_contain_text("Bitte wählen Sie eine Entscheidung.")
    check_phone_page(phone)
    console_errors[:] = [e for e in console_errors if "status of 422" not in e]  # sent empty

    phone.get_by_label("Zurückweisung (Widerspruchsbescheid)").check()
    phone.get_by_label("Begründung", exact=True).fill(DECISION)
    phone.get_by_role("button", name="Über den Widerspruch entscheiden").click()
    expect(phone.get_by_role("main")).to_contain_text("zurückgewiesen am")
    expect(phone.get_by_role("link", name="Widerspruchsbescheid (PDF)")).to_be_visible()
    check_phone_page(phone)

    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    phone.goto(received.replace("/eingang", ""))  # the notice's objection page links to it
    phone.get_by_role("link", name=re.compile("Stand und Entscheidung")).click()
    main = phone.get_by_role("main")
    expect(main).to_contain_text("zurückgewiesen am")
    check_phone_page(phone)
    with phone.expect_download() as waiting:
        main.get_by_role("link", name="Widerspruchsbescheid herunterladen (PDF)").last.click()
    pdf = tmp_path / "widerspruchsbescheid.pdf"
    waiting.value.save_as(pdf)
    text = flat_text(pdf)
    assert "Widerspruchsbescheid" in text and DECISION in text
    assert "Rechtsbehelfsbelehrung" in text
