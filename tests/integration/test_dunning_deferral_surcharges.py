"""No Säumniszuschläge for the time a deferral covered a claim (§ 240 (1) S. 1 AO), read from
the blocks by both paths that book surcharges: the booking's recheck of a run's items and the
late-payment surcharges (core.dunning.late). Suspensions only where the statute says so.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import blocks, booking, runs
from core.dunning.models import BlockReason, DunningItem, LateSurcharge
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

DUE = date(2026, 2, 15)  # Sunday: due Monday 16.02., months from 17.02., 17.03., 17.04.
BLOCK = (date(2026, 3, 1), date(2026, 3, 31))  # ended on Tuesday 31.03.: months from 01.04.


def _blocked_claim(db: Session, make: Any, reason: BlockReason, **statute: Any) -> Claim:
    m = make.municipality()
    make.dunning_statute(m, **statute)
    person = make.person(m)
    claim = make.claim(m, person, amount=100000, due=DUE, description="Hundesteuer 2026")
    block = blocks.add_block(
        db, person=person, reason=reason, starts_on=BLOCK[0], actor="t", claim=claim
    )
    blocks.end_block(db, block, last_day=BLOCK[1], actor="t")
    return claim


def _book(db: Session, claim: Claim, day: date) -> None:
    m = db.get_one(Municipality, claim.municipality_id)
    run = runs.preview(db, m, day, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")


def test_a_dunned_claim_bears_no_surcharge_for_the_months_of_its_deferral(
    db: Session, make: Any
) -> None:
    claim = _blocked_claim(db, make, BlockReason.DEFERRAL)
    _book(db, claim, date(2026, 4, 27))
    item = db.scalars(select(DunningItem).where(DunningItem.claim_id == claim.id)).one()
    # without the deferral: 17.02., 17.03., 17.04. → 30 €; with it: 17.02. and 01.04. → 20 €
    assert (item.booked, item.surcharge_cents) == (True, 2000)


def test_a_claim_paid_late_after_its_deferral_owes_only_the_months_outside_it(
    db: Session, make: Any
) -> None:
    claim = _blocked_claim(db, make, BlockReason.DEFERRAL)
    record_payment(
        db, person=db.get_one(Person, claim.person_id), amount_cents=100000,
        received_on=date(2026, 4, 20), channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 4, 20), actor="t", claim_ids=[claim.id],
    )  # fmt: skip
    _book(db, claim, date(2026, 4, 27))
    row = db.scalars(select(LateSurcharge).where(LateSurcharge.claim_id == claim.id)).one()
    assert (row.booked, row.surcharge_cents) == (True, 2000)


def test_a_suspension_pauses_surcharges_only_where_the_statute_says_so(
    db: Session, make: Any
) -> None:
    plain = _blocked_claim(db, make, BlockReason.SUSPENSION)
    _book(db, plain, date(2026, 4, 27))
    stopped = _blocked_claim(db, make, BlockReason.SUSPENSION, suspension_stops_surcharges=True)
    _book(db, stopped, date(2026, 4, 27))
    clerk = _blocked_claim(db, make, BlockReason.CLERK, suspension_stops_surcharges=True)
    _book(db, clerk, date(2026, 4, 27))
    found = {
        claim_id: cents
        for claim_id, cents in db.execute(
            select(DunningItem.claim_id, DunningItem.surcharge_cents).where(
                DunningItem.booked.is_(True)
            )
        )
    }
    assert (found[plain.id], found[stopped.id], found[clerk.id]) == (3000, 2000, 3000)
