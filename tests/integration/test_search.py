"""The clerk's person search by name, number, Kassenzeichen (printed or compact), RF reference
and mandate reference — always within one municipality."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.kernel.references import format_kassenzeichen, make_rf
from core.payments.sepa import mandates
from core.payments.sepa.person_search import find_persons


def test_find_by_every_reference_a_clerk_has(db: Any, make: Any) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    other_town = make.municipality()
    anna = make.person(m, family_name="Sommer")
    bert = make.person(m, family_name="Winter")
    claim = make.claim(m, anna, amount=1000)
    mandate = mandates.grant_mandate(
        db,
        person=bert,
        municipality=m,
        account_holder="Bert Winter",
        iban="DE89370400440532013000",
        tax_account_id=None,
        signed_on=date(2026, 1, 1),
        as_of=date(2026, 1, 2),
        actor="test",
    )
    kz = claim.kassenzeichen
    assert find_persons(db, m.id, format_kassenzeichen(kz)) == [anna]
    assert find_persons(db, m.id, kz) == [anna]
    assert find_persons(db, m.id, make_rf(kz)) == [anna]
    assert find_persons(db, m.id, mandate.reference.lower()) == [bert]
    assert find_persons(db, m.id, "winter") == [bert]
    assert find_persons(db, m.id, str(anna.number)) == [anna]
    assert find_persons(db, other_town.id, kz) == []  # another municipality finds nothing
    assert find_persons(db, other_town.id, mandate.reference) == []
    assert find_persons(db, m.id, "   ") == []
