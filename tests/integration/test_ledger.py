"""Ledger services against a real database: claims, payments, allocation, credit, reversals."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.audit import AuditEvent
from core.kernel.errors import LedgerError, ValidationError
from core.kernel.references import is_valid_kassenzeichen, is_valid_rf
from core.ledger.accounts import system_account
from core.ledger.balances import account_balance, credit_balance, open_amounts, person_balance
from core.ledger.claims import rf_reference
from core.ledger.kinds import ClaimKind
from core.ledger.models import EntryKind, JournalEntry, PaymentChannel, Posting
from core.ledger.queries import payments_of
from core.ledger.receipts import record_payment
from core.ledger.reversals import reverse_entry

DAY = date(2026, 3, 1)


def pay(db: Session, person: Any, amount: int, **kw: Any) -> Any:
    kw.setdefault("received_on", DAY)
    return record_payment(
        db,
        person=person,
        amount_cents=amount,
        channel=kw.pop("channel", PaymentChannel.BANK_TRANSFER),
        as_of=DAY,
        actor="test",
        **kw,
    )


def open_of(db: Session, claim: Any) -> int:
    return open_amounts(db, [claim])[claim.id]


def test_claim_gets_kassenzeichen_and_books_receivable_against_revenue(
    db: Session, make: Any
) -> None:
    m = make.municipality(kassenzeichen_prefix="555")
    p = make.person(m)
    c = make.claim(m, p, amount=13525)
    assert c.kassenzeichen.startswith("555")
    assert is_valid_kassenzeichen(c.kassenzeichen)
    assert is_valid_rf(rf_reference(c))
    assert open_of(db, c) == 13525
    assert person_balance(db, p) == 13525
    revenue = system_account(db, m.id, "4010")
    assert account_balance(db, revenue) == -13525
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "claim.posted", AuditEvent.object_id == c.id)
        )
        == 1
    )


def test_kassenzeichen_serials_are_per_municipality(make: Any) -> None:
    a, b = make.municipality(), make.municipality()
    c1 = make.claim(a, make.person(a))
    c2 = make.claim(b, make.person(b))
    assert c1.kassenzeichen[3:11] == c2.kassenzeichen[3:11] == "00000001"


def test_payment_with_kassenzeichen_settles_that_claim_first(db: Session, make: Any) -> None:
    m = make.municipality()
    p = make.person(m)
    older = make.claim(m, p, amount=5000, due=date(2026, 1, 15))
    named = make.claim(m, p, amount=5000, due=date(2026, 2, 15))
    pay(db, p, 5000, kassenzeichen=named.kassenzeichen)
    assert open_of(db, named) == 0
    assert open_of(db, older) == 5000


def test_payment_without_reference_follows_section_225(db: Session, make: Any) -> None:
    m = make.municipality()
    p = make.person(m)
    surcharge = make.claim(
        m, p, amount=500, kind=ClaimKind.LATE_PAYMENT_SURCHARGE, due=date(2026, 1, 1)
    )
    fee = make.claim(m, p, amount=600, kind=ClaimKind.DUNNING_FEE, due=date(2026, 1, 10))
    tax = make.claim(m, p, amount=10000, due=date(2026, 2, 15))
    pay(db, p, 10300)
    assert (open_of(db, tax), open_of(db, fee), open_of(db, surcharge)) == (0, 300, 500)


def test_overpayment_becomes_credit_and_is_offset_against_the_next_claim(
    db: Session, make: Any
) -> None:
    m = make.municipality()
    p = make.person(m)
    c = make.claim(m, p, amount=2500)
    pay(db, p, 4000)
    assert open_of(db, c) == 0
    assert credit_balance(db, p) == 1500
    assert person_balance(db, p) == -1500
    nxt = make.claim(m, p, amount=2500, due=date(2026, 5, 15))
    assert open_of(db, nxt) == 1000
    assert credit_balance(db, p) == 0
    assert person_balance(db, p) == 1000


def test_partial_payment_leaves_the_rest_open(db: Session, make: Any) -> None:
    m = make.municipality()
    p = make.person(m)
    c = make.claim(m, p, amount=2500)
    pay(db, p, 1000)
    assert open_of(db, c) == 1500


def test_same_external_transaction_is_booked_once(db: Session, make: Any) -> None:
    m = make.municipality()
    p = make.person(m)
    make.claim(m, p, amount=2500)
    first = pay(db, p, 2500, channel=PaymentChannel.CARD, external_ref="pi_123")
    again = pay(db, p, 2500, channel=PaymentChannel.CARD, external_ref="pi_123")
    assert first.id == again.id
    assert len(payments_of(db, p)) == 1
    with pytest.raises(LedgerError):
        pay(db, p, 9999, channel=PaymentChannel.CARD, external_ref="pi_123")


def test_reversing_a_payment_reopens_the_claim(db: Session, make: Any) -> None:
    m = make.municipality()
    p = make.person(m)
    c = make.claim(m, p, amount=2500)
    payment = pay(db, p, 2500)
    entry = db.scalars(
        select(JournalEntry).where(
            JournalEntry.kind == EntryKind.PAYMENT, JournalEntry.person_id == p.id
        )
    ).one()
    reversal = reverse_entry(db, entry, as_of=DAY, actor="test", reason="Rücklastschrift")
    assert reversal.reverses_entry_id == entry.id
    assert open_of(db, c) == 2500
    assert payment.reversed_by_entry_id == reversal.id
    with pytest.raises(LedgerError, match="bereits storniert"):
        reverse_entry(db, entry, as_of=DAY, actor="test", reason="nochmal")
    with pytest.raises(LedgerError, match="Nur Sollstellungen und Zahlungen"):
        reverse_entry(db, reversal, as_of=DAY, actor="test", reason="x")


def test_cancelling_a_paid_claim_turns_the_payment_into_credit(db: Session, make: Any) -> None:
    m = make.municipality()
    p = make.person(m)
    c = make.claim(m, p, amount=2500)
    pay(db, p, 1000)
    claim_entry = db.scalars(
        select(JournalEntry).where(
            JournalEntry.kind == EntryKind.CLAIM, JournalEntry.person_id == p.id
        )
    ).one()
    reverse_entry(db, claim_entry, as_of=DAY, actor="test", reason="Hund abgemeldet")
    assert c.cancelled_by_entry_id is not None
    assert open_of(db, c) == 0
    assert credit_balance(db, p) == 1000


def test_reversing_a_payment_whose_credit_was_used_reopens_the_other_claim(
    db: Session, make: Any
) -> None:
    m = make.municipality()
    p = make.person(m)
    first = make.claim(m, p, amount=1000)
    pay(db, p, 3000)  # 2000 credit
    second = make.claim(m, p, amount=2000, due=date(2026, 5, 15))  # paid from credit
    assert open_of(db, second) == 0
    payment_entry = db.scalars(
        select(JournalEntry).where(
            JournalEntry.kind == EntryKind.PAYMENT, JournalEntry.person_id == p.id
        )
    ).one()
    reverse_entry(db, payment_entry, as_of=DAY, actor="test", reason="Rückbuchung")
    assert open_of(db, first) == 1000
    assert open_of(db, second) == 2000
    assert credit_balance(db, p) == 0


def test_posted_rows_cannot_be_changed_through_the_orm(db: Session, make: Any) -> None:
    m = make.municipality()
    make.claim(m, make.person(m))
    posting = db.scalars(select(Posting)).first()
    assert posting is not None
    posting.amount_cents = 1
    with pytest.raises(LedgerError, match="unveränderlich"):
        db.flush()
    db.rollback()


def test_claims_need_positive_integer_cents(db: Session, make: Any) -> None:
    m = make.municipality()
    p = make.person(m)
    for bad in (0, -100, 12.5, True):
        with pytest.raises(ValidationError):
            make.claim(m, p, amount=bad)


def test_a_person_of_another_municipality_cannot_be_charged(make: Any) -> None:
    a, b = make.municipality(), make.municipality()
    with pytest.raises(LedgerError):
        make.claim(a, make.person(b))
