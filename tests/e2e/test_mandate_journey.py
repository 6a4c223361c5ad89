"""The Digitales Finanzkonto on a phone: Erika Mustermann grants a SEPA direct-debit mandate
(first with a mistyped IBAN), sees it listed, downloads its PDF confirmation and asks for a
change of address (a new address outside Musterstadt: it waits for a clerk).

Every page visited must pass axe-core (tests/e2e/a11y.py) and fit the 390 px phone. The live
server is shared by the whole session: the test finds its own mandate by the reference shown
after granting it, and the address change is left in review, so other tests see Erika's
address unchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.kernel import clock
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import flat_text, log_in
from tests.e2e.server import CITIZEN_EMAIL

pytestmark = pytest.mark.e2e

IBAN_TYPO = "DE89 3704 0044 0532 0130 01"  # one digit off: the check digits do not match
IBAN = "DE89 3704 0044 0532 0130 00"
REFERENCE = re.compile(r"^Lastschriftmandat (\w{3}-SEPA-\d{7})$")


def test_grant_a_mandate_download_it_and_ask_for_an_address_change(
    phone: Page, tmp_path: Path
) -> None:
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    account_url = phone.url

    # 1. The list of mandates, reached from the account's services.
    services = phone.get_by_role("navigation", name="Dienste")
    services.get_by_role("link", name="Lastschriftmandate").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/lastschrift$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Lastschriftmandate")
    check_phone_page(phone)

    # 2. The form: scope, account holder (prefilled), IBAN, the mandate text and the checkbox.
    phone.get_by_role("link", name="Neues Mandat erteilen").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/lastschrift/neu$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Lastschriftmandat erteilen")
    expect(phone.get_by_label("Kontoinhaberin oder Kontoinhaber")).to_have_value("Erika Mustermann")
    main = phone.get_by_role("main")
    expect(main).to_contain_text("Ich ermächtige die Stadtkasse Musterstadt")
    expect(main).to_contain_text("innerhalb von acht Wochen")
    check_phone_page(phone)

    phone.get_by_label("alle Steuern und Gebühren").check()
    phone.get_by_label("IBAN", exact=True).fill(IBAN_TYPO)
    phone.get_by_role("button", name="Mandat erteilen").click()

    # 3. Errors: the IBAN's check digits and the missing consent, the typed IBAN kept.
    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Bitte prüfen Sie Ihre Angaben")
    expect(summary).to_contain_text("Die Prüfziffer der IBAN stimmt nicht.")
    expect(summary).to_contain_text("Bitte kreuzen Sie an, dass Sie das Mandat erteilen")
    iban = phone.get_by_label("IBAN", exact=True)
    expect(iban).to_have_value(IBAN_TYPO)
    expect(iban).to_have_attribute("aria-invalid", "true")
    check_phone_page(phone)

    iban.fill(IBAN)
    phone.get_by_label("Ich erteile dieses SEPA-Lastschriftmandat").check()
    phone.get_by_role("button", name="Mandat erteilen").click()

    # 4. The confirmation with the mandate reference.
    heading = phone.get_by_role("heading", level=1)
    expect(heading).to_have_text(REFERENCE)
    match = REFERENCE.match(heading.inner_text().strip())
    assert match
    reference = match.group(1)
    expect(phone.get_by_role("status")).to_contain_text(
        f"Ihr Lastschriftmandat {reference} ist erteilt."
    )
    expect(phone.get_by_role("main")).to_contain_text("DE89 **** **** 3000")
    check_phone_page(phone)

    # 5. The PDF confirmation names the reference.
    with phone.expect_download() as download_info:
        phone.get_by_role("link", name=f"Bestätigung {reference} herunterladen (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"SEPA-Mandat-{reference}.pdf"
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert reference in flat_text(pdf)

    # 6. Listed as active.
    phone.get_by_role("link", name="Alle Lastschriftmandate").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Lastschriftmandate")
    expect(phone.get_by_role("main")).to_contain_text(reference)
    expect(phone.get_by_role("link", name=f"Mandat {reference} widerrufen")).to_be_visible()
    check_phone_page(phone)

    # 7. The address change from the account page.
    phone.goto(account_url)
    phone.get_by_role("link", name="Anschrift ändern").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/anschrift/aendern$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Anschrift ändern")
    check_phone_page(phone)

    phone.get_by_label("Straße", exact=True).fill("Hauptstraße")
    phone.get_by_label("Hausnummer").fill("12")
    phone.get_by_label("Postleitzahl").fill("1234")
    phone.get_by_label("Ort", exact=True).fill("Anderstadt")
    phone.get_by_role("button", name="Neue Anschrift mitteilen").click()
    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Die Postleitzahl hat fünf Ziffern.")
    expect(summary).to_contain_text("Bitte geben Sie das Datum des Umzugs an.")
    expect(phone.get_by_label("Straße", exact=True)).to_have_value("Hauptstraße")
    check_phone_page(phone)

    phone.get_by_label("Postleitzahl").fill("99001")
    moved_on = clock.today() - timedelta(days=2)
    phone.get_by_label("Seit wann wohnen Sie dort?").fill(moved_on.isoformat())
    phone.get_by_role("button", name="Neue Anschrift mitteilen").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Änderung der Anschrift")
    expect(phone.get_by_role("status")).to_contain_text("In Prüfung")
    check_phone_page(phone)
