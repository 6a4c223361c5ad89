"""A town for the Hebesatz simulator's tests: its demo Hebesatz statutes (core.demo.realtax) and
tax objects imported through the real import of basis notices (tests.basis_notice_files)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.demo.realtax import property_tax_statutes, trade_tax_statutes
from core.levies.basis_notices import imports
from core.levies.basis_notices.models import LandUse, NoticeDocument, NoticeKind, PropertyClass
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import Statute
from tests.basis_notice_files import business, delivery, plot


def enact_hebesaetze(session: Session, m: Municipality) -> None:
    """The demo town's property- and trade-tax statutes (by its slug: musterstadt is NRW with
    separate B rates from 2025, any other slug the Bavarian village with one B rate)."""
    for levy, statutes in (
        ("property_tax", property_tax_statutes(m)),
        ("trade_tax", trade_tax_statutes(m)),
    ):
        for valid_from, data in statutes:
            session.add(
                Statute(
                    municipality_id=m.id,
                    levy=levy,
                    valid_from=valid_from,
                    source=str(data["legal_basis"]).split(" in Verbindung")[0],
                    data=data,
                )
            )
    session.flush()


def import_objects(
    session: Session, m: Municipality, owner: Person, other: Person, prefix: str = "3150"
) -> None:
    """Four plots and a business (from 2025): ``owner``'s home (residential, Messbetrag
    60.00 €), a shop (non-residential, 100.00 €), a farm (A, 10.00 €), ``other``'s plot that
    is cancelled from 2026; ``owner``'s business with this town's Zerlegung share 2/5 of
    1,242.50 € (= 497.00 €). ``prefix`` starts the plots' Aktenzeichen and the Steuernummer."""
    records = [
        plot(m, f"{prefix}/1/1", person_number=owner.number),
        plot(
            m,
            f"{prefix}/1/2",
            person_number=owner.number,
            messbetrag_cents=10000,
            land_use=LandUse.NON_RESIDENTIAL,
        ),
        plot(
            m,
            f"{prefix}/1/3",
            person_number=other.number,
            messbetrag_cents=1000,
            property_class=PropertyClass.A,
            land_use=None,
        ),
        plot(m, f"{prefix}/1/4", person_number=other.number, messbetrag_cents=50000),
        plot(
            m,
            f"{prefix}/1/4",
            person_number=other.number,
            kind=NoticeKind.CANCELLATION,
            year_from=2026,
            messbetrag_cents=None,
            notice_date="2025-12-01",
        ),
        business(
            m,
            f"{prefix}/001/00042",
            person_number=owner.number,
            document=NoticeDocument.APPORTIONMENT,
            share_numerator=2,
            share_denominator=5,
        ),
    ]
    report = imports.import_file(
        session, m, delivery(*records), filename="simulator.xml", actor="test"
    )
    assert report.applied == len(records), report.summary()
    session.flush()
