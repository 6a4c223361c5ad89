"""A queued basis notice assigned by a clerk is assessed as an import's would be
(``core.levies.basis_import.assess_assigned``), on SQLite and PostgreSQL: queued, nothing is
booked; assigned, the property tax of every affected year and the trade-tax notice (four eyes
above the limit) follow; assigning twice books nothing more."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import basis_import
from core.levies.basis_notices import imports, queue
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


def _count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def _assign(db: Session, m: Any, person: Any) -> tuple[int, basis_import.Assessed]:
    [pending] = queue.open_pending(db, m.id)
    notices = queue.assign_notices(db, pending, person, actor="clerk")
    db.commit()
    assessed = basis_import.assess_assigned(
        db, m, [n.id for n in notices], as_of=JUNE, actor="clerk"
    )
    db.commit()
    return len(notices), assessed


def test_an_assigned_plot_is_assessed_for_every_affected_year(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town, family_name="Wiesengrund")
    report = imports.import_file(
        db, town, delivery(plot(town, "3150/7/7", name="Wiesengrund")), filename="a", actor="t"
    )
    db.commit()
    assert report.queued == 1
    assert basis_import.assess_import(db, town, report, as_of=JUNE, actor="t") == (
        basis_import.Assessed()
    )
    assert (_count(db, Claim), _count(db, Notice)) == (0, 0)

    applied, assessed = _assign(db, town, owner)
    assert applied == 1 and assessed.property_tax_notices == 2  # 2025 and 2026
    years = db.scalars(select(Notice.year).where(Notice.person_id == owner.id)).all()
    assert sorted(years) == [2025, 2026]
    booked = db.scalars(
        select(func.sum(Claim.amount_cents)).where(
            Claim.person_id == owner.id, Claim.kind == ClaimKind.PROPERTY_TAX
        )
    ).one()
    assert booked == 2 * 28800
    claims, notices = _count(db, Claim), _count(db, Notice)

    [pending] = db.scalars(select(queue.PendingNotice)).all()
    with pytest.raises(ValidationError, match="bereits zugeordnet"):
        queue.assign_notices(db, pending, owner, actor="clerk")
    db.rollback()
    again = basis_import.assess_assigned(
        db, town, [pending.notice_id or 0], as_of=JUNE, actor="clerk"
    )
    assert again == basis_import.Assessed()  # assessing again books nothing either
    assert (_count(db, Claim), _count(db, Notice)) == (claims, notices)


def test_an_assigned_business_gets_its_trade_tax_notice_or_waits_for_four_eyes(
    db: Session, make: Any, town: Any
) -> None:
    small = make.person(town, kind=PersonKind.BUSINESS, company_name="Bäckerei Krume GmbH")
    large = make.person(town, kind=PersonKind.BUSINESS, company_name="Werk GmbH")
    imports.import_file(
        db, town, delivery(business(town, name="Bäckerei Krume")), filename="a", actor="t"
    )
    db.commit()
    _applied, assessed = _assign(db, town, small)
    assert assessed == basis_import.Assessed(trade_tax_notices=1)
    assert db.scalar(select(func.count(Notice.id)).where(Notice.person_id == small.id)) == 1

    imports.import_file(
        db,
        town,
        delivery(business(town, "5315/001/00099", name="Werk", messbetrag_cents=300000)),
        filename="b",
        actor="t",
    )
    db.commit()
    _applied, assessed = _assign(db, town, large)  # 12,000 € > 10,000 €: four eyes
    assert assessed == basis_import.Assessed(trade_tax_waiting=1)
    [waiting] = approval.open_applications(db, town.id)
    assert waiting.person_id == large.id
    assert db.scalar(select(func.count(Notice.id)).where(Notice.person_id == large.id)) == 0
