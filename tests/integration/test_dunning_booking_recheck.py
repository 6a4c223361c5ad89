"""Booking a dunning run checks every item again (core.dunning.recheck): a claim paid, blocked
or put in collection between the preview and the booking gets no fee and no surcharge; a claim
paid in part is booked with its current open amount, its fee and surcharge computed again by
the same rules; a letter left without items is not booked. Integer cents, the ledger balanced.
On SQLite and PostgreSQL, plus a property over random payments between preview and booking."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.dunning import blocks, booking, runs
from core.dunning.models import BlockReason, Dropped, DunningItem, DunningLetter, DunningRun
from core.kernel.audit import AuditEvent
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from tests import factories
from tests.integration.test_dunning_runs import _hold_by_card

RUN_1 = date(2026, 3, 16)
RUN_2 = date(2026, 3, 30)
DUE = date(2026, 2, 15)  # due Monday 16.02. (§ 108 (3) AO); grace until 19.02.
ANCILLARY = (ClaimKind.DUNNING_FEE, ClaimKind.LATE_PAYMENT_SURCHARGE)


def _town(make: Any) -> Municipality:
    m = make.municipality()
    make.dunning_statute(m)
    return m


def _pay(db: Session, claim: Claim, cents: int, on: date, booked: date) -> None:
    person = db.get_one(Person, claim.person_id)
    record_payment(
        db, person=person, amount_cents=cents, received_on=on, as_of=booked,
        channel=PaymentChannel.BANK_TRANSFER, actor="t", claim_ids=[claim.id],
    )  # fmt: skip


def _approve_and_book(db: Session, run: DunningRun) -> dict[str, int]:
    runs.approve(db, run, "user:2")
    return booking.book(db, run, "user:2")


def _item(db: Session, run: DunningRun, claim: Claim) -> DunningItem:
    return db.scalars(
        select(DunningItem)
        .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
        .where(DunningLetter.run_id == run.id, DunningItem.claim_id == claim.id)
    ).one()


def _ancillary(db: Session, m: Municipality) -> list[tuple[ClaimKind, int, str]]:
    rows = db.execute(
        select(Claim.kind, Claim.amount_cents, Claim.kassenzeichen)
        .where(Claim.municipality_id == m.id, Claim.kind.in_(ANCILLARY))
        .order_by(Claim.id)
    )
    return [(kind, amount, ref) for kind, amount, ref in rows]


def test_a_claim_paid_in_full_meanwhile_is_dropped(db: Session, make: Any) -> None:
    m = _town(make)
    anna = make.person(m)
    paid = make.claim(m, anna, amount=10000, due=DUE)
    still = make.claim(m, anna, amount=20000, due=DUE)
    run = runs.preview(db, m, RUN_1, "user:1")
    assert (_item(db, run, paid).surcharge_cents, _item(db, run, still).surcharge_cents) == (
        100,
        200,
    )
    _pay(db, paid, 10000, RUN_1 + timedelta(days=1), RUN_1 + timedelta(days=1))

    counts = _approve_and_book(db, run)

    assert counts == {"letters": 1, "fees": 0, "surcharges": 1, "dropped": 1}
    dropped, kept = _item(db, run, paid), _item(db, run, still)
    assert (dropped.booked, dropped.dropped, dropped.surcharge_claim_id) == (
        False,
        Dropped.PAID,
        None,
    )
    assert kept.booked and kept.dropped is None
    assert _ancillary(db, m) == [(ClaimKind.LATE_PAYMENT_SURCHARGE, 200, still.kassenzeichen)]
    (letter,) = runs.letters_of(db, run)
    assert (letter.open_cents, letter.surcharge_cents, letter.total_cents) == (20000, 200, 20200)
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "dunning_letter.booked", AuditEvent.object_id == letter.id
        )
    ).one()
    assert event.after is not None and event.after["dropped"] == {str(paid.id): "paid"}
    assert sum(trial_balance(db, m.id).values()) == 0


def test_a_payment_booked_late_with_an_earlier_value_date_lowers_the_surcharge(
    db: Session, make: Any
) -> None:
    """Imported after the preview, credited within the grace: month 1 is on 100 €, not 200 €."""
    m = _town(make)
    claim = make.claim(m, make.person(m), amount=20000, due=DUE)
    run = runs.preview(db, m, RUN_1, "user:1")
    _pay(db, claim, 10000, date(2026, 2, 18), RUN_1 + timedelta(days=1))

    _approve_and_book(db, run)

    item = _item(db, run, claim)
    assert (item.booked, item.open_cents, item.surcharge_cents) == (True, 10000, 100)
    assert _ancillary(db, m) == [(ClaimKind.LATE_PAYMENT_SURCHARGE, 100, claim.kassenzeichen)]
    assert sum(trial_balance(db, m.id).values()) == 0


def test_a_claim_paid_in_part_gets_the_fee_of_its_current_open_amount(
    db: Session, make: Any
) -> None:
    m = _town(make)
    tax = make.claim(m, make.person(m), amount=123456, due=DUE)
    _approve_and_book(db, runs.preview(db, m, RUN_1, "user:1"))
    run = runs.preview(db, m, RUN_2, "user:1")
    assert (_item(db, run, tax).fee_cents, _item(db, run, tax).surcharge_cents) == (1700, 1200)
    _pay(db, tax, 60000, RUN_2 + timedelta(days=1), RUN_2 + timedelta(days=1))

    counts = _approve_and_book(db, run)

    assert counts == {"letters": 1, "fees": 1, "surcharges": 1, "dropped": 0}
    item = _item(db, run, tax)
    # § 9 (2) VO VwVG NRW on 634.56 € → 634 €: 6 € + 5.84 € → 11 €; the surcharges of the
    # months started before the payment remain (§ 240 (1) AO): 2 × 1 % of 1,200 € − 12 € booked.
    assert (item.open_cents, item.fee_cents, item.surcharge_cents) == (63456, 1100, 1200)
    (letter,) = runs.letters_of(db, run)
    assert (letter.open_cents, letter.fee_cents, letter.total_cents) == (63456, 1100, 65756)
    fees = [a for kind, a, _ in _ancillary(db, m) if kind is ClaimKind.DUNNING_FEE]
    assert fees == [1100]
    assert sum(trial_balance(db, m.id).values()) == 0


def test_blocked_in_collection_or_below_tolerance_meanwhile_are_dropped(
    db: Session, make: Any
) -> None:
    m = _town(make)
    anna, bert, cara = (make.person(m) for _ in range(3))
    blocked = make.claim(m, anna, amount=10000, due=DUE)
    carded = make.claim(m, bert, amount=10000, due=DUE)
    small = make.claim(m, cara, amount=10000, due=DUE)
    run = runs.preview(db, m, RUN_1, "user:1")
    assert len(runs.letters_of(db, run)) == 3
    blocks.add_block(
        db, person=anna, claim=blocked, reason=BlockReason.DEFERRAL, starts_on=RUN_1,
        actor="user:1",
    )  # fmt: skip
    _hold_by_card(db, m, carded)
    _pay(db, small, 9600, RUN_1 + timedelta(days=1), RUN_1 + timedelta(days=1))  # 4 € left

    counts = _approve_and_book(db, run)

    assert counts == {"letters": 0, "fees": 0, "surcharges": 0, "dropped": 3}
    reasons = {c.id: _item(db, run, c).dropped for c in (blocked, carded, small)}
    assert reasons == {
        blocked.id: Dropped.BLOCKED,
        carded.id: Dropped.IN_COLLECTION,
        small.id: Dropped.BELOW_TOLERANCE,
    }
    letters = runs.letters_of(db, run)
    assert all(lt.dropped_at is not None and lt.booked_at is None for lt in letters)
    assert db.get_one(DunningRun, run.id).state.value == "booked"
    assert _ancillary(db, m) == []
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id.in_([lt.id for lt in letters]))
    ).all()
    assert (
        sorted(a for a in actions if a.startswith("dunning_letter"))
        == ["dunning_letter.dropped"] * 3
    )
    assert booking.book(db, run, "user:2")["letters"] == 0  # nothing twice
    assert sum(trial_balance(db, m.id).values()) == 0


payments_st = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 30_000), st.integers(-40, 5)),
    max_size=6,
)  # (claim, cents, value date relative to the run date)
amounts_st = st.lists(st.integers(300, 40_000), min_size=1, max_size=4)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amounts=amounts_st, payments=payments_st)
def test_booking_after_arbitrary_payments_charges_only_open_claims(
    engine: Engine, amounts: list[int], payments: list[tuple[int, int, int]]
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            _property(session, amounts, payments)
        finally:
            session.close()
            outer.rollback()


def _property(session: Session, amounts: list[int], payments: list[tuple[int, int, int]]) -> None:
    m = factories.municipality(session)
    factories.dunning_statute(session, m)
    anna = factories.person(session, m)
    claims = [factories.claim(session, m, anna, amount=a, due=DUE) for a in amounts]
    run = runs.preview(session, m, RUN_1, "user:1")
    for index, cents, offset in payments:
        if index < len(claims):
            on = RUN_1 + timedelta(days=offset)
            _pay(session, claims[index], cents, on, RUN_1 + timedelta(days=6))
    open_now = open_amounts(session, claims)
    _approve_and_book(session, run)
    items = session.scalars(
        select(DunningItem)
        .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
        .where(DunningLetter.run_id == run.id)
    ).all()
    for item in items:
        is_open = open_now[item.claim_id] >= 500  # the statute's tolerance
        assert item.booked == is_open
        assert (item.dropped is None) == is_open
        if item.booked:
            assert item.open_cents == open_now[item.claim_id]
        if item.surcharge_claim_id is not None:
            assert item.booked and item.surcharge_cents > 0
    booked_on = {i.claim_id for i in items if i.booked}
    ancillary = session.scalars(
        select(Claim).where(Claim.municipality_id == m.id, Claim.kind.in_(ANCILLARY))
    ).all()
    refs = {c.kassenzeichen for c in claims if c.id in booked_on}
    assert all(c.kassenzeichen in refs for c in ancillary)
    assert sum(trial_balance(session, m.id).values()) == 0
