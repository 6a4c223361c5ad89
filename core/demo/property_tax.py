"""Demo property tax: the annual run of the levy over the demo's basis notices (the January
run of this year, core.levies.property_tax), and the payments of its claims as most citizens
pay; for the person of a log-in the November instalment stays unpaid."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.demo.identity import ACTOR
from core.demo.ledger import settle
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies.property_tax.assessment import PROPERTY_TAX
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def assess_and_pay(
    session: Session,
    municipality: Municipality,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
) -> int:
    """The January annual run of this year (after the basis notices were imported), then the
    payments; returns how many notices it issued."""
    stats = PROPERTY_TAX.assess_all(
        session,
        municipality=municipality,
        year=as_of.year,
        as_of=min(as_of, date(as_of.year, 1, 10)),
        actor=ACTOR,
    )
    showcase = set(  # the persons of the log-ins
        session.scalars(
            select(Person.id).where(
                Person.municipality_id == municipality.id, Person.user_id.is_not(None)
            )
        )
    )
    claims = session.scalars(
        select(Claim)
        .where(Claim.municipality_id == municipality.id, Claim.kind == ClaimKind.PROPERTY_TAX)
        .order_by(Claim.person_id, Claim.due_date, Claim.id)
    ).all()
    for claim in claims:
        counts["claims"] += 1
        person = session.get_one(Person, claim.person_id)
        unpaid = claim.person_id in showcase and claim.due_date.month == 11
        settle(session, person, claim, as_of, rng, counts, forced_fate=95 if unpaid else None)
    return stats.notices
