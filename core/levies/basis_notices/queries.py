"""What the basis notices say for a year: the Messbetrag (this municipality's share of it) in
force for a tax object.

For year Y the notices of one track (the assessment: new, change, cancellation; or the advance
payments: advance-payment notices and cancellations) that cover Y are ordered by the year they
apply from, then by the date of the notice, then by their order of import; the last one rules.
A cancellation rules "nothing in force". So a change from a later year overrides an earlier
notice from that year on, a correction of the same year with a later date overrides the one it
corrects, and nothing is ever updated in place."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.levies.basis_notices.models import BasisNotice, NoticeKind, TaxObject

ASSESSMENT_KINDS = (NoticeKind.NEW, NoticeKind.CHANGE, NoticeKind.CANCELLATION)
ADVANCE_KINDS = (NoticeKind.ADVANCE_PAYMENT, NoticeKind.CANCELLATION)


@dataclass(frozen=True)
class ShareInForce:
    notice_id: int
    messbetrag_cents: int  # the whole Messbetrag the notice names
    share: Fraction  # this municipality's share of it (1 without a Zerlegung)
    share_cents: Fraction  # the Messbetrag for this municipality, exact (cents)


def share_of(notice: BasisNotice) -> ShareInForce:
    total = notice.messbetrag_cents or 0
    if notice.share_cents is not None:
        share = Fraction(notice.share_cents, total) if total else Fraction(0)
        amount = Fraction(notice.share_cents)
    elif notice.share_numerator is not None and notice.share_denominator:
        share = Fraction(notice.share_numerator, notice.share_denominator)
        amount = total * share
    else:
        share, amount = Fraction(1), Fraction(total)
    return ShareInForce(notice.id, total, share, amount)


def notice_in_force(
    session: Session, tax_object_id: int, year: int, *, advance_payment: bool = False
) -> BasisNotice | None:
    """The notice that rules ``year`` for the object (None: none, or it was cancelled)."""
    kinds = ADVANCE_KINDS if advance_payment else ASSESSMENT_KINDS
    notice = session.scalars(
        select(BasisNotice)
        .where(
            BasisNotice.tax_object_id == tax_object_id,
            BasisNotice.kind.in_(kinds),
            BasisNotice.year_from <= year,
            or_(BasisNotice.year_to.is_(None), BasisNotice.year_to >= year),
        )
        .order_by(
            BasisNotice.year_from.desc(), BasisNotice.notice_date.desc(), BasisNotice.id.desc()
        )
        .limit(1)
    ).first()
    if notice is None or notice.kind is NoticeKind.CANCELLATION:
        return None
    return notice


def share_in_force(
    session: Session, tax_object_id: int, year: int, *, advance_payment: bool = False
) -> ShareInForce | None:
    """The Messbetrag share in force for the object in ``year`` (None: nothing to assess)."""
    notice = notice_in_force(session, tax_object_id, year, advance_payment=advance_payment)
    return share_of(notice) if notice is not None else None


def history(session: Session, tax_object_id: int) -> list[BasisNotice]:
    """Every notice of the object, in the order they rule."""
    return list(
        session.scalars(
            select(BasisNotice)
            .where(BasisNotice.tax_object_id == tax_object_id)
            .order_by(BasisNotice.year_from, BasisNotice.notice_date, BasisNotice.id)
        )
    )


def objects_of(session: Session, municipality_id: int, person_id: int) -> list[TaxObject]:
    return list(
        session.scalars(
            select(TaxObject)
            .where(TaxObject.municipality_id == municipality_id, TaxObject.person_id == person_id)
            .order_by(TaxObject.tax, TaxObject.reference)
        )
    )
