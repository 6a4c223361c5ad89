"""The dog-tax journey end to end: a citizen registers a listed breed on her phone, a clerk
approves it, the citizen downloads the change notice, whose QR codes are decoded from the
rendered PDF, and the payment link works without log-in and shows no personal data.

Every page visited must pass axe-core (tests/e2e/a11y.py); the citizen's pages must also not
scroll sideways at 390 CSS pixels. The live server is shared by the whole session: the dog gets
a fresh name and the new notice is told apart from the ones there were before, so the test does
not depend on the order of the tests.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.kernel import clock
from core.kernel.references import is_valid_rf
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import (
    EPC_HEADER,
    EURO,
    cards,
    cents,
    log_in,
    pdf_text,
    qr_codes,
    recipient_street,
    tamper,
)
from tests.e2e.server import CITIZEN_EMAIL, CLERK_EMAIL

pytestmark = pytest.mark.e2e

CASH_OFFICE = "Stadtkasse Musterstadt"
IBAN = "DE89370400440532013000"
IBAN_GROUPED = "DE89 3704 0044 0532 0130 00"
BREED = "Rottweiler"  # on Musterstadt's list of dangerous breeds: the clerk reviews it
NOTICE_TITLE = re.compile(
    r"^(Änderungsbescheid über die Hundesteuer|Bescheid über die Festsetzung der Hundesteuer) "
    r"(\d{4})$"
)
DOWNLOADED = re.compile(r"Abgerufen: \d{2}\.\d{2}\.\d{4}( \d{2}:\d{2})? \(.+\)")
KASSENZEICHEN = re.compile(r"^100 \d{8} \d{2}$")  # Musterstadt's prefix, grouped 3-8-2


def acquired_on(today: date) -> date:
    """A few days ago, but in this year and before December.

    Musterstadt's liability starts the month after the dog is taken in: a dog taken in this
    December would change nothing this year (so there would be no notice), and one taken in
    last December would bring a notice for last year as well.
    """
    day = max(today - timedelta(days=3), date(today.year, 1, 1))
    return min(day, date(today.year, 11, 30))


# --------------------------------------------------------------------------- helpers


def notice_numbers(page: Page) -> set[str]:
    expect(page.get_by_role("heading", level=1)).to_have_text("Meine Bescheide")
    numbers = page.locator("dt", has_text="Bescheid-Nr.").locator("xpath=../dd")
    return {text.strip() for text in numbers.all_inner_texts()}


# --------------------------------------------------------------------------- the journey


def test_dog_registration_review_notice_and_payment_link(
    phone: Page,
    new_page: Callable[..., Page],
    live_server: str,
    tmp_path: Path,
    console_errors: list[str],
) -> None:
    today = clock.today()
    dog_name = f"Hasso {uuid.uuid4().hex[:6].upper()}"

    # 1. The citizen registers a Rottweiler on her phone.
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    check_phone_page(phone)
    account_url = phone.url

    phone.get_by_role("navigation", name="Dienste").get_by_role(
        "link", name="Meine Bescheide"
    ).click()
    notices_before = notice_numbers(phone)
    check_phone_page(phone)
    phone.goto(account_url)

    phone.get_by_role("navigation", name="Dienste").get_by_role("link", name="Meine Hunde").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/hunde$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Meine Hunde")
    check_phone_page(phone)

    phone.get_by_role("link", name="Hund anmelden").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/hunde/anmelden$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hund anmelden")
    check_phone_page(phone)

    name = phone.get_by_label("Name des Hundes")
    breed = phone.get_by_label("Rasse", exact=True)
    acquired = phone.get_by_label("Seit wann halten Sie den Hund?")
    chip = phone.get_by_label("Chipnummer (Transponder)")
    expect(acquired).to_have_attribute("type", "date")
    name.fill(dog_name)
    breed.select_option(BREED)
    acquired.fill(acquired_on(today).isoformat())
    chip.fill("27609812345")  # 11 digits; a transponder number has 15
    phone.get_by_role("button", name="Hund anmelden").click()

    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Bitte prüfen Sie Ihre Angaben")
    expect(summary).to_contain_text("Die Chipnummer hat genau 15 Ziffern.")
    expect(chip).to_have_attribute("aria-invalid", "true")
    expect(chip).to_have_accessible_description(re.compile("Die Chipnummer hat genau 15 Ziffern"))
    expect(name).to_have_value(dog_name)
    expect(breed).to_have_value(BREED)
    check_phone_page(phone)

    chip_number = f"276098{uuid.uuid4().int % 10**9:09d}"
    chip.fill(chip_number)
    phone.get_by_role("button", name="Hund anmelden").click()

    expect(phone).to_have_url(re.compile(r"/musterstadt/antraege/\d+$"))
    application_id = phone.url.rsplit("/", 1)[1]
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hundeanmeldung")
    expect(phone.get_by_role("status")).to_contain_text("In Prüfung")
    expect(phone.get_by_role("main")).to_contain_text(application_id)
    check_phone_page(phone)

    # 2. A clerk approves it from the review queue (at a desk).
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Personen suchen")
    assert_accessible(clerk)

    clerk.goto("/backoffice/pruefung")
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Anträge zur Prüfung")
    queue = clerk.get_by_role("table")
    row = queue.get_by_role("row").filter(
        has=clerk.get_by_role("link", name=application_id, exact=True)
    )
    expect(row).to_contain_text("Hundeanmeldung")
    expect(row).to_contain_text("Erika Mustermann")
    expect(row).to_contain_text("gefährlicher Hunde")
    assert_accessible(clerk)

    row.get_by_role("link", name=application_id, exact=True).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text(
        f"Hundeanmeldung – Antrag {application_id}"
    )
    expect(clerk.get_by_role("main")).to_contain_text(dog_name)
    expect(clerk.get_by_role("main")).to_contain_text(BREED)
    expect(clerk.get_by_role("main")).to_contain_text(chip_number)
    assert_accessible(clerk)

    clerk.get_by_role("button", name="Genehmigen").click()
    expect(clerk).to_have_url(re.compile(r"/backoffice/pruefung$"))
    expect(clerk.get_by_role("status")).to_contain_text(f"Antrag {application_id}")
    expect(clerk.get_by_role("link", name=application_id, exact=True)).to_have_count(0)
    assert_accessible(clerk)

    # The citizen's application is now done.
    phone.reload()
    expect(phone.get_by_role("status")).to_contain_text("Erledigt")
    check_phone_page(phone)

    # 3. The citizen finds the new notice and downloads it.
    phone.get_by_role("main").get_by_role("link", name="Meine Bescheide").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/bescheide$"))
    new_numbers = notice_numbers(phone) - notices_before
    assert new_numbers, "no new notice after the approval"
    number = max(new_numbers, key=int)  # the newest: the current year's
    card = cards(phone).filter(
        has=phone.get_by_role("link", name=f"Bescheid {number} herunterladen (PDF)")
    )
    expect(card).to_have_count(1)
    title = card.get_by_role("heading", level=2).inner_text().strip()
    match = NOTICE_TITLE.match(title)
    assert match, f"unexpected notice title {title!r}"
    assert int(match.group(2)) == today.year
    kassenzeichen = card.locator(".ok-ref").inner_text().strip()
    assert KASSENZEICHEN.match(kassenzeichen), kassenzeichen
    check_phone_page(phone)

    with phone.expect_download() as download_info:
        card.get_by_role("link", name=f"Bescheid {number} herunterladen (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"Bescheid-{number}.pdf"
    pdf = tmp_path / download.suggested_filename
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")

    text = pdf_text(pdf)
    flat = re.sub(r"\s+", " ", text)
    assert title in flat
    assert BREED in flat or dog_name in flat
    assert kassenzeichen in flat
    assert "Rechtsbehelfsbelehrung" in flat
    assert IBAN_GROUPED in flat
    assert "Mustermann" in flat  # the notice itself is addressed to her
    # What the notice asks to pay is printed beside the GiroCode ...
    # (-layout sets the caption beside the link's column: take the first amount after it).
    printed = re.search(r"Empfänger, IBAN, Betrag .*?\(" + EURO + r"\)", flat)
    assert printed, "the GiroCode's caption with the amount is missing"
    payable = cents(printed.group(1))
    assert payable > 0
    # ... and, on a change notice for one more dog, it is the additional amount.
    extra = re.search(r"Nachforderung " + EURO, flat)
    if match.group(1).startswith("Änderungsbescheid"):
        assert extra, "a change notice for one more dog shows the Nachforderung"
        assert cents(extra.group(1)) == payable

    codes = qr_codes(pdf, tmp_path)
    decoded = codes[1] + codes[2]
    girocodes = [c for c in decoded if c.startswith(EPC_HEADER)]
    links = [c for c in decoded if "/musterstadt/zahlung/" in c]
    assert len(girocodes) == 1, f"one GiroCode expected on pages 1–2, decoded: {codes}"
    assert len(links) == 1, f"one payment link expected on pages 1–2, decoded: {codes}"

    epc = girocodes[0].split("\n")
    assert epc[:4] == ["BCD", "002", "1", "SCT"]
    assert epc[5] == CASH_OFFICE
    assert epc[6] == IBAN
    assert epc[7] == f"EUR{payable // 100}.{payable % 100:02d}"
    rf = epc[9]
    assert is_valid_rf(rf), rf
    assert rf.endswith(kassenzeichen.replace(" ", ""))

    link = links[0]
    assert re.fullmatch(re.escape(live_server) + r"/musterstadt/zahlung/[\w.-]+", link), link

    # 4. The payment link works without log-in and shows no personal data.
    anonymous = new_page()
    anonymous.goto(link)
    expect(anonymous.get_by_role("heading", level=1)).to_have_text(f"Zahlung an {CASH_OFFICE}")
    main = anonymous.get_by_role("main")
    expect(main).to_contain_text(kassenzeichen)
    expect(main).to_contain_text(IBAN_GROUPED)
    page_text = anonymous.locator("body").inner_text()
    for personal in ("Mustermann", "Erika", dog_name, *recipient_street(text, "Erika Mustermann")):
        assert personal not in page_text, f"{personal!r} shown on the public payment page"
    expect(anonymous.get_by_role("button", name="Abmelden")).to_have_count(0)
    check_phone_page(anonymous)

    token = link.rsplit("/", 1)[1]
    tampered = tamper(token)
    response = anonymous.goto(link.rsplit("/", 1)[0] + "/" + tampered)
    assert response is not None and response.status == 404
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Dieser Link ist ungültig")
    invalid_text = anonymous.locator("body").inner_text()
    assert "€" not in invalid_text and kassenzeichen not in invalid_text
    check_phone_page(anonymous)
    # Chromium logs the page's own 404 as a console error; that one is expected.
    console_errors[:] = [e for e in console_errors if "status of 404" not in e]

    # 5. The clerk sees the notice on Erika's account, downloaded by her.
    clerk.goto("/backoffice/personen")
    clerk.get_by_label("Name, Unternehmen, Personenkonto, Kassenzeichen oder Mandatsreferenz").fill(
        "Mustermann"
    )
    clerk.get_by_role("button", name="Suchen").click()
    assert_accessible(clerk)
    clerk.get_by_role("link", name="Erika Mustermann").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Erika Mustermann")
    entry = (
        clerk.get_by_role("main")
        .get_by_role("listitem")
        .filter(has=clerk.get_by_role("link", name=f"Bescheid {number}", exact=True))
    )
    expect(entry).to_contain_text(title)
    expect(entry).to_contain_text(DOWNLOADED)
    dogs = clerk.get_by_role("table", name="Hunde")
    expect(dogs.get_by_role("row").filter(has_text=dog_name)).to_contain_text(BREED)
    assert_accessible(clerk)


def test_other_dog_tax_pages_are_accessible(
    phone: Page, new_page: Callable[..., Page], console_errors: list[str]
) -> None:
    """The remaining pages of the service, visited (and forms sent empty) without changing
    any data: deregistration, lost and replacement tag, the first-use address form, and the
    clerk's criteria and annual run."""
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    phone.goto("/musterstadt/hunde")
    dog = cards(phone).filter(has_text="Bello")  # a demo dog, always registered
    dog.get_by_role("link", name="Bello abmelden").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Bello abmelden")
    check_phone_page(phone)
    # The form's button names the dog: "Abmelden" alone is the log-out button.
    expect(phone.get_by_role("button", name="Abmelden", exact=True)).to_have_count(1)
    phone.get_by_role("main").get_by_role("button", name="Bello abmelden").click()
    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Bitte wählen Sie einen Grund.")
    expect(summary).to_contain_text("Bitte geben Sie das Datum an.")
    expect(phone.get_by_label("Datum")).to_have_attribute("aria-invalid", "true")
    check_phone_page(phone)

    phone.get_by_role("link", name="Zurück zu meinen Hunden").click()
    phone.get_by_role("link", name="Marke von Bello verloren").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Hundemarke von Bello verloren")
    check_phone_page(phone)
    phone.get_by_role("button", name="Verlust melden").click()
    expect(phone.get_by_role("alert")).to_contain_text("Bitte geben Sie das Datum an.")
    check_phone_page(phone)

    phone.get_by_role("link", name="Zurück zu meinen Hunden").click()
    phone.get_by_role("link", name="Ersatzmarke für Bello").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Ersatzmarke für Bello")
    expect(phone.get_by_role("main")).to_contain_text("5,00 €")
    check_phone_page(phone)

    # A citizen without a person account in Musterstadt gives name and address first.
    newcomer = new_page()
    log_in(newcomer, "/musterstadt/anmelden", "max.beispiel@beispielhausen.example", phone=True)
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    check_phone_page(newcomer)
    newcomer.get_by_role("link", name="Meine Hunde").click()
    expect(newcomer.get_by_role("main")).to_contain_text("keinen Hund angemeldet")
    check_phone_page(newcomer)
    newcomer.get_by_role("main").get_by_role("link", name="Meine Bescheide").click()
    expect(newcomer.get_by_role("main")).to_contain_text("noch keine Bescheide")
    check_phone_page(newcomer)
    newcomer.goto("/musterstadt/hunde/anmelden")
    expect(newcomer).to_have_url(re.compile(r"/musterstadt/finanzadresse\?next="))
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(
        "Ihre Anschrift bei Stadt Musterstadt"
    )
    check_phone_page(newcomer)
    newcomer.get_by_role("button", name="Speichern und weiter").click()
    expect(newcomer.get_by_role("alert")).to_contain_text("Bitte geben Sie Ihren Nachnamen an.")
    check_phone_page(newcomer)

    # The clerk's pages of the service, on a phone as well as at a desk.
    clerk = new_page()
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=True)
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Personen suchen")
    for link, heading in [
        ("Prüfung", "Anträge zur Prüfung"),
        ("Veranlagung", "Lauf starten: Veranlagung, Abrechnung, Bescheide"),
        ("Läufe", "Läufe (Job-Steuerung)"),
        ("Kriterien", "Prüfkriterien"),
    ]:
        clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
            "link", name=link, exact=True
        ).click()
        expect(clerk.get_by_role("heading", level=1)).to_have_text(heading)
        check_phone_page(clerk)
        clerk.set_viewport_size({"width": 1280, "height": 800})
        assert_accessible(clerk)
        clerk.set_viewport_size({"width": 390, "height": 844})
