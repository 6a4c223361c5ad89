"""What the levy pipeline reads for one subject before assessing it (:class:`Case`), and the
reads a levy assessed per person shares: persons with their addresses, tax accounts, what is
booked and whether a notice of the year exists — a few queries per chunk, never one per person.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.ledger.kinds import ClaimKind
from core.ledger.models import TaxAccount
from core.levies import booking
from core.persons.models import Person

F = TypeVar("F")  # what is on file for one subject: its tax objects (dogs, properties, readings)


@dataclass
class Case(Generic[F]):
    """What is on file for one subject before it is assessed."""

    person: Person  # liable, with the addresses printed on the notice
    facts: F
    booked: dict[int, booking.Booked]  # per year of a payment table: amounts and claims per key
    has_notice: bool  # a notice of the year exists already


def tax_accounts_of(
    session: Session, kind: ClaimKind, person_ids: Collection[int]
) -> dict[int, TaxAccount]:
    """The persons' tax accounts of the levy, per person (one query)."""
    return {
        account.person_id: account
        for account in session.scalars(
            select(TaxAccount).where(
                TaxAccount.person_id.in_(list(person_ids)), TaxAccount.levy == kind
            )
        )
    }


def persons_of(session: Session, person_ids: Collection[int]) -> dict[int, Person]:
    """The persons with their addresses (printed on the notice), per id (two queries)."""
    return {
        p.id: p
        for p in session.scalars(
            select(Person)
            .where(Person.id.in_(list(person_ids)))
            .options(selectinload(Person.addresses))
        )
    }


def person_cases(
    session: Session,
    kind: ClaimKind,
    year: int,
    person_ids: Sequence[int],
    facts: Mapping[int, F],
) -> list[Case[F]]:
    """The cases of a levy assessed per person (one notice per person and year): the persons,
    what is booked for the year and whether a notice of the year exists, a few queries."""
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
