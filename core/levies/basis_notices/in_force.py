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

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import String, or_, select, type_coerce
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

# (reference: Aktenzeichen or Steuernummer, person id, property class, land use, this
# municipality's Messbetrag in whole cents); a plain tuple: 250,000 are made in one call
InForce = tuple[str, int, PropertyClass | None, LandUse | None, int]


@contextmanager
def without_gc() -> Iterator[None]:
    """No cyclic garbage collection while many small tuples are made (they hold no cycles):
    Python's collector would otherwise walk the growing heap again and again (measured: the
    load of 50,000 objects takes 2.5 times as long with it). Nested use is fine."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def municipal_cents(
    messbetrag: int, numerator: int | None, denominator: int | None, share_cents: int | None
) -> int:
    """This municipality's share of a Messbetrag in whole cents (see the module docstring)."""
    if share_cents is not None:
        return share_cents
    if numerator is not None and denominator:
        return messbetrag * numerator // denominator
    return messbetrag


_CLASSES = {c.value: c for c in PropertyClass}
_USES = {u.value: u for u in LandUse}
_CANCELLATION, _ADVANCE = NoticeKind.CANCELLATION.value, NoticeKind.ADVANCE_PAYMENT.value
_ADVANCE_TRACK = {k.value for k in ADVANCE_KINDS}


def _raw(column: Any) -> Any:
    """An enum column as its stored string (no per-row conversion to the Python enum)."""
    return type_coerce(column, String())


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
            _raw(BasisNotice.kind),
            BasisNotice.year_to,
            BasisNotice.messbetrag_cents,
            BasisNotice.share_numerator,
            BasisNotice.share_denominator,
            BasisNotice.share_cents,
            TaxObject.reference,
            TaxObject.person_id,
            _raw(TaxObject.property_class),
            _raw(TaxObject.land_use),
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
    # a plain Core result of tuples (no ORM rows): the simulator reads 250,000 of them
    with without_gc():
        return _collect(session, query, year, advance_fallback)


def _collect(session: Session, query: Any, year: int, advance_fallback: bool) -> list[InForce]:
    assessed: dict[int, int | None] = {}  # object → cents in force (None: cancelled)
    advance: dict[int, int | None] = {}
    latest: dict[int, int | None] = {}  # the last assessment from an earlier year on
    facts: dict[int, tuple[str, int, str | None, str | None]] = {}
    for row in (r for rows in session.connection().execute(query).partitions(5000) for r in rows):
        object_id, kind, year_to, messbetrag, numerator, denominator, share = row[:7]
        if kind == _CANCELLATION:
            cents = None
        elif numerator is None and share is None:
            cents = messbetrag  # no Zerlegung: the whole Messbetrag (the common case)
        else:
            cents = municipal_cents(messbetrag or 0, numerator, denominator, share)
        covers = year_to is None or year_to >= year
        if kind != _ADVANCE:
            latest[object_id] = cents
            if covers:
                assessed[object_id] = cents
        if kind in _ADVANCE_TRACK and covers:
            advance[object_id] = cents
        facts[object_id] = row[7:]
    cents_of: dict[int, int] = {}
    for track in (latest, advance, assessed) if advance_fallback else (assessed,):
        for object_id, cents in track.items():  # a later track rules over an earlier one
            if cents is None:
                cents_of.pop(object_id, None)
            else:
                cents_of[object_id] = cents
    classes, uses = _CLASSES.get, _USES.get
    found: list[InForce] = []
    for object_id, cents in cents_of.items():
        reference, person_id, pc, use = facts[object_id]
        found.append((reference, person_id, classes(pc or ""), uses(use or ""), cents))
    found.sort()
    return found
