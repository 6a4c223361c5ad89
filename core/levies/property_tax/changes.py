"""Change assessments after new basis notices: a Messbescheid (new, change, cancellation) for a
plot applies from a year, maybe a past one, so every year from then on that is assessed — up to
the year of the notice, and any later year already assessed ahead — is assessed again for the
owner; each books only its difference (:mod:`core.levies.property_tax.payments`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.errors import NotFound
from core.ledger.models import Claim
from core.levies.basis_notices.models import BasisNotice, TaxKind, TaxObject
from core.levies.property_tax.assessment import PROPERTY_TAX
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def affected_years(session: Session, person_id: int, from_year: int, as_of: date) -> list[int]:
    """The years a change from ``from_year`` touches: up to the notice's year, and up to the
    last year with property tax booked (maybe on a standing notice) or a notice issued for
    the owner."""
    last_notice = session.scalar(
        select(func.max(Notice.year)).where(
            Notice.person_id == person_id, Notice.levy == PROPERTY_TAX.kind.value
        )
    )
    last_claim = session.scalar(  # a year booked on a standing notice has none of its own
        select(func.max(Claim.period_end)).where(
            Claim.person_id == person_id, Claim.kind == PROPERTY_TAX.kind
        )
    )
    last = max(as_of.year, last_notice or as_of.year, last_claim.year if last_claim else 0)
    return list(range(from_year, last + 1))


def reassess(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    from_year: int,
    as_of: date,
    actor: str,
) -> list[Notice]:
    """Assess ``person`` again for every year a change from ``from_year`` touches; returns the
    notices issued (none where nothing changed). A year without a Hebesatz statute is left
    out (nothing could have been assessed for it)."""
    issued = []
    for year in affected_years(session, person.id, from_year, as_of):
        try:
            rules = PROPERTY_TAX.rules(session, municipality.id, year)
        except NotFound:
            continue
        notice = PROPERTY_TAX.assess_person(
            session,
            person=person,
            municipality=municipality,
            year=year,
            as_of=as_of,
            actor=actor,
            rules=rules,
        )
        if notice is not None:
            issued.append(notice)
    return issued


def reassess_import(
    session: Session, municipality: Municipality, import_id: int, *, as_of: date, actor: str
) -> list[Notice]:
    """The change assessments an import of basis notices calls for: per owner of a plot it
    touched, from the earliest year one of its notices applies."""
    return _reassess_where(
        session, municipality, BasisNotice.import_id == import_id, as_of=as_of, actor=actor
    )


def reassess_notices(
    session: Session,
    municipality: Municipality,
    notice_ids: Collection[int],
    *,
    as_of: date,
    actor: str,
) -> list[Notice]:
    """As :func:`reassess_import` for the basis notices ``notice_ids`` (e.g. those a clerk
    assigned from the queue)."""
    return _reassess_where(
        session, municipality, BasisNotice.id.in_(list(notice_ids)), as_of=as_of, actor=actor
    )


def _reassess_where(
    session: Session, municipality: Municipality, where: Any, *, as_of: date, actor: str
) -> list[Notice]:
    rows = session.execute(
        select(TaxObject.person_id, func.min(BasisNotice.year_from))
        .join(TaxObject, TaxObject.id == BasisNotice.tax_object_id)
        .where(
            where,
            BasisNotice.municipality_id == municipality.id,
            TaxObject.tax == TaxKind.PROPERTY_TAX,
        )
        .group_by(TaxObject.person_id)
        .order_by(TaxObject.person_id)
    ).all()
    issued = []
    for person_id, from_year in rows:
        person = session.get_one(Person, person_id)
        issued += reassess(
            session,
            person=person,
            municipality=municipality,
            from_year=from_year,
            as_of=as_of,
            actor=actor,
        )
    return issued
