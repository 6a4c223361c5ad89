"""The property-tax notice "bis auf Weiteres" (§ 27 (1) GrStG), on SQLite and PostgreSQL: a later
year's run issues no notice where nothing changed and books the year's § 28 instalments on the
standing notice; a changed Hebesatz, a new Messbescheid, a plot added or moved to another owner,
or another payment mode gets a new notice."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import pipeline
from core.levies.basis_notices.models import NoticeKind, TaxKind, TaxObject
from core.levies.property_tax import annual_payment
from core.levies.property_tax import assessment as property_tax
from core.levies.property_tax.changes import reassess_import
from core.notices.records import Notice, notices_of, render
from core.tenancy.statutes import Statute
from tests.basis_notice_files import plot
from tests.integration.test_property_tax_levy import SETTINGS, deliver, enact
from tests.pdf_layout import page_texts

Y1, Y2, Y3 = date(2025, 1, 10), date(2026, 1, 10), date(2027, 1, 10)


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    enact(db, m)
    return m


def year_claims(db: Session, person: Any, year: int) -> list[Claim]:
    return list(
        db.scalars(
            select(Claim)
            .where(
                Claim.person_id == person.id,
                Claim.kind == ClaimKind.PROPERTY_TAX,
                Claim.assessment_key.startswith(f"property_tax:{year}:"),
            )
            .order_by(Claim.id)
        )
    )


def count(db: Session, model: Any, m: Any) -> int:
    return db.scalar(select(func.count()).select_from(model).where(model.municipality_id == m.id))


def two_owners(db: Session, make: Any, town: Any) -> tuple[Any, Any]:
    owner = make.person(town, family_name="Grundmann")
    other = make.person(town, family_name="Acker")
    deliver(
        db,
        town,
        plot(town, "3150/001/0001", person_number=owner.number),  # 288 €: 72 € a quarter
        plot(town, "3150/001/0002", person_number=other.number, messbetrag_cents=2500),  # 120 €
    )
    stats = property_tax.assess_all(db, municipality=town, year=2025, as_of=Y1, actor="t")
    assert stats.notices == 2
    return owner, other


def test_unchanged_later_year_books_on_the_standing_notice(
    db: Session, make: Any, town: Any
) -> None:
    owner, other = two_owners(db, make, town)
    [standing] = notices_of(db, owner.id, town.id)
    claims_before, notices_before = count(db, Claim, town), count(db, Notice, town)

    stats = property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t")
    assert (stats.persons, stats.notices) == (2, 0)
    assert count(db, Notice, town) == notices_before
    booked = year_claims(db, owner, 2026)
    assert [(c.due_date, c.amount_cents) for c in booked] == [
        (date(2026, 2, 15), 7200),
        (date(2026, 5, 15), 7200),
        (date(2026, 8, 15), 7200),
        (date(2026, 11, 15), 7200),
    ]
    assert {c.notice_id for c in booked} == {standing.id}
    assert {c.kassenzeichen for c in booked} == {standing.kassenzeichen}
    assert booked[0].description == (
        f"Grundsteuer 2026, 1. Quartal (Bescheid Nr. {standing.number} vom 10.01.2025, "
        "gilt bis auf Weiteres)"
    )
    assert sum(c.amount_cents for c in year_claims(db, other, 2026)) == 12000
    assert count(db, Claim, town) == claims_before + 8

    again = property_tax.assess_all(
        db, municipality=town, year=2026, as_of=date(2026, 6, 1), actor="t"
    )
    assert again.notices == 0 and count(db, Claim, town) == claims_before + 8


def test_a_run_late_in_the_year_keeps_the_statutory_due_dates(
    db: Session, make: Any, town: Any
) -> None:
    owner, _other = two_owners(db, make, town)
    property_tax.assess_all(db, municipality=town, year=2026, as_of=date(2026, 6, 1), actor="t")
    # the standing notice named the § 28 dates already: nothing is moved to a month later
    assert [c.due_date for c in year_claims(db, owner, 2026)] == [
        date(2026, 2, 15),
        date(2026, 5, 15),
        date(2026, 8, 15),
        date(2026, 11, 15),
    ]


def test_bulk_and_one_by_one_book_the_same_on_a_standing_notice(
    db: Session, make: Any, town: Any
) -> None:
    owner, other = two_owners(db, make, town)
    pipeline.run(
        db, property_tax.PROPERTY_TAX, municipality=town, year=2026, as_of=Y2, actor="t",
        bulk=False,
    )  # fmt: skip
    one_by_one = [
        [(c.due_date, c.amount_cents, c.notice_id, c.description) for c in year_claims(db, p, 2026)]
        for p in (owner, other)
    ]
    second = make.municipality()
    enact(db, second)
    owner2, other2 = two_owners(db, make, second)
    pipeline.run(
        db, property_tax.PROPERTY_TAX, municipality=second, year=2026, as_of=Y2, actor="t",
        bulk=True,
    )  # fmt: skip
    in_bulk = [
        [(c.due_date, c.amount_cents, c.description) for c in year_claims(db, p, 2026)]
        for p in (owner2, other2)
    ]
    amounts = [[(d, a) for d, a, _n, _t in rows] for rows in one_by_one]
    assert amounts == [[(d, a) for d, a, _t in rows] for rows in in_bulk]
    assert len(amounts[0]) == 4 and len(amounts[1]) == 4
    [n1] = notices_of(db, owner.id, town.id)
    [n2] = notices_of(db, owner2.id, second.id)
    assert {row[2] for row in one_by_one[0]} == {n1.id}
    assert {c.notice_id for c in year_claims(db, owner2, 2026)} == {n2.id}


def test_a_new_hebesatz_gets_every_owner_a_new_notice(db: Session, make: Any, town: Any) -> None:
    owner, other = two_owners(db, make, town)
    property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t")
    enact_from = Statute(
        municipality_id=town.id,
        levy="property_tax",
        valid_from=date(2027, 1, 1),
        source="Hebesatzsatzung 2027 (Test)",
        data={"hebesatz_percent": {"A": 300, "B": 500}, "small_amounts": True},
    )
    db.add(enact_from)
    db.flush()
    stats = property_tax.assess_all(db, municipality=town, year=2027, as_of=Y3, actor="t")
    assert stats.notices == 2
    for person, tax in ((owner, 30000), (other, 12500)):
        notice = notices_of(db, person.id, town.id)[0]
        assert (notice.year, notice.total_cents, notice.previous_cents) == (2027, tax, 0)
        assert notice.title == "Bescheid über die Festsetzung der Grundsteuer 2027"
        assert {c.notice_id for c in year_claims(db, person, 2027)} == {notice.id}
        assert sum(c.amount_cents for c in year_claims(db, person, 2027)) == tax
    rerun = property_tax.assess_all(db, municipality=town, year=2027, as_of=Y3, actor="t")
    assert rerun.notices == 0


def test_a_new_messbescheid_gets_only_its_owner_a_notice(db: Session, make: Any, town: Any) -> None:
    owner, other = two_owners(db, make, town)
    deliver(
        db,
        town,
        plot(
            town,
            "3150/001/0002",
            person_number=other.number,
            kind=NoticeKind.CHANGE,
            year_from=2026,
            messbetrag_cents=5000,  # 240 €
            notice_date="2025-11-03",
        ),
        name="aenderung.xml",
    )
    stats = property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t")
    assert stats.notices == 1
    assert [n.year for n in notices_of(db, owner.id, town.id)] == [2025]
    [new, _old] = notices_of(db, other.id, town.id)
    assert (new.year, new.total_cents) == (2026, 24000)
    assert sum(c.amount_cents for c in year_claims(db, other, 2026)) == 24000
    assert sum(c.amount_cents for c in year_claims(db, owner, 2026)) == 28800
    # the next year stands on the 2026 notice
    rerun = property_tax.assess_all(db, municipality=town, year=2027, as_of=Y3, actor="t")
    assert rerun.notices == 0
    assert {c.notice_id for c in year_claims(db, other, 2027)} == {new.id}


def test_a_change_after_booking_on_the_standing_notice_gets_a_change_notice(
    db: Session, make: Any, town: Any
) -> None:
    owner, _other = two_owners(db, make, town)
    property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t")
    import_id = deliver(
        db,
        town,
        plot(
            town,
            "3150/001/0001",
            person_number=owner.number,
            kind=NoticeKind.CHANGE,
            year_from=2026,
            messbetrag_cents=7500,  # 360 €: 90 € a quarter
            notice_date="2026-06-01",
        ),
        name="aenderung.xml",
    )
    [change] = reassess_import(db, town, import_id, as_of=date(2026, 6, 20), actor="t")
    assert (change.year, change.previous_cents, change.total_cents) == (2026, 28800, 36000)
    assert change.title == "Änderungsbescheid über die Grundsteuer 2026"
    # the two passed quarters' 2 × 18 € are due one month after the notice
    assert [(c.due_date, c.amount_cents) for c in year_claims(db, owner, 2026)][4:] == [
        (date(2026, 7, 20), 3600),
        (date(2026, 8, 15), 1800),
        (date(2026, 11, 15), 1800),
    ]


def test_a_plot_added_or_moved_to_another_owner_gets_new_notices(
    db: Session, make: Any, town: Any
) -> None:
    owner, other = two_owners(db, make, town)
    deliver(
        db,
        town,
        plot(town, "3150/001/0003", person_number=owner.number, year_from=2026),
        name="neu.xml",
    )
    moved = db.scalars(
        select(TaxObject).where(
            TaxObject.reference == "3150/001/0002", TaxObject.tax == TaxKind.PROPERTY_TAX
        )
    ).one()
    moved.person_id = owner.id  # the plot was sold to the owner (Zurechnungsfortschreibung)
    db.flush()
    stats = property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t")
    assert stats.notices == 2
    notice = notices_of(db, owner.id, town.id)[0]
    assert (notice.year, notice.total_cents) == (2026, 28800 * 2 + 12000)
    assert len(notice.data["lines"]) == 3
    # the seller's standing notice no longer holds: a notice ends it, nothing is booked
    [ended, seller_2025] = notices_of(db, other.id, town.id)
    assert ended.title == "Bescheid über die Aufhebung der Grundsteuer ab 2026"
    assert (ended.year, ended.total_cents, ended.data["lines"]) == (2026, 0, [])
    assert (
        f"Der Grundsteuerbescheid Nr. {seller_2025.number} vom 10.01.2025 gilt daher"
        in (ended.data["intro"])
    )
    assert year_claims(db, other, 2026) == []
    text = " ".join(" ".join(page_texts(render(db, ended, SETTINGS))).split())
    assert "Aufhebung der Grundsteuer ab 2026" in text and "auf 0,00 € festgesetzt" in text
    assert (
        property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t").notices == 0
    )
    later = property_tax.assess_all(db, municipality=town, year=2027, as_of=Y3, actor="t")
    assert later.notices == 0 and later.persons == 1  # the seller is done with


def test_an_annual_payment_gets_a_new_notice_with_its_due_date(
    db: Session, make: Any, town: Any
) -> None:
    owner, other = two_owners(db, make, town)
    annual_payment.apply(
        db, person=owner, municipality=town, applied_on=date(2025, 9, 1), actor="t"
    )
    stats = property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t")
    assert stats.notices == 1
    assert [(c.due_date, c.amount_cents) for c in year_claims(db, owner, 2026)] == [
        (date(2026, 7, 1), 28800)
    ]
    assert notices_of(db, owner.id, town.id)[0].year == 2026
    assert [n.year for n in notices_of(db, other.id, town.id)] == [2025]


def test_a_notice_issued_within_the_year_does_not_stand_for_it(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town)
    deliver(db, town, plot(town, person_number=owner.number))
    june = date(2026, 6, 10)
    property_tax.assess_all(db, municipality=town, year=2025, as_of=june, actor="t")
    stats = property_tax.assess_all(db, municipality=town, year=2026, as_of=june, actor="t")
    assert stats.notices == 1  # 15.2. and 15.5.2026 had passed: due one month after it
    first = year_claims(db, owner, 2026)[0]
    assert (first.due_date, first.amount_cents) == (date(2026, 7, 10), 14400)
    later = property_tax.assess_all(db, municipality=town, year=2027, as_of=Y3, actor="t")
    assert later.notices == 0  # the 2026 notice, issued before 2027, stands for it


def test_with_a_mandate_the_standing_notice_pre_notifies_the_later_year(
    db: Session, make: Any, town: Any
) -> None:
    from core.payments.sepa.models import PreNotification
    from tests.integration.test_sepa_bulk_run import _mandate

    make.sepa_statute(town)
    owner = make.person(town, family_name="Einzug")
    _mandate(db, town, owner, 1, signed_on=date(2024, 6, 1))
    deliver(db, town, plot(town, "3150/002/0001", person_number=owner.number))
    property_tax.assess_all(db, municipality=town, year=2025, as_of=Y1, actor="t")
    [standing] = notices_of(db, owner.id, town.id)
    assert standing.data.get("direct_debit")
    stats = property_tax.assess_all(db, municipality=town, year=2026, as_of=Y2, actor="t")
    assert stats.notices == 0
    booked = year_claims(db, owner, 2026)
    assert len(booked) == 4 and {c.notice_id for c in booked} == {standing.id}
    announced = db.scalars(
        select(PreNotification.claim_id).where(PreNotification.claim_id.in_([c.id for c in booked]))
    ).all()
    assert sorted(announced) == sorted(c.id for c in booked)  # the notice named them
