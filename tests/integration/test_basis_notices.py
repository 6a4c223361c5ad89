"""Importing the tax office's basis notices (core.levies.basis_notices): all or nothing,
idempotent, append-only history, Zerlegung shares, and the clerk's queue for unknown persons."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.audit import AuditEvent
from core.levies.basis_notices import imports, queue
from core.levies.basis_notices.applying import find_object
from core.levies.basis_notices.models import (
    BasisNotice,
    BasisNoticeImport,
    LandUse,
    NoticeDocument,
    NoticeKind,
    PendingNotice,
    PendingState,
    TaxKind,
    TaxObject,
)
from core.levies.basis_notices.queries import history, share_in_force
from core.levies.basis_notices.reader import FileRejected
from core.persons.models import PersonKind
from tests.basis_notice_files import business, delivery, plot

TABLES = (TaxObject, BasisNotice, BasisNoticeImport, PendingNotice, AuditEvent)


def _counts(db: Session) -> dict[str, int]:
    return {t.__tablename__: db.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}


def _import(db: Session, m: Any, data: bytes, name: str = "lieferung.xml") -> imports.ImportReport:
    report = imports.import_file(db, m, data, filename=name, actor="test")
    db.commit()
    return report


def test_valid_import_creates_objects_and_notices(db: Session, make: Any) -> None:
    m = make.municipality()
    owner = make.person(m, family_name="Grundmann")
    firm = make.person(m, kind=PersonKind.BUSINESS, company_name="Krume GmbH")
    data = delivery(
        plot(m, person_number=owner.number, name="Gerda Grundmann"),
        business(m, person_number=firm.number),
    )
    report = _import(db, m, data)
    assert (report.records, report.applied, report.queued, report.known) == (2, 2, 0, 0)
    obj = find_object(db, m.id, TaxKind.PROPERTY_TAX, "3150/123/4567")
    assert obj is not None and obj.person_id == owner.id and obj.land_use is LandUse.RESIDENTIAL
    assert obj.location == f"Lindenweg 7, 12345 {m.city}"
    share = share_in_force(db, obj.id, 2026)
    assert share is not None and share.messbetrag_cents == 6000 and share.share == 1
    assert share_in_force(db, obj.id, 2024) is None  # before the notice applies
    trade = find_object(db, m.id, TaxKind.TRADE_TAX, "5315/001/00042")
    assert trade is not None and trade.person_id == firm.id
    assert share_in_force(db, trade.id, 2025).share_cents == 124250  # type: ignore[union-attr]
    assert share_in_force(db, trade.id, 2026) is None  # a Messbescheid is for one year


def test_later_notice_matches_by_the_reference_of_the_tax_object(db: Session, make: Any) -> None:
    m = make.municipality()
    owner = make.person(m)
    _import(db, m, delivery(plot(m, person_number=owner.number)))
    change = plot(
        m, kind=NoticeKind.CHANGE, year_from=2027, messbetrag_cents=7550, notice_date="2026-10-01"
    )
    report = _import(db, m, delivery(change), "aenderung.xml")
    assert report.applied == 1 and report.queued == 0
    obj = find_object(db, m.id, TaxKind.PROPERTY_TAX, "3150/123/4567")
    assert obj is not None
    assert [n.kind for n in history(db, obj.id)] == [NoticeKind.NEW, NoticeKind.CHANGE]
    assert share_in_force(db, obj.id, 2026).messbetrag_cents == 6000  # type: ignore[union-attr]
    assert share_in_force(db, obj.id, 2027).messbetrag_cents == 7550  # type: ignore[union-attr]


def test_backdated_correction_rules_its_year_but_not_a_later_change(db: Session, make: Any) -> None:
    m = make.municipality()
    owner = make.person(m, family_name="Korrektur")
    _import(
        db,
        m,
        delivery(
            plot(m, person_number=owner.number),
            plot(
                m,
                kind=NoticeKind.CHANGE,
                year_from=2027,
                messbetrag_cents=8000,
                notice_date="2026-03-01",
            ),
            plot(
                m,
                kind=NoticeKind.CHANGE,
                year_from=2026,
                messbetrag_cents=7000,
                notice_date="2026-06-01",
            ),
        ),
    )
    obj = find_object(db, m.id, TaxKind.PROPERTY_TAX, "3150/123/4567")
    assert obj is not None
    in_force = {y: share_in_force(db, obj.id, y).messbetrag_cents for y in (2025, 2026, 2027, 2030)}  # type: ignore[union-attr]
    assert in_force == {2025: 6000, 2026: 7000, 2027: 8000, 2030: 8000}


def test_cancellation_ends_validity_and_keeps_history(db: Session, make: Any) -> None:
    m = make.municipality()
    owner = make.person(m)
    cancel = plot(
        m,
        kind=NoticeKind.CANCELLATION,
        year_from=2028,
        messbetrag_cents=None,
        notice_date="2027-12-01",
    )
    _import(db, m, delivery(plot(m, person_number=owner.number), cancel))
    obj = find_object(db, m.id, TaxKind.PROPERTY_TAX, "3150/123/4567")
    assert obj is not None
    assert share_in_force(db, obj.id, 2027) is not None
    assert share_in_force(db, obj.id, 2028) is None and share_in_force(db, obj.id, 2031) is None
    assert len(history(db, obj.id)) == 2  # nothing was deleted or overwritten


def test_zerlegung_share_as_fraction_and_as_amount(db: Session, make: Any) -> None:
    m = make.municipality()
    firm = make.person(m, kind=PersonKind.BUSINESS, company_name="Filialen AG")
    other = make.person(m, kind=PersonKind.BUSINESS, company_name="Netz GmbH")
    _import(
        db,
        m,
        delivery(
            business(
                m,
                document=NoticeDocument.APPORTIONMENT,
                share_numerator=1,
                share_denominator=3,
                person_number=firm.number,
            ),
            business(
                m,
                "5315/002/00077",
                document=NoticeDocument.APPORTIONMENT,
                share_cents=41083,
                person_number=other.number,
            ),
            business(
                m,
                kind=NoticeKind.ADVANCE_PAYMENT,
                year_from=2026,
                messbetrag_cents=130000,
                notice_date="2026-05-05",
                person_number=firm.number,
            ),
        ),
    )
    first = find_object(db, m.id, TaxKind.TRADE_TAX, "5315/001/00042")
    second = find_object(db, m.id, TaxKind.TRADE_TAX, "5315/002/00077")
    assert first is not None and second is not None
    share = share_in_force(db, first.id, 2025)
    assert share is not None and share.share == Fraction(1, 3)
    assert share.share_cents == Fraction(124250, 3)  # exact, no rounding here
    amount = share_in_force(db, second.id, 2025)
    assert amount is not None and amount.share_cents == 41083
    assert amount.share == Fraction(41083, 124250)
    advance = share_in_force(db, first.id, 2027, advance_payment=True)
    assert advance is not None and advance.messbetrag_cents == 130000
    assert share_in_force(db, first.id, 2027) is None  # the advance basis is a track of its own


def test_reimport_of_the_same_file_changes_nothing(db: Session, make: Any) -> None:
    m = make.municipality()
    owner = make.person(m)
    data = delivery(plot(m, person_number=owner.number), plot(m, "3150/999/1", name="Unbekannt"))
    first = _import(db, m, data)
    assert first.applied == 1 and first.queued == 1
    before = _counts(db)
    again = _import(db, m, data, "nochmal.xml")
    assert again.already_imported and "bereits eingelesen" in again.summary()
    assert _counts(db) == before
    # the same records in another file (other bytes): known per record, nothing new
    reordered = delivery(
        plot(m, "3150/999/1", name="Unbekannt"), plot(m, person_number=owner.number)
    )
    third = _import(db, m, reordered, "umsortiert.xml")
    assert third.known == 2 and third.applied == 0 and third.queued == 0
    assert _counts(db) == before


@pytest.mark.parametrize(
    "problem",
    ["other_municipality", "unknown_person", "ambiguous_person", "duplicate", "conflict"],
)
def test_whole_file_rejected_leaves_the_database_unchanged(
    db: Session, make: Any, problem: str
) -> None:
    m = make.municipality()
    elsewhere = make.municipality()
    owner, stranger = make.person(m), make.person(m)
    _import(db, m, delivery(plot(m, "3150/1/1", person_number=owner.number)))
    bad = {
        "other_municipality": plot(elsewhere, "3150/2/2", person_number=owner.number),
        "unknown_person": plot(m, "3150/2/2", person_number=999999),
        "ambiguous_person": plot(
            m,
            "3150/1/1",
            kind=NoticeKind.CHANGE,
            notice_date="2026-01-02",
            person_number=stranger.number,
        ),
        "duplicate": plot(m, "3150/3/3", person_number=owner.number),
        "conflict": plot(m, "3150/1/1", person_number=owner.number, messbetrag_cents=1),
    }[problem]
    good = plot(m, "3150/3/3", person_number=owner.number)
    before = _counts(db)
    with pytest.raises(FileRejected) as refused:
        imports.import_file(db, m, delivery(good, bad), filename="x.xml", actor="test")
    db.rollback()
    assert _counts(db) == before
    assert len(refused.value.problems) == 1
    text = refused.value.problems[0]
    assert text.startswith("Zeile ")
    expected = {
        "other_municipality": "für die Gemeinde",
        "unknown_person": "Personenkonto 999999 gibt es",
        "ambiguous_person": "nicht eindeutig",
        "duplicate": "steht schon in Zeile 4",
        "conflict": "mit anderem Inhalt",
    }[problem]
    assert expected in text
    assert "nichts übernommen" in refused.value.message


def test_xsd_failure_lists_every_line(db: Session, make: Any) -> None:
    m = make.municipality()
    data = delivery(plot(m), plot(m, "3150/5/5"), plot(m, "3150/6/6"))
    lines = data.decode().splitlines()
    broken = "\n".join(
        line.replace("60.00", "60,00")
        if i == 19
        else line.replace("<art>neu</art>", "<art>alt</art>")
        if i > 20
        else line
        for i, line in enumerate(lines, start=1)
    )
    assert lines[18].strip() == "<messbetrag>60.00</messbetrag>"
    with pytest.raises(FileRejected) as refused:
        imports.import_file(db, m, broken.encode(), filename="x.xml", actor="test")
    problems = refused.value.problems
    assert problems[0] == (
        "Zeile 19: Element „messbetrag“: der Wert „60,00“ ist nicht zulässig (erwartet: Euro "
        "mit Punkt und zwei Nachkommastellen, z. B. „1242.50“)."
    )
    assert [p.split(":")[0] for p in problems[1:]] == ["Zeile 26", "Zeile 44"]
    assert all("„art“" in p and "„alt“" in p for p in problems[1:])
    assert db.scalar(select(func.count(BasisNoticeImport.id))) == 0


@pytest.mark.parametrize("junk", [b"", b"%PDF-1.4\n", b"<messbescheide", b"\x00\xff" * 40, b"<a/>"])
def test_garbage_is_refused_in_german(db: Session, make: Any, junk: bytes) -> None:
    m = make.municipality()
    with pytest.raises(FileRejected) as refused:
        imports.import_file(db, m, junk, filename="x.xml", actor="test")
    assert refused.value.problems and "nichts übernommen" in refused.value.message


def test_unmatched_goes_to_the_clerk_then_applies(db: Session, make: Any) -> None:
    m = make.municipality()
    owner = make.person(m, family_name="Wiesengrund")
    decoy = make.person(m, family_name="Anders")
    first = plot(
        m, "3150/7/7", name="Wiesengrund", street="Weg", house_number="x", postal_code="12345"
    )
    change = plot(
        m,
        "3150/7/7",
        kind=NoticeKind.CHANGE,
        year_from=2026,
        messbetrag_cents=6500,
        notice_date="2025-08-01",
    )
    report = _import(db, m, delivery(first, change))
    assert report.queued == 2 and report.applied == 0
    assert find_object(db, m.id, TaxKind.PROPERTY_TAX, "3150/7/7") is None
    waiting = queue.open_pending(db, m.id)
    assert len(waiting) == 2 and queue.open_count(db, m.id) == 2
    suggested = queue.suggestions(db, waiting[0])
    assert owner.id in {p.id for p in suggested} and decoy.id not in {p.id for p in suggested}
    applied = queue.assign(db, waiting[0], owner, actor="clerk")
    db.commit()
    assert applied == 2 and queue.open_count(db, m.id) == 0
    obj = find_object(db, m.id, TaxKind.PROPERTY_TAX, "3150/7/7")
    assert obj is not None and obj.person_id == owner.id
    assert share_in_force(db, obj.id, 2026).messbetrag_cents == 6500  # type: ignore[union-attr]
    assert all(p.state is PendingState.APPLIED and p.notice_id for p in waiting)
    # the next delivery for the object needs no clerk: its reference is known now
    later = plot(
        m,
        "3150/7/7",
        kind=NoticeKind.CHANGE,
        year_from=2028,
        messbetrag_cents=6600,
        notice_date="2027-08-01",
    )
    assert _import(db, m, delivery(later), "spaeter.xml").applied == 1
    with pytest.raises(Exception, match="bereits zugeordnet"):
        queue.assign(db, waiting[0], owner, actor="clerk")


def test_clerk_cannot_assign_another_municipalitys_person(db: Session, make: Any) -> None:
    m, other = make.municipality(), make.municipality()
    _import(db, m, delivery(plot(m, "3150/8/8")))
    waiting = queue.open_pending(db, m.id)[0]
    with pytest.raises(Exception, match="anderen Kommune"):
        queue.assign(db, waiting, make.person(other), actor="clerk")
    assert queue.open_pending(db, other.id) == []
