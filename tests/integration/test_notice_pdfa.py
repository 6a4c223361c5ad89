"""Every notice kind and the dunning letter as PDF/A-3b with its data inside (issue 15): the
embedded XML read back from the real PDF (pdfminer, not the writer's library) is valid against
core/notices/schemas/notice.xsd and says what the record says (Kassenzeichen, RF reference,
IBAN, every amount to the cent, the instalments); the PDF/A markers are there (XMP
pdfaid:part=3 and conformance B, the sRGB output intent, the catalog's /AF naming the file once,
AFRelationship Data, application/xml) and the PDF is tagged. Not a full PDF/A validation (no
veraPDF here). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import letters
from core.dunning.models import DunningLetter
from core.dunning.runs import items_of
from core.kernel.references import make_rf
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies.fee_notices import issue_fee_notice
from core.levies.waste.services import BinRegistration
from core.levies.waste.services import submit_registration as register_bin
from core.levies.water import assessment as water_run
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from core.notices import machine_readable
from core.notices.records import SCHEDULES, Notice, NoticeSettings, notices_of, render
from core.tenancy.municipalities import Municipality
from tests.integration.test_document_layout import _dunned_to_the_last_level as dunned
from tests.integration.test_document_layout import grant, register_dog, water_meter
from tests.pdfa import PdfA, only_xml, read_pdfa

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
JAN = date(2026, 1, 10)
NS = {"b": machine_readable.NAMESPACE}


@pytest.fixture
def town(make: Any) -> Municipality:
    m: Municipality = make.municipality()
    make.dog_tax_statute(m)
    make.waste_statute(m)
    make.sepa_statute(m)
    return m


@pytest.fixture
def owner(make: Any, town: Municipality) -> Any:
    return make.person(town, given_name="Erika", family_name="Mustermann", email=None)


def cents(text: str | None) -> int:
    assert text is not None
    value = Decimal(text) * 100
    assert value == value.to_integral_value(), text
    return int(value)


def one(root: etree._Element, path: str) -> str:
    [element] = root.xpath(path, namespaces=NS)
    return str(element.text)


def assert_pdfa(pdf: bytes) -> PdfA:
    """The PDF/A-3b markers and the one associated file."""
    found = read_pdfa(pdf)
    assert (found.part, found.conformance) == ("3", "B")
    [intent] = found.output_intents
    assert intent["S"].name == "GTS_PDFA1" and "DestOutputProfile" in intent
    assert len(found.af_references) == len(set(found.af_references)) == 1
    [file] = found.files
    assert (file.name, file.relationship, file.mime_type) == (
        machine_readable.FILENAME,
        "Data",
        "application/xml",
    )
    assert file.in_name_tree and file.description
    assert found.tagged and found.lang == "de"
    return found


def xml_of(pdf: bytes) -> etree._Element:
    assert_pdfa(pdf)
    return machine_readable.validate(only_xml(pdf, machine_readable.FILENAME))


def assert_says_what_the_notice_says(
    root: etree._Element, notice: Notice, town: Municipality
) -> None:
    data = notice.data
    assert one(root, "b:art") == "bescheid"
    assert one(root, "b:abgabe") == notice.levy
    assert one(root, "b:jahr") == str(notice.year)
    assert one(root, "b:nummer") == str(notice.number)
    assert one(root, "b:datum") == notice.issued_on.isoformat()
    assert one(root, "b:zahlung/b:kassenzeichen") == notice.kassenzeichen
    assert one(root, "b:zahlung/b:rf-referenz") == make_rf(notice.kassenzeichen)
    assert cents(one(root, "b:zahlung/b:zu-zahlen")) == data.get("payable_cents", 0)
    assert one(root, "b:glaeubiger/b:bankverbindung/b:iban") == town.iban
    assert one(root, "b:glaeubiger/b:kasse") == town.cash_office_name
    assert one(root, "b:empfaenger/b:name") == data["recipient"]["name"]
    assert bool(root.xpath("b:zahlung/b:lastschrift", namespaces=NS)) == bool(
        data.get("direct_debit")
    )
    computed = root.xpath("b:berechnung", namespaces=NS)[0]
    assert cents(one(computed, "b:festgesetzt")) == notice.total_cents
    assert cents(one(computed, "b:bisher-festgesetzt")) == notice.previous_cents
    assert cents(one(computed, "b:differenz")) == notice.difference_cents
    positions = computed.xpath("b:position", namespaces=NS)
    assert [
        (one(p, "b:gegenstand"), cents(one(p, "b:betrag")), one(p, "b:zeitraum/b:von"))
        for p in positions
    ] == [(ln["description"], ln["amount_cents"], ln["period_start"]) for ln in data["lines"]]
    plans = root.xpath("b:zahlplan", namespaces=NS)
    tables = [data[t] for t in SCHEDULES if data.get(t)]
    assert len(plans) == len(tables) > 0
    for plan, rows in zip(plans, tables, strict=True):
        assert [
            (one(r, "b:faellig-am"), cents(one(r, "b:betrag")))
            for r in plan.xpath("b:rate", namespaces=NS)
        ] == [(row["due_date"], row["amount_cents"]) for row in rows]
    assert one(root, "b:rechtsgrundlage") == data["legal_basis"]
    assert one(root, "b:rechtsbehelfsbelehrung") == data["remedy"]


def checked(db: Session, notice: Notice, town: Municipality) -> etree._Element:
    root = xml_of(render(db, notice, SETTINGS))
    assert_says_what_the_notice_says(root, notice, town)
    return root


def test_dog_tax_notice_and_change_notice(db: Session, town: Municipality, owner: Any) -> None:
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
    checked(db, first, town)
    root = checked(db, change, town)
    assert cents(one(root, "b:berechnung/b:bisher-festgesetzt")) == first.total_cents > 0
    assert one(root, "b:berechnung/b:satz-bezeichnung") == "Jahressteuer"


def test_waste_notice(db: Session, make: Any, town: Municipality, owner: Any) -> None:
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
    checked(db, notice, town)


def test_water_notice_with_its_basis_and_next_years_advances(
    db: Session, town: Municipality, owner: Any
) -> None:
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
    root = checked(db, notice, town)
    bases = [e.text for e in root.xpath("b:berechnung/b:position/b:bemessung", namespaces=NS)]
    assert bases == [ln["basis"] for ln in notice.data["lines"]]
    titles = [e.text for e in root.xpath("b:zahlplan/b:titel", namespaces=NS)]
    assert titles == ["Zahlungen 2026", "Abschläge 2027"]


def test_dog_tax_notice_under_a_mandate(db: Session, town: Municipality, owner: Any) -> None:
    grant(db, town, owner, date(2025, 12, 1))
    register_dog(db, town, owner)
    [notice] = notices_of(db, owner.id, town.id)
    debit = notice.data["direct_debit"]
    root = checked(db, notice, town)
    assert one(root, "b:zahlung/b:lastschrift/b:mandatsreferenz") == debit["reference"]


def test_fee_notice(db: Session, town: Municipality, owner: Any) -> None:
    notice, _claim = issue_fee_notice(
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
    root = checked(db, notice, town)
    label = root.xpath("b:berechnung/b:position/b:bezeichnung", namespaces=NS)
    assert [e.text for e in label] == [notice.data["lines"][0]["label"]]


def test_dunning_letter(db: Session, make: Any, town: Municipality, owner: Any) -> None:
    dunned(db, make, town, owner)
    letter = max(
        db.scalars(select(DunningLetter).where(DunningLetter.person_id == owner.id)),
        key=lambda row: row.level,
    )
    root = xml_of(letters.render(db, letter, SETTINGS))
    items = items_of(db, [letter.id])[letter.id]  # in the letter's order
    claims = {c.id: c for c in db.scalars(select(Claim).where(Claim.person_id == owner.id))}
    first = claims[items[0].claim_id]
    assert (one(root, "b:art"), one(root, "b:abgabe")) == ("mahnschreiben", "dunning")
    assert one(root, "b:titel") == letter.level_name
    # a letter is paid under its own reference (it designates exactly the letter's claims)
    reference = letters.reference_of(db, letter)
    assert reference.startswith("M") and reference != first.kassenzeichen
    assert one(root, "b:zahlung/b:kassenzeichen") == first.kassenzeichen
    assert one(root, "b:zahlung/b:rf-referenz") == make_rf(reference)
    assert one(root, "b:glaeubiger/b:bankverbindung/b:iban") == town.iban
    assert cents(one(root, "b:zahlung/b:zu-zahlen")) == letter.total_cents
    assert cents(one(root, "b:berechnung/b:festgesetzt")) == letter.total_cents
    positions = root.xpath("b:berechnung/b:position", namespaces=NS)
    assert len(positions) == len(items)
    for position, item in zip(positions, items, strict=True):
        merkmal = {m.get("name"): m.text for m in position.xpath("b:merkmal", namespaces=NS)}
        assert merkmal["kassenzeichen"] == claims[item.claim_id].kassenzeichen
        assert cents(merkmal["open_cents"]) == item.open_cents
        assert cents(merkmal["fee_cents"]) == item.fee_cents
        assert cents(merkmal["surcharge_cents"]) == item.surcharge_cents
        assert cents(one(position, "b:betrag")) == (
            item.open_cents + item.fee_cents + item.surcharge_cents
        )
    assert one(root, "b:zahlplan/b:rate/b:faellig-am") == letter.payment_deadline.isoformat()
