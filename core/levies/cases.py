"""What the levy pipeline reads for one subject before assessing it (:class:`Case`), and the
reads a levy assessed per person shares: persons with their addresses, tax accounts, what is
booked and whether a notice of the year exists — a few queries per chunk, never one per person.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.id_lists import ids_in
from core.ledger.accounts import TaxAccountRef
from core.ledger.kinds import ClaimKind
from core.ledger.models import TaxAccount
from core.levies import booking
from core.persons.models import Address, Person, PersonKind

F = TypeVar("F")  # what is on file for one subject: its tax objects (dogs, properties, readings)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a chunk is read or written: its hundred thousand
    short-lived rows and tuples are freed by reference counting anyway, but each of them
    counts towards the next collection, and a full one walks every object of the process
    (a third of a run's time went there). What cyclic garbage a chunk leaves is collected
    after it, when collection resumes."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


@dataclass(frozen=True, slots=True)
class AddressLines:
    """An address as the notice prints it, with its validity."""

    street: str
    house_number: str
    postal_code: str
    city: str
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True, slots=True)
class Addressee:
    """A liable person as a run reads them: plain values (no ORM object per person of a run of
    a million), what the ledger and the notice need. The ledger's one-by-one path loads the
    :class:`Person` itself (:func:`core.levies.assessing.issue`)."""

    id: int
    municipality_id: int
    number: int
    display_name: str
    addresses: tuple[AddressLines, ...]  # by valid_from, as Person.addresses

    def address_on(self, day: date) -> AddressLines | None:
        """As :meth:`Person.address_on`."""
        for address in reversed(self.addresses):
            if address.valid_from <= day and (address.valid_to is None or day < address.valid_to):
                return address
        return None


@dataclass
class Case(Generic[F]):
    """What is on file for one subject before it is assessed."""

    person: Addressee  # liable, with the addresses printed on the notice
    facts: F
    booked: dict[int, booking.Booked]  # per year of a payment table: amounts and claims per key
    has_notice: bool  # a notice of the year exists already


def tax_accounts_of(
    session: Session, kind: ClaimKind, person_ids: Collection[int]
) -> dict[int, TaxAccountRef]:
    """The persons' tax accounts of the levy, per person (one query, plain rows)."""
    return {
        person_id: TaxAccountRef(account_id, person_id, kassenzeichen)
        for account_id, person_id, kassenzeichen in session.execute(
            select(TaxAccount.id, TaxAccount.person_id, TaxAccount.kassenzeichen).where(
                ids_in(TaxAccount.person_id, person_ids), TaxAccount.levy == kind
            )
        )
    }


def persons_of(session: Session, person_ids: Collection[int]) -> dict[int, Addressee]:
    """The persons with their addresses (printed on the notice), per id: two queries of plain
    rows (an ORM object per person and address was most of a chunk's reading)."""
    ids = list(person_ids)
    addresses: dict[int, list[AddressLines]] = {pid: [] for pid in ids}
    for person_id, street, house_number, postal_code, city, valid_from, valid_to in session.execute(
        select(
            Address.person_id,
            Address.street,
            Address.house_number,
            Address.postal_code,
            Address.city,
            Address.valid_from,
            Address.valid_to,
        )
        .where(ids_in(Address.person_id, ids))
        .order_by(Address.person_id, Address.valid_from, Address.id)
    ):
        addresses[person_id].append(
            AddressLines(street, house_number, postal_code, city, valid_from, valid_to)
        )
    return {
        pid: Addressee(
            pid, municipality_id, number, _name(kind, given, family, company), tuple(addresses[pid])
        )
        for pid, municipality_id, number, kind, given, family, company in session.execute(
            select(
                Person.id,
                Person.municipality_id,
                Person.number,
                Person.kind,
                Person.given_name,
                Person.family_name,
                Person.company_name,
            ).where(ids_in(Person.id, ids))
        )
    }


def _name(kind: PersonKind, given: str | None, family: str | None, company: str | None) -> str:
    """As :attr:`Person.display_name`."""
    if kind is PersonKind.BUSINESS:
        return company or ""
    return " ".join(p for p in (given, family) if p)


def person_cases(
    session: Session,
    kind: ClaimKind,
    year: int,
    person_ids: Sequence[int],
    facts: Mapping[int, F],
) -> list[Case[F]]:
    """The cases of a levy assessed per person (one notice per person and year): the persons,
    what is booked for the year and whether a notice of the year exists, a few queries."""
    with gc_paused():
        return _person_cases(session, kind, year, person_ids, facts)


def _person_cases(
    session: Session,
    kind: ClaimKind,
    year: int,
    person_ids: Sequence[int],
    facts: Mapping[int, F],
) -> list[Case[F]]:
    persons = persons_of(session, person_ids)
    on_file = booking.on_file_of(session, person_ids, kind, year)
    return [
        Case(
            persons[pid],
            facts[pid],
            {year: (on_file[pid].booked, on_file[pid].claims_by_key)},
            on_file[pid].has_notice,
        )
        for pid in person_ids
    ]
