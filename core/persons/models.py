"""Persons (Finanzadressen): the debtors of a municipality, natural persons or businesses.

A person belongs to one municipality. A citizen's login (``UserAccount``) may be linked to one
person per municipality. Addresses keep their history (valid_from/valid_to).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    event,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column, get_scoped
from core.kernel.errors import ValidationError
from core.kernel.name_folding import SEARCH_NAME_LENGTH, query_words, search_name
from core.tenancy.municipalities import next_number


class PersonKind(enum.StrEnum):
    NATURAL = "natural"
    BUSINESS = "business"


class Person(Base):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("municipality_id", "number"),
        UniqueConstraint("municipality_id", "user_id"),
        CheckConstraint(
            "(kind = 'natural' AND family_name IS NOT NULL) OR "
            "(kind = 'business' AND company_name IS NOT NULL)",
            name="name_for_kind",
        ),
        Index("ix_person_municipality_family_name", "municipality_id", "family_name"),
        Index("ix_person_municipality_search_name", "municipality_id", "search_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    number: Mapped[int]  # Personenkontonummer, per municipality
    kind: Mapped[PersonKind] = mapped_column(enum_column(PersonKind, "person_kind", 10))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    company_name: Mapped[str | None] = mapped_column(String(140))
    email: Mapped[str | None] = mapped_column(String(254))
    # All name parts folded for search (core.kernel.name_folding), kept up to date on every flush.
    search_name: Mapped[str] = mapped_column(
        String(SEARCH_NAME_LENGTH), default="", server_default=""
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    addresses: Mapped[list[Address]] = relationship(
        back_populates="person", order_by="Address.valid_from"
    )

    @property
    def display_name(self) -> str:
        if self.kind is PersonKind.BUSINESS:
            return self.company_name or ""
        return " ".join(p for p in (self.given_name, self.family_name) if p)

    def address_on(self, day: date) -> Address | None:
        for address in reversed(self.addresses):
            if address.valid_from <= day and (address.valid_to is None or day < address.valid_to):
                return address
        return None


@event.listens_for(Person, "before_insert")
@event.listens_for(Person, "before_update")
def _fold_search_name(_mapper: object, _connection: object, person: Person) -> None:
    person.search_name = search_name(person.given_name, person.family_name, person.company_name)


class Address(Base):
    """A postal address with its validity; ``valid_to`` is exclusive, None while current."""

    __tablename__ = "address"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    street: Mapped[str] = mapped_column(String(120))
    house_number: Mapped[str] = mapped_column(String(12))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]

    person: Mapped[Person] = relationship(back_populates="addresses")

    def one_line(self) -> str:
        return f"{self.street} {self.house_number}, {self.postal_code} {self.city}"


def create_person(
    session: Session,
    *,
    municipality_id: int,
    kind: PersonKind,
    as_of: date,
    actor: str,
    given_name: str | None = None,
    family_name: str | None = None,
    company_name: str | None = None,
    email: str | None = None,
    user_id: int | None = None,
    address: dict[str, str] | None = None,
) -> Person:
    if kind is PersonKind.NATURAL and not (family_name or "").strip():
        raise ValidationError("Bitte geben Sie einen Nachnamen an.")
    if kind is PersonKind.BUSINESS and not (company_name or "").strip():
        raise ValidationError("Bitte geben Sie den Namen des Unternehmens an.")
    person = Person(
        municipality_id=municipality_id,
        number=next_number(session, municipality_id, "person"),
        kind=kind,
        given_name=given_name,
        family_name=family_name,
        company_name=company_name,
        email=email,
        user_id=user_id,
    )
    session.add(person)
    session.flush()
    if address:
        session.add(Address(person_id=person.id, valid_from=as_of, **address))
    audit.record(
        session,
        actor=actor,
        action="person.created",
        municipality_id=municipality_id,
        obj=person,
        after={"number": person.number, "kind": kind.value},
    )
    session.flush()
    return person


def change_address(
    session: Session, person: Person, *, new: dict[str, str], valid_from: date, actor: str
) -> Address:
    """Close the current address the day before ``valid_from`` and open the new one."""
    current = person.address_on(valid_from)
    if current is not None:
        if current.valid_from >= valid_from:
            raise ValidationError("Die neue Anschrift muss nach der bisherigen beginnen.")
        current.valid_to = valid_from
    address = Address(person_id=person.id, valid_from=valid_from, **new)
    session.add(address)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="person.address_changed",
        municipality_id=person.municipality_id,
        obj=person,
        before={"address_id": current.id if current else None},
        after={"address_id": address.id, "valid_from": valid_from.isoformat()},
    )
    return address


def get_person(session: Session, municipality_id: int, person_id: int) -> Person:
    """Load a person *of this municipality*; another municipality's person is simply not found."""
    return get_scoped(
        session, Person, municipality_id, person_id, not_found="Diese Person wurde nicht gefunden."
    )


def person_for_user(session: Session, municipality_id: int, user_id: int) -> Person | None:
    return session.scalars(
        select(Person).where(Person.municipality_id == municipality_id, Person.user_id == user_id)
    ).first()


MAX_PERSON_NUMBER = 2**31 - 1  # an INTEGER column


def search_persons(
    session: Session, municipality_id: int, query: str, *, limit: int = 50
) -> list[Person]:
    """Search by name, company or person number within one municipality. Every word of the
    query must occur in the person's folded name, in either spelling of umlauts and without
    diacritics (``kernel.name_folding``): "mueller", "muller" and "Müller" all find "Müller"."""
    query = query.strip()
    stmt = select(Person).where(Person.municipality_id == municipality_id)
    if query.isascii() and query.isdigit():
        if int(query) > MAX_PERSON_NUMBER:
            return []  # no such number; the database could not even compare it
        stmt = stmt.where(Person.number == int(query))
    else:
        words = query_words(query)
        if not words:
            return []
        for word in words:
            stmt = stmt.where(
                or_(
                    Person.search_name.contains(word.german, autoescape=True),
                    Person.search_name.contains(word.plain, autoescape=True),
                )
            )
    return list(
        session.scalars(
            stmt.order_by(Person.family_name, Person.company_name, Person.id).limit(limit)
        )
    )
