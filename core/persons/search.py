"""Finding a person by what a clerk has at hand: a name (in any spelling of umlauts and
diacritics, see core.kernel.name_folding) or a person number — or a reference that an upper
layer keeps (a Kassenzeichen or RF reference of the ledger, a SEPA mandate reference), looked up
by the finders the caller passes (core.payments.sepa.person_search), so that persons import
nothing above them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.persons.models import Person, search_persons

# (session, municipality_id, query) -> ids of the persons the query names as a reference of this
# kind, or None when the query is not such a reference (the next finder, then names, are tried).
ReferenceFinder = Callable[[Session, int, str], set[int] | None]


def find_persons(
    session: Session,
    municipality_id: int,
    query: str,
    *,
    reference_finders: Sequence[ReferenceFinder] = (),
) -> list[Person]:
    """Persons of this municipality the query names (references first, then names)."""
    text = query.strip()
    if not text:
        return []
    for finder in reference_finders:
        ids = finder(session, municipality_id, text)
        if ids is not None:
            return _persons(session, municipality_id, ids)
    return search_persons(session, municipality_id, text)


def _persons(session: Session, municipality_id: int, ids: set[int]) -> list[Person]:
    if not ids:
        return []
    return list(
        session.scalars(
            select(Person)
            .where(Person.municipality_id == municipality_id, Person.id.in_(ids))
            .order_by(Person.number)
        )
    )
