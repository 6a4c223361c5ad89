"""Finding a person by what a clerk has at hand: a name (in any spelling of umlauts and
diacritics, see core.kernel.name_folding), a person number, a Kassenzeichen (as
printed, with or without spaces), an RF reference, or a SEPA mandate reference — e.g. when a
bank or a citizen calls about a payment."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.references import is_valid_kassenzeichen, is_valid_rf, normalize_kassenzeichen
from core.ledger.models import Claim, TaxAccount
from core.payments.sepa.mandates import find_by_reference, is_valid_mandate_reference
from core.persons.models import Person, search_persons


def find_persons(session: Session, municipality_id: int, query: str) -> list[Person]:
    """Persons of this municipality the query names (references first, then names)."""
    text = query.strip()
    if not text:
        return []
    compact = re.sub(r"\s", "", text).upper()
    kassenzeichen = normalize_kassenzeichen(text)
    if is_valid_rf(compact) and is_valid_kassenzeichen(compact[4:]):
        kassenzeichen = compact[4:]
    if is_valid_kassenzeichen(kassenzeichen):
        ids = set(
            session.scalars(
                select(TaxAccount.person_id).where(
                    TaxAccount.municipality_id == municipality_id,
                    TaxAccount.kassenzeichen == kassenzeichen,
                )
            )
        ) | set(
            session.scalars(
                select(Claim.person_id).where(
                    Claim.municipality_id == municipality_id,
                    Claim.kassenzeichen == kassenzeichen,
                )
            )
        )
        return _persons(session, municipality_id, ids)
    if not text.isdigit() and is_valid_mandate_reference(compact):
        mandate = find_by_reference(session, municipality_id, compact)
        if mandate is not None:
            return _persons(session, municipality_id, {mandate.person_id})
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
