"""Applications for the annual payment of the property tax (§ 28 (3) GrStG): on application the
whole year's tax is due on 1 July instead of in quarters; the application must be made by
30 September of the year before and holds for the following years until it is withdrawn (a
withdrawal, too, by 30 September of the year before it takes effect: the service is
:mod:`core.levies.property_tax.annual_payment`). Amounts of at most 15 €
stay due in full on 15 August (§ 28 (2) Nr. 1, which the application does not change:
:func:`core.levies.property_tax.rules.instalments`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime


class AnnualPayment(Base):
    """One person's application for the annual payment, from ``from_year`` on (until
    ``to_year`` when withdrawn)."""

    __tablename__ = "property_tax_annual_payment"
    __table_args__ = (
        CheckConstraint("to_year IS NULL OR to_year >= from_year", name="years"),
        Index("ix_property_tax_annual_payment_person", "person_id", "from_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    from_year: Mapped[int]
    to_year: Mapped[
        int | None
    ]  # the last year it applies to (withdrawn); None: until further notice
    applied_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


def in_force(session: Session, person_ids: Collection[int], year: int) -> set[int]:
    """The persons of ``person_ids`` who pay ``year`` as one annual payment on 1 July."""
    ids = list(person_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 2000):
        found.update(
            session.scalars(
                select(AnnualPayment.person_id).where(
                    AnnualPayment.person_id.in_(ids[start : start + 2000]),
                    AnnualPayment.from_year <= year,
                    or_(AnnualPayment.to_year.is_(None), AnnualPayment.to_year >= year),
                )
            )
        )
    return found
