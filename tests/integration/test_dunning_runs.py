"""Dunning runs (core.dunning.runs, .booking, .blocks): the preview picks exactly the claims
that are due for a letter — not those not yet due, within the first week, blocked, in
collection or below the tolerance — one step per run, one letter per person and level; a
second person approves; booking books fees and surcharges once, the ledger stays balanced.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.dunning import blocks, booking, runs
from core.dunning.models import BlockReason, DunningItem, DunningRun, RunState
from core.jobs import control, worker
from core.jobs.kinds import KINDS
from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.errors import IllegalTransition, ValidationError
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.notices.jobs import SETTINGS
from core.notices.records import NoticeSettings
from core.payments import reservations
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.tenancy.municipalities import Municipality

SETTINGS_ = NoticeSettings("geheim", "https://portal.example")
RUN_1 = date(2026, 3, 16)  # a Monday
RUN_2 = date(2026, 3, 30)  # after the first letters' deadline (27.03.)
DUE = date(2026, 2, 15)  # a Sunday: due on Monday 16.02. (§ 108 (3) AO)


def _town(make: Any) -> Municipality:
    m = make.municipality()
    make.dunning_statute(m)
    return m


def _items(db: Session, run: DunningRun) -> dict[int, tuple[int, int, int]]:
    """claim id → (level, fee, surcharge) of the run's items."""
    letters = runs.letters_of(db, run)
    found = runs.items_of(db, [letter.id for letter in letters])
    return {
        i.claim_id: (i.level, i.fee_cents, i.surcharge_cents) for its in found.values() for i in its
    }


def _hold_by_card(db: Session, m: Municipality, claim: Claim) -> None:
    attempt = PaymentAttempt(
        municipality_id=m.id,
        person_id=claim.person_id,
        origin="account",
        claim_ids=[claim.id],
        amount_cents=claim.amount_cents,
        provider="test",
        status=AttemptStatus.OPEN,
    )
    db.add(attempt)
    db.flush()
    now = clock.now()
    reservations.reserve(
        db,
        municipality_id=m.id,
        attempt_id=attempt.id,
        items=[(claim, claim.amount_cents)],
        now=now,
        hold=timedelta(minutes=30),
    )


def test_preview_picks_exactly_the_claims_due_for_a_letter(db: Session, make: Any) -> None:
    m = _town(make)
    anna, bert, cara, dora = (make.person(m) for _ in range(4))
    due = make.claim(m, anna, amount=10000, due=DUE)
    at_tolerance = make.claim(m, anna, amount=500, due=DUE)
    below = make.claim(m, bert, amount=499, due=DUE)
    not_yet = make.claim(m, bert, amount=10000, due=date(2026, 3, 20))
    first_week = make.claim(m, bert, amount=10000, due=date(2026, 3, 10))  # 17.03. > run
    day_seven = make.claim(m, bert, amount=10000, due=date(2026, 3, 9))  # 16.03.: one week
    blocked = make.claim(m, cara, amount=10000, due=DUE)
    person_blocked = make.claim(m, dora, amount=10000, due=DUE)
    carded = make.claim(m, cara, amount=10000, due=DUE)
    paid = make.claim(m, cara, amount=10000, due=DUE)
    record_payment(
        db, person=cara, amount_cents=10000, received_on=date(2026, 2, 10),
        channel=PaymentChannel.BANK_TRANSFER, as_of=date(2026, 2, 10), actor="t",
        claim_ids=[paid.id],
    )  # fmt: skip
    blocks.add_block(
        db, person=cara, claim=blocked, reason=BlockReason.SUSPENSION, starts_on=RUN_1,
        actor="user:1",
    )  # fmt: skip
    blocks.add_block(
        db, person=dora, reason=BlockReason.INSOLVENCY, starts_on=date(2026, 1, 1), actor="u:1"
    )
    _hold_by_card(db, m, carded)

    run = runs.preview(db, m, RUN_1, "user:1")

    assert run.state is RunState.PREVIEW
    picked = _items(db, run)
    assert set(picked) == {due.id, at_tolerance.id, day_seven.id}
    assert picked[due.id] == (1, 0, 100)  # reminder: no fee; one month's 1 % of 100 €
    assert picked[at_tolerance.id] == (1, 0, 0)  # below 50 €: no surcharge
    assert not {below.id, not_yet.id, first_week.id, blocked.id, person_blocked.id} & set(picked)
    letters = runs.letters_of(db, run)
    assert sorted((lt.person_id, lt.level, lt.total_cents) for lt in letters) == sorted(
        [(anna.id, 1, 10000 + 500 + 100), (bert.id, 1, 10000 + 100)]
    )
    assert {lt.level_name for lt in letters} == {"Zahlungserinnerung"}
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "dunning_run.previewed"))


def test_one_step_per_run_and_one_letter_per_person_and_level(db: Session, make: Any) -> None:
    m = _town(make)
    anna = make.person(m)
    old = make.claim(m, anna, amount=10000, due=date(2025, 11, 3))  # long overdue
    _book(db, m, RUN_1)
    newer = make.claim(m, anna, amount=20000, due=date(2026, 3, 2))
    other = make.claim(m, anna, amount=30000, due=date(2026, 3, 3))

    run = runs.preview(db, m, RUN_2, "user:1")

    picked = _items(db, run)
    assert picked[old.id][0] == 2  # one step up, not straight to the last level
    assert picked[newer.id][0] == picked[other.id][0] == 1
    letters = runs.letters_of(db, run)
    assert sorted((lt.level, lt.open_cents) for lt in letters) == [(1, 50000), (2, 10000)]
    mahnung = next(lt for lt in letters if lt.level == 2)
    assert mahnung.fee_cents == 600  # NRW: 6 € + 1 % of 50 € = 6.50 €, down to full euro


def _book(db: Session, m: Municipality, day: date) -> DunningRun:
    run = runs.preview(db, m, day, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")
    return run


def test_four_eyes_and_booking_once(db: Session, make: Any) -> None:
    m = _town(make)
    anna = make.person(m)
    tax = make.claim(m, anna, amount=123456, due=DUE)
    fee_before = make.claim(m, anna, amount=1000, due=DUE, kind=ClaimKind.DUNNING_FEE)
    first = _book(db, m, RUN_1)
    run = runs.preview(db, m, RUN_2, "user:1")
    with pytest.raises(ValidationError, match="Vier-Augen-Prinzip"):
        runs.approve(db, run, "user:1")
    with pytest.raises(IllegalTransition, match="nach der Freigabe"):
        booking.book(db, run, "user:1")
    runs.approve(db, run, "user:2")

    counts = booking.book(db, run, "user:2")
    again = booking.book(db, run, "user:2")

    assert counts == {"letters": 1, "fees": 1, "surcharges": 1, "dropped": 0}
    assert again == {"letters": 0, "fees": 0, "surcharges": 0, "dropped": 0}
    assert run.state is RunState.BOOKED and run.approved_by == "user:2"
    items = _items(db, run)
    assert items[fee_before.id] == (2, 0, 0)  # ancillary: no fee base, never a surcharge
    assert items[tax.id] == (2, 1700, 1200)  # § 9 NRW: 1,234 € → 17 €; 2 × 1 % of 1,200 € − 12 €
    booked = db.scalars(
        select(Claim).where(
            Claim.person_id == anna.id,
            Claim.kind.in_([ClaimKind.DUNNING_FEE, ClaimKind.LATE_PAYMENT_SURCHARGE]),
            Claim.id != fee_before.id,
        )
    ).all()
    assert sorted((c.kind.value, c.amount_cents) for c in booked) == [
        ("dunning_fee", 1700),
        ("late_payment_surcharge", 1200),  # run 1
        ("late_payment_surcharge", 1200),  # run 2
    ]
    assert all(c.kassenzeichen == tax.kassenzeichen for c in booked)
    assert sum(trial_balance(db, m.id).values()) == 0
    assert first.state is RunState.BOOKED
    with pytest.raises(ValidationError, match="nicht vor dem letzten Mahnlauf"):
        runs.preview(db, m, RUN_2 - timedelta(days=1), "user:1")
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.municipality_id == m.id)))
    assert {"dunning_run.approved", "dunning_letter.booked", "dunning_run.booked"} <= actions


def test_one_open_run_at_a_time_and_a_discarded_preview(db: Session, make: Any) -> None:
    m = _town(make)
    make.claim(m, make.person(m), amount=10000, due=DUE)
    run = runs.preview(db, m, RUN_1, "user:1")
    with pytest.raises(IllegalTransition, match="noch offen"):
        runs.preview(db, m, RUN_1, "user:3")
    runs.discard(db, run, "user:1")
    again = runs.preview(db, m, RUN_1, "user:1")
    assert again.state is RunState.PREVIEW and len(_items(db, again)) == 1
    assert not db.scalars(select(DunningItem).where(DunningItem.booked.is_(True))).all()


def test_same_run_date_again_books_nothing(db: Session, make: Any) -> None:
    m = _town(make)
    make.claim(m, make.person(m), amount=10000, due=DUE)
    _book(db, m, RUN_1)
    run = runs.preview(db, m, RUN_1, "user:1")
    assert _items(db, run) == {}


def test_block_history_and_is_blocked(db: Session, make: Any) -> None:
    m = _town(make)
    anna = make.person(m)
    claim = make.claim(m, anna, amount=10000, due=DUE)
    block = blocks.add_block(
        db, person=anna, reason=BlockReason.DEFERRAL, starts_on=date(2026, 3, 1), actor="u:1",
        note="Stundung bis Ende März",
    )  # fmt: skip
    assert blocks.is_blocked(db, claim, RUN_1)
    assert not blocks.is_blocked(db, claim, date(2026, 2, 28))
    blocks.end_block(db, block, last_day=date(2026, 3, 20), actor="u:2")
    with pytest.raises(IllegalTransition, match="endet bereits"):
        blocks.end_block(db, block, last_day=date(2026, 3, 25), actor="u:2")
    assert blocks.is_blocked(db, claim, date(2026, 3, 20))
    assert not blocks.is_blocked(db, claim, date(2026, 3, 21))
    assert blocks.blocks_of(db, anna) == [block]  # ended, kept as history
    assert blocks.describe(block) == "Stundung vom 01.03.2026 bis 20.03.2026"
    assert _items(db, runs.preview(db, m, date(2026, 3, 23), "user:1"))


def test_a_reversed_payment_re_enters_dunning(db: Session, make: Any) -> None:
    from core.ledger.models import JournalEntry, Posting
    from core.ledger.reversals import reverse_entry

    m = _town(make)
    anna = make.person(m)
    claim = make.claim(m, anna, amount=10000, due=DUE)
    payment = record_payment(
        db, person=anna, amount_cents=10000, received_on=DUE, channel=PaymentChannel.DIRECT_DEBIT,
        as_of=DUE, actor="t", cash_account="1820",
    )  # fmt: skip
    assert _items(db, runs.preview(db, m, RUN_1, "user:1")) == {}
    runs.discard(db, db.scalars(select(DunningRun)).all()[-1], "user:1")
    entry = db.scalars(
        select(JournalEntry).join(Posting).where(Posting.payment_id == payment.id)
    ).first()
    assert entry is not None
    reverse_entry(db, entry, as_of=date(2026, 2, 20), actor="t", reason="Rücklastschrift")
    assert open_amounts(db, [claim]) == {claim.id: 10000}
    assert _items(db, runs.preview(db, m, RUN_1, "user:1")) == {claim.id: (1, 0, 100)}


def test_booking_as_a_job_in_chunks(
    db: Session, make: Any, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    m = _town(make)
    for _ in range(3):
        make.claim(m, make.person(m), amount=10000, due=DUE)
    run = runs.preview(db, m, RUN_1, "user:1")
    with pytest.raises(IllegalTransition, match="freigegebener Lauf"):
        control.start(db, m, "dunning", {"run": str(run.id)}, actor="user:2")
    runs.approve(db, run, "user:2")
    monkeypatch.setattr(KINDS["dunning"], "chunk_size", 2)
    job = control.start(db, m, "dunning", {"run": str(run.id)}, actor="user:2")
    db.commit()

    # two booking chunks, then the PDFs job the last one started (8 letters a chunk)
    assert worker.drain(session_factory, environment={SETTINGS: SETTINGS_}) == 3

    db.expire_all()
    assert run.state is RunState.BOOKED
    progress = control.progress(db, job)
    assert progress.counts == {"letters": 3, "surcharges": 3, "pdf_jobs": 1}
    assert runs.pdf_figures(db, run) == (3, 3)
    letters = [lt.id for lt in runs.letters_of(db, run)]
    assert KINDS["dunning"].run(db, m, job.params, letters, actor="x", environment={}) == {}
    assert sum(trial_balance(db, m.id).values()) == 0
