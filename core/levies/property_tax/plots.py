"""The plots of the property tax as the levy reads them: a property-tax object with the
Messbetrag in force for a year (:class:`Plot`, plain values), its kind of land, this
municipality's share of the Messbetrag, and the basis notice ruling a year for many objects at
once (the rule of :mod:`core.levies.basis_notices.queries`, in a query per 2,000 objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.levies.basis_notices.models import BasisNotice, LandUse, NoticeKind, PropertyClass
from core.levies.basis_notices.queries import ASSESSMENT_KINDS
from core.levies.property_tax.rules import NON_RESIDENTIAL, RESIDENTIAL


@dataclass(frozen=True, slots=True)
class Plot:
    """A property-tax object with the Messbetrag in force for the year (plain values)."""

    object_id: int
    reference: str  # the tax office's Aktenzeichen
    location: str
    kind: str  # one of rules.KINDS
    messbetrag_cents: int  # this municipality's share, full cents
    basis_notice_id: int


def kind_of(property_class: PropertyClass, land_use: LandUse | None) -> str:
    if property_class is PropertyClass.A:
        return "A"
    return NON_RESIDENTIAL if land_use is LandUse.NON_RESIDENTIAL else RESIDENTIAL


def share_cents(
    messbetrag: int | None, numerator: int | None, denominator: int | None, amount: int | None
) -> int:
    """This municipality's Messbetrag in full cents (as :func:`queries.share_of`, floored)."""
    if amount is not None:
        return amount
    if numerator is not None and denominator:
        return (messbetrag or 0) * numerator // denominator
    return messbetrag or 0


def ruling(session: Session, year: int, *where: Any) -> dict[int, tuple[Any, ...]]:
    """Per property-tax object the basis notice ruling ``year`` (None-free: cancelled objects
    are left out), as plain rows, in a query or a few."""
    ruling: dict[int, tuple[Any, ...]] = {}
    rows = session.execute(
        select(
            BasisNotice.tax_object_id,
            BasisNotice.id,
            BasisNotice.kind,
            BasisNotice.messbetrag_cents,
            BasisNotice.share_numerator,
            BasisNotice.share_denominator,
            BasisNotice.share_cents,
        )
        .where(
            *where,
            BasisNotice.kind.in_(ASSESSMENT_KINDS),
            BasisNotice.year_from <= year,
            or_(BasisNotice.year_to.is_(None), BasisNotice.year_to >= year),
        )
        .order_by(
            BasisNotice.tax_object_id,
            BasisNotice.year_from,
            BasisNotice.notice_date,
            BasisNotice.id,
        )
    )
    for row in rows:
        ruling[row[0]] = tuple(row)  # the last one of an object rules (queries.notice_in_force)
    return {oid: row for oid, row in ruling.items() if row[2] is not NoticeKind.CANCELLATION}


def location(street: str | None, number: str | None, code: str | None, city: str | None) -> str:
    """As :attr:`TaxObject.location`."""
    first = " ".join(p for p in (street, number) if p)
    town = " ".join(p for p in (code, city) if p)
    return ", ".join(p for p in (first, town) if p)


Basis = dict[str, list[list[Any]]]  # what a notice rests on (core.levies.property_tax.standing)


@dataclass(frozen=True, slots=True)
class StandingNotice:
    """An owner's latest property-tax notice of an earlier year, as far as a run needs it."""

    notice_id: int
    number: int
    issued_on: date
    kassenzeichen: str
    basis: Basis | None  # None: issued before the basis was stored (no reliance on it)

    @property
    def reference(self) -> str:
        """How a claim booked on it names the notice."""
        return (
            f"Bescheid Nr. {self.number} vom {self.issued_on.strftime('%d.%m.%Y')}, "
            "gilt bis auf Weiteres"
        )


@dataclass(frozen=True, slots=True)
class Holding:
    """What is on file for one owner and year: the plots, and whether the owner pays the
    year as one annual payment on 1 July (§ 28 (3) GrStG, :mod:`.models`)."""

    plots: list[Plot]
    annual_payment: bool = False
    standing: StandingNotice | None = None  # the owner's notice "bis auf Weiteres"
