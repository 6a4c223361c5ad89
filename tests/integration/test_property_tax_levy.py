"""The property tax as a levy of the pipeline, on SQLite and PostgreSQL: the annual run from
the basis notices (one notice per owner and year for all plots), a rerun books nothing, a new
basis notice books only the difference (passed due dates one month after the notice), a
backdated one re-assesses every affected year, a cancellation assesses down to nothing, the
annual run as a job; the notice PDF read back."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.jobs import control, worker
from core.kernel.errors import ValidationError
from core.ledger.balances import open_amounts
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.levies.basis_notices import imports
from core.levies.basis_notices.models import LandUse, NoticeKind, PropertyClass
from core.levies.property_tax import annual_payment
from core.levies.property_tax import assessment as property_tax
from core.levies.property_tax.changes import reassess, reassess_import
from core.notices.records import Notice, NoticeSettings, notices_of, render
from core.tenancy.statutes import Statute
from tests.basis_notice_files import delivery, plot
from tests.pdf_layout import page_texts

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
JAN = date(2026, 1, 10)
REMEDY = "Gegen diesen Bescheid kann innerhalb eines Monats Klage erhoben werden (Test)."


def enact(db: Session, m: Any, **overrides: Any) -> None:
    data: dict[str, Any] = {
        "hebesatz_percent": {"A": 300, "B": 480},
        "small_amounts": True,
        "legal_basis": "§ 1 der Hebesatzsatzung (Test) in Verbindung mit §§ 25, 27 bis 31 GrStG",
        "remedy": REMEDY,
    }
    data.update(overrides)
    db.add(
        Statute(
            municipality_id=m.id,
            levy="property_tax",
            valid_from=date(2020, 1, 1),
            source="Hebesatzsatzung (Test)",
            data=data,
        )
    )
    db.flush()


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    enact(db, m)
    return m


def deliver(db: Session, m: Any, *records: Any, name: str = "lieferung.xml") -> int:
    report = imports.import_file(db, m, delivery(*records), filename=name, actor="test")
    db.flush()
    assert report.import_id is not None
    return report.import_id


def claims(db: Session, person: Any, year: int = 2026) -> list[tuple[date, int]]:
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


def standing(db: Session, person: Any, year: int = 2026) -> int:
    found = list(
        db.scalars(
            select(Claim).where(
                Claim.person_id == person.id,
                Claim.assessment_key.startswith(f"property_tax:{year}:"),
            )
        )
    )
    from core.ledger.balances import claim_balances

    return sum(b.assessed_cents for b in claim_balances(db, found).values())


def test_annual_run_one_notice_per_owner_for_all_plots_and_rerun_books_nothing(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town, family_name="Grundmann")
    other = make.person(town, family_name="Acker")
    deliver(
        db,
        town,
        plot(town, "3150/001/0001", person_number=owner.number),  # 60.00 € × 480 % = 288 €
        plot(
            town,
            "3150/001/0002",
            person_number=owner.number,
            messbetrag_cents=2500,  # 25.00 € × 480 % = 120 €
            land_use=LandUse.NON_RESIDENTIAL,
        ),
        plot(
            town,
            "3150/001/0003",
            person_number=other.number,
            property_class=PropertyClass.A,
            land_use=None,
            messbetrag_cents=800,  # 8.00 € × 300 % = 24 €: halves on 15.2. and 15.8.
        ),
    )
    stats = property_tax.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    assert (stats.persons, stats.objects, stats.notices) == (2, 3, 2)
    assert claims(db, owner) == [
        (date(2026, 2, 15), 10200),
        (date(2026, 5, 15), 10200),
        (date(2026, 8, 15), 10200),
        (date(2026, 11, 15), 10200),
    ]
    assert claims(db, other) == [(date(2026, 2, 15), 1200), (date(2026, 8, 15), 1200)]
    [notice] = notices_of(db, owner.id, town.id)
    assert notice.total_cents == 40800 and notice.levy == "property_tax"
    assert [ln["basis"] for ln in notice.data["lines"]] == ["60,00 € × 480 %", "25,00 € × 480 %"]

    again = property_tax.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    assert (again.persons, again.notices) == (2, 0)
    later = property_tax.assess_all(
        db, municipality=town, year=2026, as_of=date(2026, 9, 1), actor="t"
    )
    assert later.notices == 0  # a rerun on a later day moves nothing either
    assert len(claims(db, owner)) == 4


def test_bulk_and_one_by_one_give_the_same_ledger(db: Session, make: Any) -> None:
    from core.levies import pipeline

    ledgers = []
    for bulk in (False, True):
        m = make.municipality()
        enact(db, m)
        owners = [make.person(m, family_name=f"Eigner{i}") for i in range(3)]
        deliver(
            db,
            m,
            *[
                plot(m, f"3150/002/{i:04d}", person_number=p.number, messbetrag_cents=500 * (i + 1))
                for i, p in enumerate(owners)
            ],
        )
        pipeline.run(
            db, property_tax.PROPERTY_TAX, municipality=m, year=2026, as_of=JAN, actor="t",
            bulk=bulk,
        )  # fmt: skip
        ledgers.append([claims(db, p) for p in owners])
    one_by_one, in_bulk = ledgers
    assert one_by_one == in_bulk
    assert one_by_one[0] == [(date(2026, 2, 15), 1200), (date(2026, 8, 15), 1200)]  # ≤ 30 €
    assert [sum(a for _, a in c) for c in one_by_one] == [2400, 4800, 7200]
    assert len(one_by_one[2]) == 4


def test_change_assessment_books_only_the_difference(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    deliver(db, town, plot(town, person_number=owner.number))
    property_tax.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    feb = db.scalars(select(Claim).where(Claim.person_id == owner.id).order_by(Claim.due_date))
    first = next(iter(feb))
    record_payment(
        db, person=owner, amount_cents=7200, received_on=date(2026, 2, 14),
        channel=PaymentChannel.BANK_TRANSFER, as_of=date(2026, 2, 14), actor="t",
        kassenzeichen=first.kassenzeichen, reference_text="",
    )  # fmt: skip
    before = db.scalar(select(func.count()).select_from(Claim)) or 0
    import_id = deliver(
        db,
        town,
        plot(
            town,
            person_number=owner.number,
            kind=NoticeKind.CHANGE,
            year_from=2026,
            messbetrag_cents=7500,  # 75.00 € × 480 % = 360 €: 90 € a quarter
            notice_date="2026-06-01",
        ),
        name="aenderung.xml",
    )
    [change] = reassess_import(db, town, import_id, as_of=date(2026, 6, 20), actor="t")
    assert (change.previous_cents, change.total_cents) == (28800, 36000)
    assert change.title == "Änderungsbescheid über die Grundsteuer 2026"
    posted = claims(db, owner)[4:]
    # 15.2. and 15.5. have passed: their 2 × 18 € are due one month after the notice
    assert posted == [
        (date(2026, 7, 20), 3600),
        (date(2026, 8, 15), 1800),
        (date(2026, 11, 15), 1800),
    ]
    assert (db.scalar(select(func.count()).select_from(Claim)) or 0) == before + 3
    assert standing(db, owner) == 36000
    rows = change.data["instalments"]
    assert rows[0]["paid_cents"] == 7200 and sum(r["amount_cents"] for r in rows) == 36000
    assert reassess_import(db, town, import_id, as_of=date(2026, 6, 21), actor="t") == []

    lower = deliver(
        db,
        town,
        plot(
            town,
            person_number=owner.number,
            kind=NoticeKind.CHANGE,
            year_from=2026,
            messbetrag_cents=5000,  # 240 €: 60 € a quarter
            notice_date="2026-09-01",
        ),
        name="minderung.xml",
    )
    [reduced] = reassess_import(db, town, lower, as_of=date(2026, 9, 10), actor="t")
    assert reduced.total_cents == 24000 and standing(db, owner) == 24000
    assert claims(db, owner)[-1][0] == date(2026, 11, 15)  # nothing new posted for a reduction
    assert len(claims(db, owner)) == 7


def test_backdated_change_reassesses_every_affected_year(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    deliver(db, town, plot(town, person_number=owner.number))
    for year, day in ((2025, date(2025, 1, 10)), (2026, JAN)):
        property_tax.assess_all(db, municipality=town, year=year, as_of=day, actor="t")
    assert standing(db, owner, 2025) == standing(db, owner, 2026) == 28800
    import_id = deliver(
        db,
        town,
        plot(
            town,
            person_number=owner.number,
            kind=NoticeKind.CHANGE,
            year_from=2025,  # a correction back to the main assessment
            messbetrag_cents=6500,  # 312 €: 78 € a quarter
            notice_date="2026-03-02",
        ),
        name="berichtigung.xml",
    )
    notices = reassess_import(db, town, import_id, as_of=date(2026, 3, 10), actor="t")
    assert sorted(n.year for n in notices) == [2025, 2026]
    assert standing(db, owner, 2025) == standing(db, owner, 2026) == 31200
    # 2025 has passed entirely: its 4 × 6 € are due one month after the notice
    assert claims(db, owner, 2025)[4:] == [(date(2026, 4, 10), 2400)]
    assert claims(db, owner, 2026)[4:] == [
        (date(2026, 4, 10), 600),
        (date(2026, 5, 15), 600),
        (date(2026, 8, 15), 600),
        (date(2026, 11, 15), 600),
    ]
    assert (
        reassess(
            db, person=owner, municipality=town, from_year=2025, as_of=date(2026, 3, 11), actor="t"
        )
        == []
    )


def test_cancelled_plot_is_assessed_down_to_nothing(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town)
    deliver(db, town, plot(town, person_number=owner.number))
    property_tax.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    deliver(
        db,
        town,
        plot(
            town,
            person_number=owner.number,
            kind=NoticeKind.CANCELLATION,
            year_from=2026,
            messbetrag_cents=None,
            notice_date="2026-02-01",
        ),
        name="aufhebung.xml",
    )
    stats = property_tax.assess_all(
        db, municipality=town, year=2026, as_of=date(2026, 2, 5), actor="t"
    )
    assert stats.notices == 1 and standing(db, owner) == 0
    assert sum(open_amounts(db, list(db.scalars(select(Claim)))).values()) == 0


def test_annual_run_as_job(
    db: Session, make: Any, town: Any, session_factory: sessionmaker[Session]
) -> None:
    owners = [make.person(town, family_name=f"Eigner{i}") for i in range(3)]
    deliver(
        db,
        town,
        *[plot(town, f"3150/003/{i:04d}", person_number=p.number) for i, p in enumerate(owners)],
    )
    db.commit()
    params = {"year": "2026", "as_of": "2026-01-10"}
    job = control.start(db, town, "property_tax", params, actor="user:1")
    db.commit()
    worker.drain(session_factory, environment={})
    db.expire_all()
    assert control.progress(db, job).counts == {"persons": 3, "notices": 3, "objects": 3}
    again = control.start(db, town, "property_tax", params, actor="user:1")
    db.commit()
    worker.drain(session_factory, environment={})
    db.expire_all()
    assert control.progress(db, again).counts == {"persons": 3, "objects": 3}
    count = select(func.count()).select_from(Notice).where(Notice.municipality_id == town.id)
    assert db.scalar(count) == 3


def test_notice_pdf_prints_the_computation_step_by_step(db: Session, make: Any, town: Any) -> None:
    owner = make.person(town, given_name="Erika", family_name="Mustermann")
    deliver(db, town, plot(town, person_number=owner.number))
    property_tax.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    [notice] = notices_of(db, owner.id, town.id)
    text = "\n".join(page_texts(render(db, notice, SETTINGS)))
    flat = " ".join(text.split())
    assert "Bescheid über die Festsetzung der Grundsteuer 2026" in flat
    assert "60,00 € × 480 % 288,00 €" in flat  # Messbetrag × Hebesatz = tax
    assert "3150/123/4567" in flat and "Lindenweg 7" in flat
    for day in ("15.02.2026", "15.05.2026", "15.08.2026", "15.11.2026"):
        assert f"{day} 1. Quartal" in flat or day in flat
    assert flat.count("72,00 €") >= 4
    assert "bis auf Weiteres" in flat
    assert "Rechtsbehelfsbelehrung" in flat and REMEDY in flat


def test_annual_payment_on_application_from_the_next_year(
    db: Session, make: Any, town: Any
) -> None:
    owner = make.person(town)
    late = make.person(town, family_name="Spät")
    deliver(
        db,
        town,
        plot(town, person_number=owner.number),
        plot(town, "3150/123/4568", person_number=late.number),
    )
    assert (
        annual_payment.apply(
            db, person=owner, municipality=town, applied_on=date(2025, 9, 30), actor="t"
        ).from_year
        == 2026
    )
    assert (
        annual_payment.apply(
            db, person=late, municipality=town, applied_on=date(2025, 10, 1), actor="t"
        ).from_year
        == 2027
    )  # after 30 September: from the year after next
    with pytest.raises(ValidationError, match="bereits beantragt"):
        annual_payment.apply(
            db, person=owner, municipality=town, applied_on=date(2025, 9, 1), actor="t"
        )
    property_tax.assess_all(db, municipality=town, year=2026, as_of=JAN, actor="t")
    assert claims(db, owner) == [(date(2026, 7, 1), 28800)]
    assert len(claims(db, late)) == 4
    [notice] = notices_of(db, owner.id, town.id)
    assert [r["label"] for r in notice.data["instalments"]] == ["Jahresbetrag auf Antrag"]
