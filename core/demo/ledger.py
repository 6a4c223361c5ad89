"""The demo's own claims and how they are paid: the assessed levies, payments (on time,
partly, not at all) and a dunning fee where something stayed open.

The amounts are realistic examples (DOMAIN.md), not statute data: every levy's claims come from
its assessment (trade tax: core.demo.basis_notices; property tax after the basis notices are
imported: core.demo.property_tax).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.demo import dog_tax, waste, water
from core.demo.identity import ACTOR
from core.ledger.balances import open_amounts
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality

QUARTER_DAYS = [(2, 15), (5, 15), (8, 15), (11, 15)]  # § 28 GrStG / typical dog-tax schedule

# A claim kind, its amount per instalment, its text and the instalments' due dates.
TaxPlan = list[tuple[ClaimKind, int, str, list[date]]]


def claims_and_payments(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
    showcase: bool = False,
) -> None:
    """What ``person`` owes and paid; for ``showcase`` (the person of a log-in) the levies
    give their fixed examples."""
    plan = _tax_plan(person, as_of.year, rng)
    overdue = _post_taxes(session, municipality, person, plan, as_of, rng, counts, showcase)
    dog_tax.dogs_and_notices(session, municipality, person, as_of, rng, showcase)
    waste.bins_and_notices(session, municipality, person, as_of, rng, showcase)
    water.meters_and_notices(session, municipality, person, as_of, rng, showcase)
    for claim in _assessed_claims(session, person):
        counts["claims"] += 1
        if not settle(session, person, claim, as_of, rng, counts):
            overdue.append(claim.id)
    if overdue:
        _dunning_fee(session, municipality, person, as_of)
        counts["claims"] += 1


def _assessed_claims(session: Session, person: Person) -> list[Claim]:
    """What the levies' notices claim from ``person``: dog tax, waste and water fees."""
    claims: list[Claim] = []
    for kind in (ClaimKind.DOG_TAX, ClaimKind.WASTE_FEE, ClaimKind.WATER_FEE):
        claims += session.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.kind == kind)
            .order_by(Claim.due_date, Claim.id)
        )
    return claims


def _quarter_dates(year: int) -> list[date]:
    return [date(year, m, d) for m, d in QUARTER_DAYS]


def _tax_plan(person: Person, year: int, rng: random.Random) -> TaxPlan:
    plan: TaxPlan = []
    if person.kind is PersonKind.BUSINESS:
        # Trade tax is assessed from the tax office's Messbescheide (core.demo.basis_notices);
        # the draw that once gave a random advance payment stays, so the seed's data stay put.
        rng.randint(150, 2500)
    return plan  # property tax: assessed from the basis notices (core.demo.property_tax)


def _post_taxes(
    session: Session,
    municipality: Municipality,
    person: Person,
    plan: TaxPlan,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
    showcase: bool,
) -> list[int]:
    """Post each instalment a month before it falls due and settle it; returns the ids of
    those left (partly) unpaid."""
    overdue: list[int] = []
    for kind, amount, text, due_dates in plan:
        for n, due in enumerate(due_dates, start=1):
            label = f"{text}, Rate {n}" if len(due_dates) > 1 else text
            claim = post_claim(
                session,
                person=person,
                municipality=municipality,
                kind=kind,
                amount_cents=amount,
                due_date=due,
                description=label,
                as_of=min(as_of, due - timedelta(days=30)),
                actor=ACTOR,
                period_start=date(due.year, 1, 1),
                period_end=date(due.year, 12, 31),
            )
            counts["claims"] += 1
            forced = 95 if showcase and due.month == 11 and kind is ClaimKind.PROPERTY_TAX else None
            if not settle(session, person, claim, as_of, rng, counts, forced_fate=forced):
                overdue.append(claim.id)
    return overdue


def _dunning_fee(session: Session, municipality: Municipality, person: Person, as_of: date) -> None:
    reminder_day = as_of - timedelta(days=5)
    post_claim(
        session,
        person=person,
        municipality=municipality,
        kind=ClaimKind.DUNNING_FEE,
        amount_cents=600,
        due_date=reminder_day + timedelta(days=14),
        description="Mahngebühr (Demo)",
        as_of=reminder_day,
        actor=ACTOR,
    )


def settle(
    session: Session,
    person: Person,
    claim: Claim,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
    forced_fate: int | None = None,
) -> bool:
    """Pay a due claim like most citizens do (on time, partly or not at all); False if unpaid."""
    if claim.due_date > as_of:
        return True
    amount = open_amounts(session, [claim])[claim.id]
    if not amount:
        return True
    fate = rng.randrange(100) if forced_fate is None else forced_fate  # percent
    if fate >= 90:
        return False
    partial = fate >= 82
    paid_on = claim.due_date + timedelta(
        days=rng.randint(0, 20) if partial else -rng.randint(0, 10)
    )
    record_payment(
        session,
        person=person,
        amount_cents=amount // 2 if partial else amount,
        received_on=paid_on,
        channel=PaymentChannel.BANK_TRANSFER
        if partial
        else rng.choice([PaymentChannel.BANK_TRANSFER, PaymentChannel.DIRECT_DEBIT]),
        as_of=paid_on,
        actor=ACTOR,
        reference_text=f"KZ {claim.kassenzeichen}" + (" Teilzahlung" if partial else ""),
        kassenzeichen=claim.kassenzeichen,
    )
    counts["payments"] += 1
    return not partial
