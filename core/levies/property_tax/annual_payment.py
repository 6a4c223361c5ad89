"""Applying for and withdrawing the annual payment of the property tax (§ 28 (3) GrStG): the
whole year's tax on 1 July instead of the quarters, for the owner's property tax as a whole (one
notice per owner and year for all their plots), applied for by the statute's deadline
(``annual_payment_deadline``, default 30 September of the year before: :mod:`.rules`); it holds
for the following years until withdrawn, and a withdrawal, too, takes effect from the first year
whose deadline it meets. The storage is :class:`.models.AnnualPayment`; the annual run reads it
(:func:`.models.in_force`).

* An application for a year whose deadline has passed is refused, naming the deadline and the
  1 July from which an application made now would first apply (the citizen chooses the year;
  :func:`apply` without a year takes the first possible one).
* Only an owner of property-tax objects of the municipality may apply (what the application is
  for); an application or a withdrawal of another person does not exist for them.
* A withdrawal before the application took effect removes it (it never applied); a later one
  ends it with the year before the first year the withdrawal meets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import NotFound, ValidationError
from core.levies.basis_notices.models import TaxKind, TaxObject
from core.levies.property_tax.models import AnnualPayment, in_force
from core.levies.property_tax.rules import ANNUAL_PAYMENT_DEADLINE, rules_for_year
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

_LOOK_AHEAD = 3  # years searched for the first deadline a day meets (two always suffice)


def deadline(session: Session, municipality_id: int, year: int) -> date:
    """The last day to apply for, or withdraw, the annual payment of ``year`` (statute data of
    the year; where no statute names one yet, § 28 (3) GrStG's 30 September)."""
    try:
        return rules_for_year(session, municipality_id, year).annual_payment_deadline_for(year)
    except NotFound:
        month, day = ANNUAL_PAYMENT_DEADLINE
        return date(year - 1, month, day)


def first_year(session: Session, municipality_id: int, on: date) -> int:
    """The first year an application (or withdrawal) made ``on`` takes effect for."""
    for year in range(on.year + 1, on.year + 1 + _LOOK_AHEAD):
        if on <= deadline(session, municipality_id, year):
            return year
    raise ValidationError("Für diesen Tag ist keine Antragsfrist bestimmt.")  # no such statute


@dataclass(frozen=True)
class Status:
    """What the account shows: the application (if any), from and until when it applies, and
    what an application or a withdrawal made today would take effect for."""

    application: AnnualPayment | None
    next_year: int  # an application or withdrawal today takes effect for this year
    next_deadline: date  # … if made by this day


def _owns_plots(session: Session, person: Person) -> bool:
    return (
        session.scalar(
            select(TaxObject.id)
            .where(
                TaxObject.person_id == person.id,
                TaxObject.municipality_id == person.municipality_id,
                TaxObject.tax == TaxKind.PROPERTY_TAX,
            )
            .limit(1)
        )
        is not None
    )


def current(session: Session, person: Person, on: date) -> AnnualPayment | None:
    """The person's application that applies now or later (not one ended before ``on``'s
    year)."""
    rows = session.scalars(
        select(AnnualPayment)
        .where(AnnualPayment.person_id == person.id)
        .order_by(AnnualPayment.from_year.desc(), AnnualPayment.id.desc())
    )
    for row in rows:
        if row.to_year is None or row.to_year >= on.year:
            return row
    return None


def status(session: Session, person: Person, on: date) -> Status:
    year = first_year(session, person.municipality_id, on)
    return Status(
        current(session, person, on), year, deadline(session, person.municipality_id, year)
    )


def apply(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    applied_on: date,
    actor: str,
    year: int | None = None,
) -> AnnualPayment:
    """Record an application made on ``applied_on`` for ``year`` on (default: the first year
    whose deadline it meets); a late one is refused in German (see the module docstring)."""
    if person.municipality_id != municipality.id or not _owns_plots(session, person):
        raise NotFound(
            "Zu Ihrem Konto sind hier keine grundsteuerpflichtigen Grundstücke gespeichert."
        )
    earliest = first_year(session, municipality.id, applied_on)
    year = earliest if year is None else year
    if year < earliest:
        last = deadline(session, municipality.id, year)
        raise ValidationError(
            f"Für {year} ist die Frist abgelaufen: Die Jahreszahlung hätte bis zum "
            f"{last:%d.%m.%Y} beantragt werden müssen. Ein heute gestellter Antrag gilt "
            f"erst ab dem 01.07.{earliest}."
        )
    if year > earliest + 1:
        raise ValidationError(
            f"Bitte beantragen Sie die Jahreszahlung ab {earliest} oder {earliest + 1}."
        )
    if in_force(session, [person.id], year):
        raise ValidationError(f"Für {year} ist die Jahreszahlung zum 1. Juli bereits beantragt.")
    standing = _open_ended(session, person)
    if standing is not None:
        raise ValidationError(
            f"Die Jahreszahlung zum 1. Juli ist bereits ab {standing.from_year} beantragt."
        )
    row = AnnualPayment(
        municipality_id=municipality.id, person_id=person.id, from_year=year, applied_on=applied_on
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="property_tax.annual_payment_applied",
        obj=row,
        municipality_id=municipality.id,
        after={"from_year": year, "applied_on": applied_on.isoformat()},
    )
    return row


def _open_ended(session: Session, person: Person) -> AnnualPayment | None:
    return session.scalars(
        select(AnnualPayment).where(
            AnnualPayment.person_id == person.id, AnnualPayment.to_year.is_(None)
        )
    ).first()


def withdraw(
    session: Session,
    *,
    person: Person,
    application_id: int,
    withdrawn_on: date,
    actor: str,
) -> int:
    """Withdraw the person's application ``application_id`` (another person's is not found);
    returns the first year it no longer applies to."""
    row = session.get(AnnualPayment, application_id)
    if row is None or row.person_id != person.id:
        raise NotFound("Dieser Antrag auf Jahreszahlung wurde nicht gefunden.")
    year = first_year(session, person.municipality_id, withdrawn_on)
    if row.to_year is not None and row.to_year < year:
        raise ValidationError(f"Der Antrag ist bereits ab {row.to_year + 1} widerrufen.")
    before = {"from_year": row.from_year, "to_year": row.to_year}
    if row.from_year >= year:  # it never applied: nothing remains of it
        after: dict[str, object] = {"deleted": True}
        session.delete(row)
    else:
        row.to_year = year - 1
        after = {"to_year": year - 1}
    audit.record(
        session,
        actor=actor,
        action="property_tax.annual_payment_withdrawn",
        obj=row,
        municipality_id=row.municipality_id,
        before=before,
        after=after,
    )
    session.flush()
    return year
