"""Trade tax in the browser: a clerk imports a Gewerbesteuermessbescheid for the demo business
(Bäckerei Krume) and computes its notice, which lies above Musterstadt's four-eyes limit and
waits; the clerk may not approve it; the approver sees old and new figures side by side and
approves; the business finds the notice in its account on a phone (390 × 844) and downloads it:
Messbetrag × Hebesatz step by step, the new advance payments and the remedy; the notice's
payment page shows the Abschlusszahlung to be collected by the business's SEPA mandate (the
demo business pays by direct debit, so no card payment here). Every page passes axe-core."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.kernel.db import make_engine, make_session_factory
from core.persons.models import Person
from core.tenancy.municipalities import get_by_slug
from tests.basis_notice_files import business, delivery
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import cards, flat_text, log_in, qr_codes
from tests.e2e.server import CLERK_EMAIL, LiveServer

pytestmark = pytest.mark.e2e

APPROVER_EMAIL = "freigabe@musterstadt.example"
BUSINESS_EMAIL = "buchhaltung@baeckerei-krume.example"
REFERENCE = "5315/999/00001"  # a second business of the Bäckerei: its own notice


def basis_notice(live_app: LiveServer) -> bytes:
    """A Gewerbesteuermessbescheid 2025 of 3,000 € for the Bäckerei (× 475 % = 14,250 €)."""
    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            m = get_by_slug(session, "musterstadt")
            bakery = session.scalars(
                select(Person).where(
                    Person.municipality_id == m.id, Person.company_name == "Bäckerei Krume GmbH"
                )
            ).one()
            record = business(
                m, REFERENCE, person_number=bakery.number, messbetrag_cents=300000,
                name="Bäckerei Krume GmbH, Filiale Nord",
            )  # fmt: skip
            return delivery(record)
    finally:
        engine.dispose()


def test_import_assessment_approval_notice_and_payment_page(
    live_app: LiveServer, new_page: Callable[..., Page], phone: Page, tmp_path: Path
) -> None:
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    nav = clerk.get_by_role("navigation", name="Sachbearbeitung")
    nav.get_by_role("link", name="Messbescheide", exact=True).click()
    upload = tmp_path / "gewerbesteuer.xml"
    upload.write_bytes(basis_notice(live_app))
    clerk.get_by_label("Lieferung des Finanzamts").set_input_files(upload)
    clerk.get_by_role("button", name="Messbescheide einlesen").click()
    expect(clerk.get_by_role("main")).to_contain_text("1 übernommen")

    # 1. The clerk computes the notice: above the limit, it waits for the approver.
    nav.get_by_role("link", name="Gewerbesteuer", exact=True).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Gewerbesteuerbescheide")
    assert_accessible(clerk)
    clerk.get_by_role("button", name="Bescheide berechnen").click()
    expect(clerk.get_by_role("main")).to_contain_text("warten auf Freigabe")
    row = clerk.get_by_role("row").filter(has_text=REFERENCE)
    expect(row).to_contain_text("14.250,00 €")
    assert_accessible(clerk)
    row.get_by_role("link").click()
    url = clerk.url
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("Gewerbesteuer 2025")
    assert_accessible(clerk)
    clerk.get_by_role("button", name="Freigeben und erlassen").click()
    expect(clerk.get_by_role("main")).to_contain_text("Rolle „Freigabe“")  # four eyes

    # 2. The approver compares old and new and approves.
    approver = new_page(desktop=True)
    log_in(approver, "/backoffice/anmelden", APPROVER_EMAIL, phone=False)
    approver.goto(url)
    table = approver.get_by_role("table", name="Bisheriger und neuer Bescheid 2025")
    expect(table.get_by_role("row").filter(has_text="Hebesatz")).to_contain_text("475 %")
    expect(table.get_by_role("row").filter(has_text="1. Quartal")).to_contain_text("3.562,00 €")
    assert_accessible(approver)
    approver.get_by_role("button", name="Freigeben und erlassen").click()
    expect(approver.get_by_role("main")).to_contain_text("erledigt")
    assert_accessible(approver)

    # 3. The business finds the notice in its account on a phone and downloads it.
    log_in(phone, "/musterstadt/anmelden", BUSINESS_EMAIL, phone=True)
    phone.goto("/musterstadt/bescheide")
    card = cards(phone).filter(has_text="Gewerbesteuer 2025").first
    expect(card).to_contain_text("14.250,00 €")
    check_phone_page(phone)
    with phone.expect_download() as download_info:
        card.get_by_role("link", name=re.compile(r"herunterladen \(PDF\)")).click()
    pdf = tmp_path / "gewerbesteuer.pdf"
    download_info.value.save_as(pdf)
    text = flat_text(pdf)
    for printed in (
        "Gewerbesteuermessbetrag",
        "3.000,00 €",
        "Hebesatz 475 %",
        "14.250,00 €",
        "Abschlusszahlung",
        "Vorauszahlungen 2026",
        "Filiale Nord",
        "Klage beim Verwaltungsgericht",
        "Zahlung per SEPA-Lastschrift",  # the Bäckerei's mandate pays: the notice pre-notifies
    ):
        assert printed in text, printed

    # 4. Payment: the notice's link (its QR code) shows what is open under the Kassenzeichen,
    # the Abschlusszahlung announced for collection by the mandate on its due date.
    links = [c for codes in qr_codes(pdf, tmp_path).values() for c in codes if "/zahlung/" in c]
    assert links, "the notice's payment link is missing"
    phone.goto(links[0])
    main = phone.get_by_role("main")
    expect(main.get_by_role("listitem").filter(has_text="14.250,00 €")).to_contain_text(
        "eingezogen"
    )
    check_phone_page(phone)
