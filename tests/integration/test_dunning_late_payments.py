"""Säumniszuschläge of claims paid late (core.dunning.late): the next dunning run books the
surcharges of the months up to the payment as a claim of their own, whether or not any run
saw the claim open, minus what earlier runs booked — once, never twice. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.dunning import booking, runs
from core.dunning.models import Dropped, DunningRun, LateSurcharge, RunState
from core.dunning.surcharges import surcharge_on_payment
from core.jobs import control, worker
from core.ledger.balances import trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

DUE = date(2026, 2, 15)  # a Sunday: due Monday 16.02.; months end 16.03., 16.04., 16.05.
PAID_LATE = date(2026, 4, 20)  # in the third month of Säumnis


def _town(make: Any) -> Municipality:
    m = make.municipality()
    make.dunning_statute(m)
    return m


def _pay(db: Session, claim: Claim, cents: int, on: date) -> None:
    record_payment(
        db, person=db.get_one(Person, claim.person_id), amount_cents=cents, received_on=on,
        channel=PaymentChannel.BANK_TRANSFER, as_of=on, actor="t", claim_ids=[claim.id],
    )  # fmt: skip


def _run(db: Session, m: Municipality, day: date) -> tuple[DunningRun, dict[str, int]]:
    run = runs.preview(db, m, day, "user:1")
    runs.approve(db, run, "user:2")
    return run, booking.book(db, run, "user:2")


def _late_claims(db: Session, m: Municipality) -> list[tuple[int, str, date, str]]:
    rows = db.execute(
        select(Claim.amount_cents, Claim.kassenzeichen, Claim.due_date, Claim.description)
        .where(Claim.municipality_id == m.id, Claim.kind == ClaimKind.LATE_PAYMENT_SURCHARGE)
        .order_by(Claim.id)
    )
    return [(a, k, d, t) for a, k, d, t in rows]


def test_a_claim_paid_late_that_no_run_saw_open_gets_its_surcharge_booked(
    db: Session, make: Any
) -> None:
    m = _town(make)
    tax = make.claim(m, make.person(m), amount=100000, due=DUE, description="Hundesteuer 2026")
    _pay(db, tax, 100000, PAID_LATE)
    expected = surcharge_on_payment(100000, DUE, PAID_LATE, m.state)
    assert expected == 3 * 1000  # three months started, 1 % of 1,000 € each

    run, counts = _run(db, m, date(2026, 4, 27))

    assert counts["letters"] == 0 and run.state is RunState.BOOKED
    assert _late_claims(db, m) == [
        (3000, tax.kassenzeichen, date(2026, 4, 27), "Säumniszuschläge bis 20.04.2026 zu "
         "Hundesteuer 2026"),
    ]  # fmt: skip
    (row,) = db.scalars(select(LateSurcharge)).all()
    assert (row.booked, row.paid_on, row.surcharge_cents) == (True, PAID_LATE, 3000)
    assert booking.book(db, run, "user:2")["letters"] == 0
    later, _ = _run(db, m, date(2026, 5, 11))
    assert db.scalars(select(LateSurcharge).where(LateSurcharge.run_id == later.id)).all() == []
    assert len(_late_claims(db, m)) == 1  # never twice
    assert sum(trial_balance(db, m.id).values()) == 0


def test_only_the_months_not_yet_booked_by_a_letter_are_charged(db: Session, make: Any) -> None:
    m = _town(make)
    tax = make.claim(m, make.person(m), amount=10000, due=DUE)
    _run(db, m, date(2026, 3, 16))  # a letter with month 1: 1 €
    _pay(db, tax, 10000, PAID_LATE)

    _run(db, m, date(2026, 4, 27))

    assert [a for a, *_ in _late_claims(db, m)] == [100, 200]  # the letter's, then months 2–3
    _run(db, m, date(2026, 5, 11))
    assert [a for a, *_ in _late_claims(db, m)] == [100, 200]
    assert sum(trial_balance(db, m.id).values()) == 0


def test_on_time_within_grace_and_ancillary_claims_owe_nothing(db: Session, make: Any) -> None:
    m = _town(make)
    anna = make.person(m)
    on_time = make.claim(m, anna, amount=10000, due=DUE)
    in_grace = make.claim(m, anna, amount=10000, due=DUE)
    fee = make.claim(m, anna, amount=10000, due=DUE, kind=ClaimKind.DUNNING_FEE)
    _pay(db, on_time, 10000, date(2026, 2, 16))
    _pay(db, in_grace, 10000, date(2026, 2, 19))  # the third day after the due date
    _pay(db, fee, 10000, PAID_LATE)  # § 240 (2) AO: none on ancillary claims

    _run(db, m, date(2026, 4, 27))

    assert _late_claims(db, m) == []
    assert db.scalars(select(LateSurcharge)).all() == []


def test_paid_between_preview_and_booking_the_next_run_books_the_surcharge(
    db: Session, make: Any
) -> None:
    """The item is dropped (nothing on a paid claim); the months up to the payment follow."""
    m = _town(make)
    tax = make.claim(m, make.person(m), amount=10000, due=DUE)
    run = runs.preview(db, m, date(2026, 3, 16), "user:1")
    _pay(db, tax, 10000, date(2026, 3, 18))  # in month 2
    runs.approve(db, run, "user:2")
    assert booking.book(db, run, "user:2")["dropped"] == 1

    _run(db, m, date(2026, 3, 30))

    assert [a for a, *_ in _late_claims(db, m)] == [200]
    items = runs.items_of(db, [lt.id for lt in runs.letters_of(db, run)])
    assert [i.dropped for its in items.values() for i in its] == [Dropped.PAID]
    assert sum(trial_balance(db, m.id).values()) == 0


def test_a_run_with_only_late_surcharges_is_booked_as_a_job(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = _town(make)
    tax = make.claim(m, make.person(m), amount=100000, due=DUE)
    _pay(db, tax, 100000, PAID_LATE)
    run = runs.preview(db, m, date(2026, 4, 27), "user:1")
    runs.approve(db, run, "user:2")
    control.start(db, m, "dunning", {"run": str(run.id)}, actor="user:2")
    db.commit()

    assert worker.drain(session_factory, environment={}) == 1

    db.expire_all()
    assert run.state is RunState.BOOKED
    assert [a for a, *_ in _late_claims(db, m)] == [3000]
    assert sum(trial_balance(db, m.id).values()) == 0


def test_a_payment_counting_after_the_run_date_is_left_for_the_next_run(
    db: Session, make: Any
) -> None:
    m = _town(make)
    tax = make.claim(m, make.person(m), amount=100000, due=DUE)
    _pay(db, tax, 100000, date(2026, 4, 28))  # booked before the run, credited the day after

    first, _ = _run(db, m, date(2026, 4, 27))
    assert db.scalars(select(LateSurcharge).where(LateSurcharge.run_id == first.id)).all() == []
    _run(db, m, date(2026, 5, 11))

    assert [a for a, *_ in _late_claims(db, m)] == [3000]
