"""Booking a refund of (part of) a payment: the money leaves the account it came in on.

What is refunded is taken first from the person's credit (an over-payment), then from the
claims the payment settled, newest first, which are open again by that much. More than that
cannot be refunded (it would leave the ledger owing money to nobody's claim).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import LedgerError
from core.ledger.accounts import (
    CHANNEL_ACCOUNT,
    PersonAccounts,
    person_accounts,
    system_account,
)
from core.ledger.balances import claim_balances, credit_balance
from core.ledger.journal import add_posting, new_entry, save_entry
from core.ledger.models import Claim, EntryKind, JournalEntry, LedgerAccount, Payment, Posting
from core.persons.models import Person


def refunded_cents(session: Session, payment: Payment) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Posting.payment_id == payment.id, JournalEntry.kind == EntryKind.REFUND)
    )
    return int(total or 0)


def refundable_cents(session: Session, payment: Payment) -> int:
    if payment.reversed_by_entry_id is not None or payment.person_id is None:
        return 0
    return payment.amount_cents - refunded_cents(session, payment)


def book_refund(
    session: Session, payment: Payment, amount_cents: int, *, as_of: date, actor: str, reason: str
) -> JournalEntry:
    if not 0 < amount_cents <= refundable_cents(session, payment):
        raise LedgerError("Es kann höchstens der noch nicht erstattete Betrag erstattet werden.")
    person = session.get_one(Person, payment.person_id)
    accounts = person_accounts(session, person)
    cash = system_account(session, payment.municipality_id, CHANNEL_ACCOUNT[payment.channel])
    entry = new_entry(
        person,
        EntryKind.REFUND,
        value_date=as_of,
        actor=actor,
        text=f"Erstattung: {reason}",
    )
    remaining = amount_cents
    from_credit = min(remaining, max(credit_balance(session, person), 0))
    if from_credit:
        add_posting(entry, accounts.credit, cash, from_credit, payment_id=payment.id)
        remaining -= from_credit
    remaining -= _reopen_settled_claims(session, entry, payment, accounts, cash, remaining)
    if remaining:
        raise LedgerError(
            "Dieser Betrag ist nicht mehr als Zahlung vorhanden und kann nicht erstattet werden."
        )
    save_entry(session, entry)
    audit.record(
        session,
        actor=actor,
        action="payment.refunded",
        obj=payment,
        municipality_id=payment.municipality_id,
        after={"amount_cents": amount_cents, "reason": reason},
    )
    return entry


def _reopen_settled_claims(
    session: Session,
    entry: JournalEntry,
    payment: Payment,
    accounts: PersonAccounts,
    cash: LedgerAccount,
    amount_cents: int,
) -> int:
    """Refund up to ``amount_cents`` from the claims the payment settled, newest first, each
    only as far as it is still paid; returns how much that covered."""
    settled = list(
        session.scalars(
            select(Posting)
            .where(
                Posting.payment_id == payment.id,
                Posting.claim_id.is_not(None),
                Posting.credit_account_id == accounts.receivable.id,
            )
            .order_by(Posting.id.desc())
        )
    )
    claims = session.scalars(select(Claim).where(Claim.id.in_({p.claim_id for p in settled})))
    room = {cid: b.paid_cents for cid, b in claim_balances(session, claims).items()}
    remaining = amount_cents
    for posting in settled:
        if not remaining:
            break
        part = min(remaining, posting.amount_cents, room.get(posting.claim_id or 0, 0))
        if part:
            add_posting(
                entry,
                accounts.receivable,
                cash,
                part,
                claim_id=posting.claim_id,
                payment_id=payment.id,
            )
            room[posting.claim_id or 0] -= part
            remaining -= part
    return amount_cents - remaining
