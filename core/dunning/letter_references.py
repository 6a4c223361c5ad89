"""A dunning letter's own payment reference, and what a transfer naming it pays.

The reference is ``M`` + the municipality's Kassenzeichen prefix + the letter's number + check
digits (core.kernel.references.make_letter_reference), printed as RF reference on the letter
and its page (core.dunning.letters.reference_of). It is never a Kassenzeichen, so a transfer
naming it is for the letter as a whole: its claims, the fee and the surcharges booked for it
(as core.dunning.account.letter_claims), in the order of § 225 (2) AO among them; what is left
goes on as for any payment of the person (core.ledger.allocation).

:func:`letter_designations` is this layer's source for core.payments.bank.designations
(registered on import; core/models.py imports this module): every booked letter of the
municipality, read in one statement.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.models import DunningItem, DunningLetter
from core.kernel.references import make_letter_reference
from core.payments.bank import designations
from core.payments.bank.designations import Designation
from core.tenancy.municipalities import Municipality


def letter_reference(prefix: str, letter_id: int) -> str:
    return make_letter_reference(prefix, letter_id)


def letter_designations(session: Session, municipality_id: int) -> dict[str, Designation]:
    """Each booked letter's reference → its person and claims (items, surcharges, fee)."""
    prefix = session.scalar(
        select(Municipality.kassenzeichen_prefix).where(Municipality.id == municipality_id)
    )
    if prefix is None:
        return {}
    persons: dict[int, int] = {}
    claims: dict[int, set[int]] = defaultdict(set)
    rows = session.connection().execute(
        select(
            DunningLetter.id,
            DunningLetter.person_id,
            DunningLetter.fee_claim_id,
            DunningItem.claim_id,
            DunningItem.surcharge_claim_id,
        )
        .join(DunningItem, DunningItem.letter_id == DunningLetter.id)
        .where(
            DunningLetter.municipality_id == municipality_id,
            DunningLetter.booked_at.is_not(None),
        )
    )
    for letter_id, person_id, fee_claim_id, claim_id, surcharge_claim_id in rows:
        persons[letter_id] = person_id
        claims[letter_id].update(
            c for c in (fee_claim_id, claim_id, surcharge_claim_id) if c is not None
        )
    return {
        letter_reference(prefix, letter_id): Designation(person_id, frozenset(claims[letter_id]))
        for letter_id, person_id in persons.items()
    }


designations.register(letter_designations)
