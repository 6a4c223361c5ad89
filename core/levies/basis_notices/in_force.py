"""What the basis notices say for a year, for every tax object of a municipality at once: the
same rule as :mod:`core.levies.basis_notices.queries` (per track the last notice covering the
year rules, ordered by the year it applies from, the date of the notice, the order of import;
a cancellation rules "nothing in force"), read in one plain Core select of tuples (no ORM
objects: 250,000 plots in well under a second), for the Hebesatz simulator and bulk runs.

The Messbetrag is this municipality's share of it in whole cents: the share in cents where a
Zerlegungsbescheid names one, else the fraction of the whole Messbetrag **rounded down to the
cent** (assumption, no source found: the same direction as the default rounding of the tax,
:mod:`core.levies.realtax`; :func:`queries.share_of` keeps the exact fraction)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.levies.basis_notices.models import (
    BasisNotice,
    LandUse,
    NoticeKind,
    PropertyClass,
    TaxKind,
    TaxObject,
)
from core.levies.basis_notices.queries import ADVANCE_KINDS, ASSESSMENT_KINDS


class InForce(NamedTuple):
    reference: str  # Aktenzeichen (plot) or Steuernummer (business)
    person_id: int
    property_class: PropertyClass | None
    land_use: LandUse | None
    messbetrag_cents: int  # this municipality's share, whole cents


def municipal_cents(
    messbetrag: int, numerator: int | None, denominator: int | None, share_cents: int | None
) -> int:
    """This municipality's share of a Messbetrag in whole cents (see the module docstring)."""
    if share_cents is not None:
        return share_cents
    if numerator is not None and denominator:
        return messbetrag * numerator // denominator
    return messbetrag


def in_force(
    session: Session, municipality_id: int, tax: TaxKind, year: int, *, advance_fallback: bool
) -> list[InForce]:
    """Every object of ``tax`` with a Messbetrag in force in ``year`` (assessment notices),
    ordered by reference. ``advance_fallback`` (trade tax, whose Messbescheid is for one year):
    an object without an assessment for the year counts with its advance-payment basis in
    force (§ 19 (3) GewStG), else with its last assessment before the year (§ 19 (2) GewStG:
    the advance payments rest on the tax of the last assessment)."""
    kinds = set(ASSESSMENT_KINDS) | (set(ADVANCE_KINDS) if advance_fallback else set())
    query = (
        select(
            BasisNotice.tax_object_id,
            BasisNotice.kind,
            BasisNotice.year_to,
            BasisNotice.messbetrag_cents,
            BasisNotice.share_numerator,
            BasisNotice.share_denominator,
            BasisNotice.share_cents,
        )
        .join(TaxObject, TaxObject.id == BasisNotice.tax_object_id)
        .where(
            TaxObject.municipality_id == municipality_id,
            BasisNotice.municipality_id == municipality_id,
            TaxObject.tax == tax,
            BasisNotice.kind.in_(sorted(kinds)),
            BasisNotice.year_from <= year,
        )
        .order_by(
            BasisNotice.tax_object_id,
            BasisNotice.year_from,
            BasisNotice.notice_date,
            BasisNotice.id,
        )
    )
    if not advance_fallback:
        query = query.where(or_(BasisNotice.year_to.is_(None), BasisNotice.year_to >= year))
    assessed: dict[int, int | None] = {}  # object → cents in force (None: cancelled)
    advance: dict[int, int | None] = {}
    latest: dict[int, int | None] = {}  # the last assessment from an earlier year on
    for object_id, kind, year_to, messbetrag, numerator, denominator, share in session.execute(
        query
    ):
        cents = None
        if kind is not NoticeKind.CANCELLATION:
            cents = municipal_cents(messbetrag or 0, numerator, denominator, share)
        covers = year_to is None or year_to >= year
        if kind is not NoticeKind.ADVANCE_PAYMENT:
            latest[object_id] = cents
            if covers:
                assessed[object_id] = cents
        if kind in ADVANCE_KINDS and covers:
            advance[object_id] = cents
    cents_of: dict[int, int] = {}
    for track in (latest, advance, assessed) if advance_fallback else (assessed,):
        for object_id, cents in track.items():  # a later track rules over an earlier one
            if cents is None:
                cents_of.pop(object_id, None)
            else:
                cents_of[object_id] = cents
    if not cents_of:
        return []
    objects = session.execute(
        select(
            TaxObject.id,
            TaxObject.reference,
            TaxObject.person_id,
            TaxObject.property_class,
            TaxObject.land_use,
        )
        .where(TaxObject.municipality_id == municipality_id, TaxObject.tax == tax)
        .order_by(TaxObject.reference)
    )
    return [
        InForce(reference, person_id, property_class, land_use, cents_of[object_id])
        for object_id, reference, person_id, property_class, land_use in objects
        if object_id in cents_of
    ]
