"""Every document the code renders, produced the way the code produces it (real WeasyPrint), read
back: no text runs into other text, a rule or a picture (tests/pdf_layout.py), and each letter's
recipient sits in the DIN 5008 address window.

Each document is rendered for an ordinary municipality and for one with long names and
addresses, because a layout that only fits the example text is not a layout.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import case_file, enforcement, letters
from core.dunning.models import DunningLetter
from core.kernel import archive
from core.ledger.kinds import ClaimKind
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.levies.basis_notices import imports as basis_imports
from core.levies.basis_notices.models import NoticeKind
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.dog_tax.models import Dog, DogStatus
from core.levies.dog_tax.services import Registration, submit_registration
from core.levies.fee_notices import issue_fee_notice
from core.levies.property_tax import assessment as property_tax_run
from core.levies.property_tax.changes import reassess_import
from core.levies.waste.services import BinRegistration
from core.levies.waste.services import submit_registration as register_bin
from core.levies.water import assessment as water_run
from core.levies.water import cards as water_cards
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from core.notices.records import NoticeSettings, notices_of, render
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa.debit_outlook import debit_outlook
from core.payments.sepa.models import Mandate
from core.tenancy.statutes import Statute
from tests.basis_notice_files import delivery, plot
from tests.conftest import login
from tests.integration.test_enforcement import DUE as DUNNING_DUE
from tests.integration.test_enforcement import HAND_OVER, dun_to_the_end, enact_costs
from tests.pdf_layout import assert_clean_layout, assert_in_address_window, page_texts
from tests.pdfa import read_pdfa

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
JAN = date(2026, 1, 10)

LONG = {
    "name": "Verbandsgemeinde Hohenstein-Oberweilersbach an der Schwarzen Elster",
    "cash_office_name": "Verbandsgemeindekasse Hohenstein-Oberweilersbach",
    "street": "Bürgermeister-Friedrich-Wilhelm-Schultheiß-Straße 117a",
    "city": "Hohenstein-Oberweilersbach an der Schwarzen Elster",
    "email": "verbandsgemeindekasse.abgaben@hohenstein-oberweilersbach.example",
}


@pytest.fixture(params=["kurz", "lang"])
def town(request: pytest.FixtureRequest, make: Any) -> Any:
    m = make.municipality(**(LONG if request.param == "lang" else {}))
    make.dog_tax_statute(m)
    make.waste_statute(m)
    make.sepa_statute(m)
    return m


@pytest.fixture
def owner(make: Any, town: Any) -> Any:
    long_names = town.name == LONG["name"]
    return make.person(
        town,
        given_name="Anna-Katharina Maximiliane" if long_names else "Erika",
        family_name="von Hohenzollern-Sigmaringen-Wittelsbach" if long_names else "Mustermann",
        email=None,
    )


def checked(pdf: bytes, *, recipient: str | None) -> list[str]:
    assert pdf.startswith(b"%PDF-")
    assert_clean_layout(pdf)
    if recipient is not None:
        assert_in_address_window(pdf, recipient)
    return page_texts(pdf)


def register_dog(db: Session, town: Any, owner: Any, *, as_of: date = JAN, **kw: Any) -> None:
    values: dict[str, Any] = {
        "name": "Bello",
        "breed": "Labrador Retriever",
        "born_on": date(2022, 1, 1),
        "acquired_on": date(2025, 12, 1),
        "chip_number": "276098100000001",
    }
    values.update(kw)
    submit_registration(
        db,
        person=owner,
        municipality=town,
        registration=Registration(**values),
        as_of=as_of,
        actor="test",
    )


def test_dog_tax_notice_and_change_notice(db: Session, town: Any, owner: Any) -> None:
    register_dog(db, town, owner)
    register_dog(
        db,
        town,
        owner,
        name="Luna",
        acquired_on=date(2026, 3, 17),
        chip_number="276098100000002",
        as_of=date(2026, 3, 22),
    )
    change, first = notices_of(db, owner.id, town.id)
    assert change.previous_cents == first.total_cents > 0
    checked(render(db, first, SETTINGS), recipient=owner.display_name)
    [page, *_] = checked(render(db, change, SETTINGS), recipient=owner.display_name)
    assert "Bisher festgesetzt" in page


def test_property_tax_notice_and_change_notice(db: Session, town: Any, owner: Any) -> None:
    db.add(
        Statute(
            municipality_id=town.id,
            levy="property_tax",
            valid_from=date(2020, 1, 1),
            source="Hebesatzsatzung (Test)",
            data={
                "hebesatz_percent": {"A": 300, "B": 480},
                "small_amounts": True,
                "legal_basis": "§ 1 der Hebesatzsatzung in Verbindung mit §§ 25, 27 bis 31 GrStG",
                "remedy": "Gegen diesen Bescheid kann innerhalb eines Monats Klage erhoben werden.",
            },
        )
    )
    first = plot(
        town,
        person_number=owner.number,
        street=LONG["street"] if town.name == LONG["name"] else "Lindenweg",
    )
    second = plot(town, "3150/123/4568", person_number=owner.number, messbetrag_cents=12345)
    basis_imports.import_file(db, town, delivery(first, second), filename="a.xml", actor="t")
    property_tax_run.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    change = plot(
        town,
        person_number=owner.number,
        kind=NoticeKind.CHANGE,
        year_from=2026,
        messbetrag_cents=7500,
        notice_date="2026-06-01",
    )
    report = basis_imports.import_file(db, town, delivery(change), filename="b.xml", actor="t")
    assert report.import_id is not None
    reassess_import(db, town, report.import_id, as_of=date(2026, 6, 20), actor="t")
    changed, annual = notices_of(db, owner.id, town.id)
    assert changed.previous_cents == annual.total_cents > 0
    [page, *_] = checked(render(db, annual, SETTINGS), recipient=owner.display_name)
    assert "Messbetrag" in page
    [page, *_] = checked(render(db, changed, SETTINGS), recipient=owner.display_name)
    assert "Bisher festgesetzt" in page


def test_waste_notice(db: Session, make: Any, town: Any, owner: Any) -> None:
    prop = make.waste_property(town, owner, residents=3)
    register_bin(
        db,
        person=owner,
        municipality=town,
        registration=BinRegistration(
            property_id=prop.id, litres=120, rhythm="fortnightly", start=date(2025, 12, 1)
        ),
        as_of=JAN,
        actor="test",
    )
    [notice] = notices_of(db, owner.id, town.id)
    checked(render(db, notice, SETTINGS), recipient=owner.display_name)


def water_meter(db: Session, town: Any, owner: Any) -> water.Meter:
    db.add(
        Statute(
            municipality_id=town.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data={
                "base_fee_year_cents": {"Q3 4": 6600},
                "price_per_m3_cents": 216,
                "vat_basis_points": 700,
                "plausibility_percent": 50,
                "advance_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
                "legal_basis": "Wassergebührensatzung (Test)",
                "remedy": "Widerspruch innerhalb eines Monats.",
            },
        )
    )
    meter = water.Meter(
        municipality_id=town.id,
        person_id=owner.id,
        number="W-0001",
        size="Q3 4",
        location=f"Hauptstraße 1, {town.city}",
        installed_on=date(2020, 1, 1),
        initial_reading=100,
    )
    db.add(meter)
    db.flush()
    return meter


def test_water_notice(db: Session, town: Any, owner: Any) -> None:
    meter = water_meter(db, town, owner)
    water_readings.submit_reading(
        db,
        meter=meter,
        period=2026,
        value=195,
        read_on=date(2026, 12, 20),
        as_of=date(2027, 1, 5),
        source=water.ReadingSource.PORTAL,
        band_percent=50,
        confirmed=False,
        actor="test",
    )
    notice = water_run.bill_meter(
        db, meter=meter, municipality=town, period=2026, as_of=date(2027, 1, 15), actor="test"
    )
    assert notice is not None
    checked(render(db, notice, SETTINGS), recipient=owner.display_name)


def test_reading_cards(db: Session, town: Any, owner: Any) -> None:
    meter = water_meter(db, town, owner)
    pdf = water_cards.reading_cards_pdf(
        db,
        [meter],
        period=2026,
        secret="s" * 32,
        public_base_url="https://portal.example",
        issued_at=datetime(2026, 12, 1, tzinfo=UTC),
        reply_by=date(2027, 1, 31),
    )
    [card] = checked(pdf, recipient=None)  # a card, not a window letter
    assert owner.display_name.split()[0] in card and "Bitte melden bis" in card


def assert_archival(pdf: bytes) -> None:
    """PDF/A-3b as the notices (XMP pdfaid:part=3, conformance B, the sRGB output intent),
    tagged, German; no associated files (none are embedded in these letters)."""
    found = read_pdfa(pdf)
    assert (found.part, found.conformance) == ("3", "B")
    [intent] = found.output_intents
    assert intent["S"].name == "GTS_PDFA1" and "DestOutputProfile" in intent
    assert found.tagged and found.lang == "de"
    assert found.files == [] and found.af_references == []


def grant(db: Session, town: Any, owner: Any, signed_on: date) -> Mandate:
    return mandates.grant_mandate(
        db,
        person=owner,
        municipality=town,
        account_holder=owner.display_name,
        iban="DE89370400440532013000",
        tax_account_id=None,
        signed_on=signed_on,
        as_of=signed_on,
        actor="test",
    )


def test_mandate_confirmation(db: Session, town: Any, owner: Any) -> None:
    mandate = grant(db, town, owner, date(2026, 3, 1))
    document = db.get_one(archive.Document, mandate.document_id)
    [page, *_] = checked(document.content, recipient=owner.display_name)
    assert "SEPA-Basislastschriftmandat – Bestätigung" in page
    assert_archival(document.content)


def test_notice_under_a_mandate_and_pre_notification_letters(
    db: Session, make: Any, town: Any, owner: Any
) -> None:
    grant(db, town, owner, date(2025, 12, 1))
    db.add(
        Dog(
            municipality_id=town.id,
            person_id=owner.id,
            name="Bello",
            breed="Mischling",
            acquired_on=date(2024, 1, 1),
            tag_number=7,
            status=DogStatus.ACTIVE,
        )
    )
    db.flush()
    dog_tax_run.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    [notice] = notices_of(db, owner.id, town.id)
    assert notice.data["direct_debit"]
    [page, *_] = checked(render(db, notice, SETTINGS), recipient=owner.display_name)
    assert "Zahlung per SEPA-Lastschrift" in page

    make.claim(town, owner, amount=2550, due=date(2026, 3, 10), description="Grundsteuer 2026")
    collection = date(2026, 3, 16)
    prenotifications.prenotify(
        db, town, collection_date=collection, as_of=date(2026, 3, 1), actor="t"
    )
    letters = prenotifications.prenotification_letters(db, town, collection_date=collection)
    assert letters is not None
    [letter] = checked(letters[0], recipient=owner.display_name)
    assert "Vorabankündigung Ihrer SEPA-Lastschrift" in letter


@pytest.mark.parametrize("under_mandate", [False, True])
def test_fee_notice(db: Session, town: Any, owner: Any, under_mandate: bool) -> None:
    if under_mandate:
        grant(db, town, owner, date(2025, 12, 1))
    notice, claim = issue_fee_notice(
        db,
        person=owner,
        municipality=town,
        kind=ClaimKind.ADMIN_FEE,
        amount_cents=500,
        due_date=date(2026, 2, 10),
        description="Ersatzmarke Nr. 2 für Bello",
        title="Gebührenbescheid über eine Ersatz-Hundemarke",
        intro="Für die Ausgabe der Ersatzmarke wird die Gebühr wie folgt festgesetzt.",
        legal_basis="§ 9 Hundesteuersatzung (Test)",
        remedy="Widerspruch innerhalb eines Monats.",
        as_of=JAN,
        actor="test",
    )
    assert claim.notice_id == notice.id and claim.kassenzeichen == notice.kassenzeichen
    [page, *_] = checked(render(db, notice, SETTINGS), recipient=owner.display_name)
    text = " ".join(page.split())
    assert "Festgesetzte Gebühr 5,00 €" in text
    if under_mandate:  # the notice pre-notifies: every page then says it will be collected
        assert "Zahlung per SEPA-Lastschrift" in text and "GiroCode" not in text
        assert debit_outlook(db, owner, as_of=JAN)[claim.id].will_be_collected
    else:
        assert "GiroCode" in text and debit_outlook(db, owner, as_of=JAN) == {}


def test_payment_receipt(client: Any, db: Session, make: Any, town: Any) -> None:
    user = make.user()
    payer = make.person(town, user=user, family_name="Zahlemann")
    claim = make.claim(town, payer, amount=4842, description="Hundesteuer 2026, 1. Rate")
    payment = record_payment(
        db,
        person=payer,
        amount_cents=5000,  # 1.58 € more: the receipt shows the credit
        received_on=date(2026, 2, 3),
        channel=PaymentChannel.CARD,
        as_of=date(2026, 2, 3),
        actor="test",
        claim_ids=[claim.id],
        external_ref="pi_3QxYzTestReceipt0001",
    )
    login(client, town.slug, user.email)
    response = client.get(f"/{town.slug}/quittungen/{payment.id}.pdf")
    assert response.status_code == 200
    [page] = checked(response.data, recipient=None)  # no name: the payment link opens it too
    assert "Zahlungsweg Kartenzahlung (pi_3QxYzTestReceipt0001)" in page
    assert "Guthaben 1,58 €" in page
    assert_archival(response.data)


def _dunned_to_the_last_level(db: Session, make: Any, town: Any, owner: Any) -> Any:
    """Two claims of the owner, dunned at every level (preview by one clerk, four eyes)."""
    make.dunning_statute(town)
    for amount, what in ((12345, "Hundesteuer 2026"), (4800, "Abfallgebühren 2026 (Restmüll)")):
        make.claim(town, owner, amount=amount, due=DUNNING_DUE, description=what)
    dun_to_the_end(db, town)
    return town


def test_dunning_letter(db: Session, make: Any, town: Any, owner: Any) -> None:
    _dunned_to_the_last_level(db, make, town, owner)
    last = max(
        db.scalars(select(DunningLetter).where(DunningLetter.person_id == owner.id)),
        key=lambda letter: letter.level,
    )
    pages = checked(letters.render(db, last, SETTINGS), recipient=owner.display_name)
    text = " ".join(" ".join(pages).split())
    assert last.level_name in text and "GiroCode" in text


def test_enforcement_case_file(db: Session, make: Any, town: Any, owner: Any) -> None:
    _dunned_to_the_last_level(db, make, town, owner)
    enact_costs(db, town)
    (case,) = enforcement.hand_over(db, town, HAND_OVER, "user:1")
    pages = checked(case_file.case_pdf(case, town), recipient=None)
    assert "Abgabe an die Vollstreckung" in " ".join(pages[0].split())


def test_every_document_template_is_covered() -> None:
    """A new document type gets its layout test here."""
    templates = {
        p.name
        for p in (Path(__file__).resolve().parents[2] / "templates" / "documents").glob("*.html")
        if not p.name.startswith("_")
    }
    covered = {
        "notice.html",
        "reading_card.html",
        "mandate.html",
        "prenotification.html",
        "receipt.html",
        "fee_notice.html",
        "dunning_letter.html",
        "enforcement_case.html",
        "property_tax_notice.html",
        "trade_tax_notice.html",
        "objection_decision.html",  # tests/integration/test_objection_letters.py
    }
    assert templates <= covered, sorted(templates - covered)


def test_trade_tax_notice(db: Session, make: Any, town: Any) -> None:
    from core.levies.basis_notices import imports
    from core.levies.basis_notices.applying import find_object
    from core.levies.basis_notices.models import TaxKind
    from core.levies.trade_tax import approval
    from core.persons.models import PersonKind
    from tests.basis_notice_files import business, delivery

    make.trade_tax_statute(town)
    long_names = town.name == LONG["name"]
    name = "Großbäckerei und Konditorei Hohenstein-Oberweilersbach GmbH & Co. KG"
    firm = make.person(
        town, kind=PersonKind.BUSINESS, company_name=name if long_names else "Krume GmbH"
    )
    data = delivery(business(town, person_number=firm.number))
    imports.import_file(db, town, data, filename="gewst.xml", actor="test")
    obj = find_object(db, town.id, TaxKind.TRADE_TAX, "5315/001/00042")
    assert obj is not None
    notice = approval.prepare(
        db, municipality=town, tax_object=obj, year=2025, as_of=date(2026, 6, 1), actor="test"
    ).notice
    assert notice is not None
    pages = checked(render(db, notice, SETTINGS), recipient=firm.display_name)
    text = " ".join(" ".join(pages).split())
    for expected in (
        "Gewerbesteuermessbetrag",
        "1.242,50 €",
        "Hebesatz 400 %",
        "4.970,00 €",
        "Abschlusszahlung",
        "Vorauszahlungen 2026",
        "1.242,00 €",
        "Rechtsbehelfsbelehrung",
        "§ 351 Abs. 2 AO",
    ):
        assert expected in text, expected
