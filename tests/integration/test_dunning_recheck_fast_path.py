"""Booking's recheck computes again only the letters whose claims changed since the preview
(core.dunning.recheck.changed); the others keep the preview's amounts. A property over random
changes between preview and booking — payments in part or in full (some with a value date
before the run date), blocks of a claim or of its person (deferral: surcharge-free, or a
clerk's block), a card payment holding a claim, a cancellation — checks that this gives
exactly what computing every letter again gives (``recheck(..., full=True)``), in run 1
(reminder, surcharges) and run 2 (Mahnung, fee shared among the claims), and that
``changed`` names exactly the claims touched. Then the paths the journal's times alone would
not show: a payment committed long after it was stamped (caught by its open amount), a
payment of before the preview reversed after it (the claim's open amount and history
change), a new dunning statute (every letter computed again). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.dunning import blocks, booking, runs
from core.dunning.models import BlockReason, DunningLetter, DunningRun
from core.dunning.recheck import SETTLE, changed, recheck
from core.ledger.claims import cancel_claim
from core.ledger.models import Claim, EntryKind, JournalEntry, Posting
from core.ledger.reversals import reverse_entry
from core.persons.models import Person
from tests import factories
from tests.integration.test_dunning_booking_recheck import DUE, RUN_1, RUN_2, _item, _pay
from tests.integration.test_dunning_runs import _hold_by_card

ACTIONS = ("none", "part", "full", "early", "deferral", "person_block", "card", "cancel")
# The journal is append-only and seconds old here: the preview is taken to have seen what was
# written before it (no settling time), as it has, the test being alone on its database.
NONE = timedelta(0)
TOUCHING = {"part", "full", "early", "cancel"}  # a journal entry on the claim

persons_st = st.lists(st.lists(st.integers(300, 90_000), min_size=1, max_size=3), min_size=1)
changes_st = st.lists(st.tuples(st.integers(0, 8), st.sampled_from(ACTIONS)), max_size=5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(persons=persons_st.map(lambda p: p[:3]), changes=changes_st, second=st.booleans())
def test_the_fast_recheck_agrees_with_computing_every_letter_again(
    engine: Engine, persons: list[list[int]], changes: list[tuple[int, str]], second: bool
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            _property(session, persons, changes, second)
        finally:
            session.close()
            outer.rollback()


def _property(
    session: Session, persons: list[list[int]], changes: list[tuple[int, str]], second: bool
) -> None:
    m = factories.municipality(session)
    factories.dunning_statute(session, m)
    claims: list[Claim] = []
    for amounts in persons:
        person = factories.person(session, m)
        claims += [factories.claim(session, m, person, amount=a, due=DUE) for a in amounts]
    run = runs.preview(session, m, RUN_1, "user:1")
    if second:  # run 2: the Mahnung with its fee, after run 1 was booked
        runs.approve(session, run, "user:2")
        booking.book(session, run, "user:2")
        run = runs.preview(session, m, RUN_2, "user:1")
    day = run.run_date
    touched: set[int] = set()
    maybe: set[int] = set()
    held: set[int] = set()
    for index, action in changes:
        claim = claims[index % len(claims)]
        if claim.cancelled_by_entry_id is not None or action == "none":
            continue
        person = session.get_one(Person, claim.person_id)
        if action in ("part", "full", "early"):
            cents = claim.amount_cents // (1 if action == "full" else 3) or 1
            on = day - timedelta(days=20) if action == "early" else day + timedelta(days=1)
            _pay(session, claim, cents, on, day + timedelta(days=1))
        elif action == "cancel":
            cancel_claim(session, claim, as_of=day + timedelta(days=1), actor="t", reason="x")
        elif action == "card":
            if claim.id not in held:  # a claim is held once
                _hold_by_card(session, m, claim)
            held.add(claim.id)
        else:
            blocks.add_block(
                session, person=person,
                claim=claim if action == "deferral" else None,
                reason=BlockReason.DEFERRAL if action == "deferral" else BlockReason.CLERK,
                starts_on=day - timedelta(days=30), actor="t",
            )  # fmt: skip
        theirs = {c.id for c in claims if c.person_id == person.id}
        if action in TOUCHING or action == "deferral":
            touched.add(claim.id)
        if action == "person_block":
            touched |= theirs
        maybe |= theirs if action in TOUCHING else touched  # paid too much: credit for the rest
    runs.approve(session, run, "user:2")
    fast, slow = _rechecked(session, run, full=False), _rechecked(session, run, full=True)
    assert fast == slow
    letters = _letters(session, run)
    items = booking.item_rows(session, [lt.id for lt in letters])
    now = booking._claims(session, [i.claim_id for its in items.values() for i in its])
    assert touched & set(now) <= changed(session, run, now, NONE) <= (touched | maybe) & set(now)


def _letters(session: Session, run: DunningRun) -> list[DunningLetter]:
    return list(
        session.scalars(
            select(DunningLetter).where(DunningLetter.run_id == run.id).order_by(DunningLetter.id)
        )
    )


def _rechecked(session: Session, run: DunningRun, *, full: bool) -> Any:
    """What the recheck decides for every letter of the run, undone after (a savepoint)."""
    with session.begin_nested() as nested:
        letters = _letters(session, run)
        items = booking.item_rows(session, [lt.id for lt in letters])
        claims = booking._claims(session, [i.claim_id for its in items.values() for i in its])
        kept = recheck(session, run, letters, items, claims, full=full, settle=NONE)
        found = (
            sorted(kept),
            [
                (i.id, i.dropped, i.open_cents, i.fee_cents, i.surcharge_cents)
                for its in items.values()
                for i in its
            ],
            [
                (lt.id, lt.open_cents, lt.fee_cents, lt.surcharge_cents, lt.total_cents)
                for lt in letters
            ],
            [lt.id for lt in letters if lt.dropped_at is not None],
        )
        nested.rollback()
    session.expire_all()
    return found


def test_a_payment_committed_long_after_it_was_stamped_is_caught_by_its_open_amount(
    db: Session, make: Any
) -> None:
    """The journal entry is older than the run begun less SETTLE (as if its transaction had
    stayed open for hours): the claim's open amount, read again, shows it."""
    m = make.municipality()
    make.dunning_statute(m)
    claim = make.claim(m, make.person(m), amount=20000, due=DUE)
    other = make.claim(m, make.person(m), amount=30000, due=DUE)
    run = runs.preview(db, m, RUN_1, "user:1")
    _pay(db, claim, 10000, date(2026, 2, 18), RUN_1 + timedelta(days=1))  # within the grace
    run.created_at += 2 * SETTLE  # the preview begun two hours after the entry was stamped
    runs.approve(db, run, "user:2")
    letters = _letters(db, run)
    items = booking.item_rows(db, [lt.id for lt in letters])
    now = booking._claims(db, [i.claim_id for its in items.values() for i in its])
    assert changed(db, run, now) == set()  # the journal's times do not show it

    booking.book(db, run, "user:2")

    assert (_item(db, run, claim).open_cents, _item(db, run, claim).surcharge_cents) == (
        10000,
        100,  # month 1 on the 100 € still late, not on 200 € as the preview had it
    )
    assert _item(db, run, other).open_cents == 30000


def test_a_payment_booked_again_with_its_right_value_date_is_computed_again(
    db: Session, make: Any
) -> None:
    """A payment of before the preview reversed after it and booked again with the value date
    it should have had (within the grace): the open amount is as it was, the history is not."""
    m = make.municipality()
    make.dunning_statute(m)
    claim = make.claim(m, make.person(m), amount=20000, due=DUE)
    make.claim(m, make.person(m), amount=30000, due=DUE)
    _pay(db, claim, 10000, DUE + timedelta(days=20), DUE + timedelta(days=20))
    run = runs.preview(db, m, RUN_1, "user:1")
    assert (_item(db, run, claim).open_cents, _item(db, run, claim).surcharge_cents) == (
        10000,
        200,  # paid late: month 1 on the whole 200 €
    )
    entry = db.scalars(
        select(JournalEntry)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.claim_id == claim.id, JournalEntry.kind == EntryKind.PAYMENT)
    ).one()
    reverse_entry(db, entry, as_of=RUN_1, actor="t", reason="Wertstellung falsch")
    _pay(db, claim, 10000, date(2026, 2, 18), RUN_1)
    runs.approve(db, run, "user:2")

    fast, slow = _rechecked(db, run, full=False), _rechecked(db, run, full=True)

    assert fast == slow
    letters = _letters(db, run)
    items = booking.item_rows(db, [lt.id for lt in letters])
    now = booking._claims(db, [i.claim_id for its in items.values() for i in its])
    assert changed(db, run, now, NONE) == {claim.id}
    (row,) = [r for r in fast[1] if r[0] == _item(db, run, claim).id]
    assert (row[2], row[4]) == (10000, 100)  # the same open amount, month 1 on 100 € only


def test_a_new_dunning_statute_computes_every_letter_again(db: Session, make: Any) -> None:
    m = make.municipality()
    make.dunning_statute(m)
    claims = [make.claim(m, make.person(m), amount=a, due=DUE) for a in (20000, 30000)]
    run = runs.preview(db, m, RUN_1, "user:1")
    assert all(_item(db, run, c).surcharge_cents > 0 for c in claims)
    statute = make.dunning_statute(m, surcharges=False)  # in force from 2026: none any more
    statute.valid_from = date(2026, 1, 1)
    db.flush()
    runs.approve(db, run, "user:2")

    fast, slow = _rechecked(db, run, full=False), _rechecked(db, run, full=True)

    assert fast == slow
    assert all(surcharge == 0 for *_, surcharge in fast[1])
