"""Citizen and clerk journeys in headless Chromium on a 390×844 phone, with axe on every page.

The server is real (Werkzeug over HTTP) with demo data (tests/e2e/server.py); the browser is
Debian's Chromium. Every page visited must pass axe-core's WCAG 2.1 A/AA and best-practice rules,
and the citizen's pages must not scroll sideways at 390 CSS pixels (WCAG 1.4.10 Reflow).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.server import CITIZEN_EMAIL, CLERK_EMAIL, PASSWORD

pytestmark = pytest.mark.e2e

KASSENZEICHEN = re.compile(r"^100 \d{8} \d{2}$")  # Musterstadt's prefix, grouped 3-8-2


def test_citizen_logs_in_and_sees_open_items(phone: Page) -> None:
    phone.goto("/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Online-Dienste Ihrer Kommune")
    check_phone_page(phone)

    phone.get_by_role("link", name="Stadt Musterstadt").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/$"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Stadt Musterstadt")
    check_phone_page(phone)

    phone.get_by_role("main").get_by_role("link", name="Anmelden").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/anmelden$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Anmelden")
    check_phone_page(phone)

    phone.get_by_label("E-Mail-Adresse").fill(CITIZEN_EMAIL)
    phone.get_by_label("Passwort").fill(PASSWORD)
    phone.get_by_role("button", name="Anmelden").click()

    expect(phone).to_have_url(re.compile(r"/musterstadt/konto$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    expect(phone.get_by_role("heading", level=2, name="Offene Posten")).to_be_visible()
    open_items = phone.get_by_role("region", name="Offene Posten").get_by_role("listitem")
    expect(open_items.first).to_be_visible()
    first_kassenzeichen = open_items.first.locator(".ok-ref")
    expect(first_kassenzeichen).to_have_text(KASSENZEICHEN)
    check_phone_page(phone)

    # Logging out lands on the municipal start page with a status message.
    phone.get_by_role("button", name="Abmelden").click()
    expect(phone.get_by_role("status")).to_have_text("Sie haben sich abgemeldet.")
    check_phone_page(phone)


def test_wrong_password_shows_german_error_and_keeps_the_email(phone: Page) -> None:
    phone.goto("/musterstadt/anmelden")
    phone.get_by_label("E-Mail-Adresse").fill(CITIZEN_EMAIL)
    phone.get_by_label("Passwort").fill("falsches-Passwort")
    phone.get_by_role("button", name="Anmelden").click()

    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Bitte prüfen Sie Ihre Angaben")
    expect(summary).to_contain_text("E-Mail-Adresse oder Passwort ist falsch.")
    expect(phone.get_by_label("E-Mail-Adresse")).to_have_value(CITIZEN_EMAIL)
    expect(phone.get_by_label("Passwort")).to_have_value("")
    expect(phone).to_have_url(re.compile(r"/musterstadt/anmelden$"))
    check_phone_page(phone)


def test_empty_registration_shows_errors_linked_to_their_fields(phone: Page) -> None:
    phone.goto("/musterstadt/registrieren")
    check_phone_page(phone)
    phone.get_by_role("button", name="Konto anlegen").click()

    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Bitte prüfen Sie Ihre Angaben")
    street = phone.get_by_label("Straße")
    expect(street).to_have_attribute("aria-invalid", "true")
    # The field's error message is its accessible description ...
    expect(street).to_have_accessible_description(re.compile("Bitte füllen Sie dieses Feld aus."))
    expect(phone.get_by_label("Nachname")).to_have_accessible_description(
        re.compile("Bitte geben Sie Ihren Nachnamen an.")
    )
    # ... and the summary links to the field.
    link = summary.get_by_role("link", name=re.compile(r"^Straße: Bitte füllen Sie"))
    expect(link).to_have_attribute("href", "#street")
    link.click()
    expect(street).to_be_focused()
    for label in ("Hausnummer", "Postleitzahl", "Ort", "E-Mail-Adresse"):
        expect(summary.get_by_role("link", name=re.compile(f"^{label}:"))).to_be_visible()
    check_phone_page(phone)


def test_clerk_finds_a_person_and_sees_the_claims(phone: Page) -> None:
    phone.goto("/backoffice/anmelden")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Anmeldung Sachbearbeitung")
    assert_accessible(phone)

    phone.get_by_label("E-Mail-Adresse").fill(CLERK_EMAIL)
    phone.get_by_label("Passwort").fill(PASSWORD)
    phone.get_by_role("button", name="Anmelden").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Personen suchen")
    assert_accessible(phone)

    phone.get_by_label("Name, Unternehmen, Personenkonto, Kassenzeichen oder Mandatsreferenz").fill(
        "Mustermann"
    )
    phone.get_by_role("button", name="Suchen").click()
    expect(phone.get_by_role("heading", level=2)).to_contain_text("Treffer für „Mustermann“")
    assert_accessible(phone)

    phone.get_by_role("link", name="Erika Mustermann").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Erika Mustermann")
    expect(phone.get_by_role("heading", level=2, name="Forderungen")).to_be_visible()
    claims = phone.get_by_role("table", name="Forderungen")
    expect(claims).to_contain_text("Grundsteuer")
    expect(claims.get_by_role("cell", name=KASSENZEICHEN).first).to_be_visible()
    assert_accessible(phone)
    # At 390px the wide tables scroll and axe cannot see the contrast of the hidden columns.
    phone.set_viewport_size({"width": 1280, "height": 800})
    assert_accessible(phone)


@pytest.mark.parametrize(
    ("slug", "name"),
    [("musterstadt", "Stadt Musterstadt"), ("beispielhausen", "Gemeinde Beispielhausen")],
)
def test_start_page_in_each_brand_colour(phone: Page, slug: str, name: str) -> None:
    """The header is drawn in the municipality's own colour; its text must stay readable."""
    phone.goto(f"/{slug}/")
    expect(phone.get_by_role("banner").get_by_role("link", name=name)).to_be_visible()
    check_phone_page(phone)


def test_accessibility_statement(phone: Page) -> None:
    phone.goto("/")
    phone.get_by_role("contentinfo").get_by_role("link", name="Barrierefreiheit").click()
    expect(phone).to_have_url(re.compile(r"/barrierefreiheit$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Erklärung zur Barrierefreiheit")
    check_phone_page(phone)


def test_error_page_is_accessible(phone: Page, console_errors: list[str]) -> None:
    response = phone.goto("/musterstadt/gibt-es-nicht")
    assert response is not None and response.status == 404
    expect(phone.get_by_role("heading", level=1)).to_have_text("Seite nicht gefunden")
    check_phone_page(phone)
    # Chromium logs the page's own 404 as a console error; that one is expected.
    console_errors[:] = [e for e in console_errors if "status of 404" not in e]


def test_account_needs_log_in_and_returns_there(phone: Page) -> None:
    phone.goto("/musterstadt/konto")
    expect(phone).to_have_url(re.compile(r"/musterstadt/anmelden\?next="))
    expect(phone.get_by_role("status")).to_have_text(
        "Bitte melden Sie sich an, um diese Seite zu sehen."
    )
    check_phone_page(phone)
    phone.get_by_label("E-Mail-Adresse").fill(CITIZEN_EMAIL)
    phone.get_by_label("Passwort").fill(PASSWORD)
    phone.get_by_role("button", name="Anmelden").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/konto$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
