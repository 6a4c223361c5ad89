"""Demo SEPA direct debit: mandates of the business log-in and of some random persons."""

from __future__ import annotations

import random
from datetime import date, timedelta

from schwifty import IBAN
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.demo.identity import ACTOR
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.payments.sepa import mandates, prenotifications
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality


def grant_mandates(
    session: Session, municipality: Municipality, as_of: date, rng: random.Random, count: int
) -> int:
    """SEPA mandates for the business log-in and ``count`` random persons, each with a water
    advance falling due on the first possible collection day, announced today — so a fresh demo
    can write a direct-debit file straight away (``openkasse sepa export``)."""
    collection = prenotifications.earliest_collection(session, municipality.id, as_of)
    business = session.scalars(
        select(Person).where(
            Person.municipality_id == municipality.id,
            Person.user_id.isnot(None),
            Person.kind == PersonKind.BUSINESS,
        )
    ).all()
    others = session.scalars(
        select(Person)
        .where(Person.municipality_id == municipality.id, Person.user_id.is_(None))
        .order_by(Person.id)
    ).all()
    chosen = [*business, *rng.sample(list(others), min(count, len(others)))]
    for person in chosen:
        iban = IBAN.generate(
            "DE",
            bank_code=rng.choice(["37040044", "12030000", "50010517", "76050101"]),
            account_code=str(rng.randint(10**8, 10**10 - 1)),
        )
        mandates.grant_mandate(
            session,
            person=person,
            municipality=municipality,
            account_holder=person.display_name,
            iban=str(iban.compact),
            tax_account_id=None,
            signed_on=as_of - timedelta(days=rng.randint(20, 700)),
            as_of=as_of,
            actor=ACTOR,
        )
        post_claim(
            session,
            person=person,
            municipality=municipality,
            kind=ClaimKind.WATER_FEE,
            amount_cents=rng.randint(18, 90) * 100,
            due_date=collection,
            description=f"Abschlag Wasser {collection:%m/%Y}",
            as_of=as_of,
            actor=ACTOR,
        )
    prenotifications.prenotify(
        session, municipality, collection_date=collection, as_of=as_of, actor=ACTOR
    )
    return len(chosen)
