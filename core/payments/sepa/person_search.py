"""The back office's person search by everything a clerk may have at hand: a Kassenzeichen or RF
reference (ledger), a SEPA mandate reference — e.g. when a bank or a debtor calls about a
payment —, a person number or a name (core.persons.search, which knows no references)."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from core.ledger.queries import persons_by_kassenzeichen
from core.payments.sepa.identifiers import is_valid_mandate_reference
from core.payments.sepa.mandates import find_by_reference
from core.persons import search
from core.persons.models import Person


def persons_by_mandate_reference(
    session: Session, municipality_id: int, query: str
) -> set[int] | None:
    """The debtor of the mandate the query names; None when no mandate has that reference (a
    bare number is a person number, not a mandate reference)."""
    compact = re.sub(r"\s", "", query).upper()
    if query.isdigit() or not is_valid_mandate_reference(compact):
        return None
    mandate = find_by_reference(session, municipality_id, compact)
    return {mandate.person_id} if mandate is not None else None


def find_persons(session: Session, municipality_id: int, query: str) -> list[Person]:
    """Persons the query names: by Kassenzeichen, mandate reference, person number or name."""
    return search.find_persons(
        session,
        municipality_id,
        query,
        reference_finders=(persons_by_kassenzeichen, persons_by_mandate_reference),
    )
