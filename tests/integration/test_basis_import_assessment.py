"""An accepted import of basis notices assesses what it brought (``core.levies.basis_import``,
the function the CLI and the back-office upload call after the import committed), on SQLite and
PostgreSQL: the property tax of the plots' owners for every affected year, a later change booked
only as its difference, the trade-tax notices of the Gewerbesteuermessbescheide (above the
four-eyes limit waiting for the approver); the same file twice and a refused file assess
nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import basis_import
from core.levies.basis_notices import imports
from core.levies.basis_notices.models import NoticeKind
from core.levies.basis_notices.reader import FileRejected
from core.levies.trade_tax import approval
from core.notices.records import Notice
from core.persons.models import PersonKind
from tests.basis_notice_files import business, delivery, plot
from tests.integration.test_property_tax_levy import enact

JUNE = date(2026, 6, 20)


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    enact(db, m)
    make.trade_tax_statute(m)
    return m


def _import_and_assess(db: Session, m: Any, data: bytes, name: str) -> basis_import.Assessed:
    report = imports.import_file(db, m, data, filename=name, actor="t")
    db.commit()  # as the CLI and the upload do: the import commits first
    assessed = basis_import.assess_import(db, m, report, as_of=JUNE, actor="t")
    db.commit()
    return assessed


def _count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def _property_claims(db: Session, person: Any, year: int) -> list[tuple[date, int]]:
    rows = db.execute(
        select(Claim.due_date, Claim.amount_cents)
        .where(
            Claim.person_id == person.id,
            Claim.kind == ClaimKind.PROPERTY_TAX,
            Claim.assessment_key.startswith(f"property_tax:{year}:"),
        )
        .order_by(Claim.id)
    )
    return [(d, a) for d, a in rows]


def test_an_accepted_import_assesses_and_a_change_books_only_the_difference(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town, family_name="Grundmann")
    small = make.person(town, kind=PersonKind.BUSINESS, company_name="Bäckerei Krume GmbH")
    large = make.person(town, kind=PersonKind.BUSINESS, company_name="Werk GmbH")
    first = delivery(
        plot(town, person_number=owner.number),  # from 2025: 60.00 € × 480 % = 288 €
        business(town, person_number=small.number),  # 1,242.50 € × 400 % = 4,970 €
        business(
            town, "5315/001/00099", person_number=large.number, messbetrag_cents=300000
        ),  # 12,000 € > 10,000 €: four eyes
    )
    assessed = _import_and_assess(db, town, first, "erst.xml")
    assert assessed == basis_import.Assessed(
        property_tax_notices=2, trade_tax_notices=1, trade_tax_waiting=1
    )
    assert assessed.summary() == (
        "Festgesetzt: 2 Grundsteuerbescheide erlassen, 1 Gewerbesteuerbescheide erlassen, "
        "1 warten auf Freigabe."
    )
    years = db.scalars(
        select(Notice.year).where(Notice.person_id == owner.id).order_by(Notice.year)
    ).all()
    assert list(years) == [2025, 2026]
    assert sum(a for _d, a in _property_claims(db, owner, 2026)) == 28800
    [waiting] = approval.open_applications(db, town.id)
    assert waiting.person_id == large.id
    assert db.scalar(select(func.count(Notice.id)).where(Notice.person_id == large.id)) == 0
    assert db.scalar(select(func.count(Notice.id)).where(Notice.person_id == small.id)) == 1

    claims, notices = _count(db, Claim), _count(db, Notice)
    again = _import_and_assess(db, town, first, "nochmal.xml")
    assert again == basis_import.Assessed()
    assert (_count(db, Claim), _count(db, Notice)) == (claims, notices)
    assert len(approval.open_applications(db, town.id)) == 1

    before, last_year = _property_claims(db, owner, 2026), _property_claims(db, owner, 2025)
    change = delivery(
        plot(
            town,
            person_number=owner.number,
            kind=NoticeKind.CHANGE,
            year_from=2026,
            messbetrag_cents=7500,  # 75.00 € × 480 % = 360 €: 72 € more
            notice_date="2026-06-01",
        )
    )
    changed = _import_and_assess(db, town, change, "aenderung.xml")
    assert changed == basis_import.Assessed(property_tax_notices=1)
    after = _property_claims(db, owner, 2026)
    assert after[: len(before)] == before  # nothing booked before is touched
    assert sum(a for _d, a in after[len(before) :]) == 7200  # only the difference
    assert _property_claims(db, owner, 2025) == last_year  # a change from 2026 leaves 2025
    assert _count(db, Notice) == notices + 1


def test_a_refused_file_assesses_nothing(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town, family_name="Grundmann")
    bad = delivery(plot(town, person_number=owner.number), plot(town, person_number=999999999))
    with pytest.raises(FileRejected):
        imports.import_file(db, town, bad, filename="schlecht.xml", actor="t")
    db.rollback()
    assert (_count(db, Claim), _count(db, Notice)) == (0, 0)
    assert approval.open_applications(db, town.id) == []
