"""Reversing a booking (Storno): a claim's booking is cancelled, a payment is booked back by its
mirror image; the original entry stays as it was."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import LedgerError
from core.ledger.accounts import person_accounts
from core.ledger.balances import claim_balances, credit_balance
from core.ledger.claims import cancel_claim
from core.ledger.credit import apply_credit
from core.ledger.journal import add_posting, new_entry, save_entry
from core.ledger.models import Claim, EntryKind, JournalEntry, LedgerAccount, Payment
from core.persons.models import Person


def is_reversed(session: Session, entry: JournalEntry) -> bool:
    return (
        session.scalar(
            select(func.count(JournalEntry.id)).where(JournalEntry.reverses_entry_id == entry.id)
        )
        != 0
    )


def reverse_entry(
    session: Session, entry: JournalEntry, *, as_of: date, actor: str, reason: str
) -> JournalEntry:
    """Cancel a booking (Storno); the original stays as it was.

    * A claim's booking is cancelled by :func:`core.ledger.claims.cancel_claim`.
    * A payment is reversed by its mirror image. A claim that has been lowered or cancelled
      since is re-opened only up to what is paid on it now; the rest is taken from the credit
      account. If the credit account would then be negative (the credit had already been
      offset against other items), those offsets are undone, newest first, and what is left
      is offset again.
    """
    if entry.kind is EntryKind.CLAIM:
        return cancel_claim(
            session,
            session.get_one(Claim, entry.postings[0].claim_id),
            as_of=as_of,
            actor=actor,
            reason=reason,
        )
    if entry.kind is not EntryKind.PAYMENT:
        raise LedgerError("Nur Sollstellungen und Zahlungen können storniert werden.")
    if is_reversed(session, entry):
        raise LedgerError("Diese Buchung ist bereits storniert.")
    person = session.get(Person, entry.person_id)
    if person is None:
        raise LedgerError("Buchung ohne Personenkonto kann hier nicht storniert werden.")
    reversal = save_entry(
        session, _mirror(session, entry, person, as_of=as_of, actor=actor, reason=reason)
    )
    payment_ids = {p.payment_id for p in entry.postings}
    for payment in session.scalars(select(Payment).where(Payment.id.in_(payment_ids))):
        payment.reversed_by_entry_id = reversal.id
        audit.record(
            session,
            actor=actor,
            action="payment.reversed",
            obj=payment,
            municipality_id=payment.municipality_id,
            after={"reason": reason},
        )
    session.flush()
    _restore_non_negative_credit(session, person, as_of=as_of, actor=actor)
    apply_credit(session, person, as_of=as_of, actor=actor)
    return reversal


def _mirror(
    session: Session, entry: JournalEntry, person: Person, *, as_of: date, actor: str, reason: str
) -> JournalEntry:
    """The mirror image of a payment or an offset, not yet saved (see :func:`reverse_entry`)."""
    accounts = person_accounts(session, person)
    claims = session.scalars(
        select(Claim).where(Claim.id.in_({p.claim_id for p in entry.postings if p.claim_id}))
    )
    room = {cid: b.paid_cents for cid, b in claim_balances(session, claims).items()}
    reversal = new_entry(
        person,
        EntryKind.REVERSAL,
        value_date=as_of,
        actor=actor,
        text=f"Storno: {reason}",
        reverses=entry,
    )
    for p in entry.postings:
        source = session.get_one(LedgerAccount, p.debit_account_id)  # gets its money back
        if p.claim_id is None:  # an over-payment: it leaves the credit account again
            add_posting(
                reversal,
                session.get_one(LedgerAccount, p.credit_account_id),
                source,
                p.amount_cents,
                payment_id=p.payment_id,
            )
            continue
        reopen = min(p.amount_cents, room[p.claim_id])
        room[p.claim_id] -= reopen
        if reopen:
            add_posting(
                reversal,
                accounts.receivable,
                source,
                reopen,
                claim_id=p.claim_id,
                payment_id=p.payment_id,
            )
        if p.amount_cents - reopen and source.id != accounts.credit.id:
            add_posting(
                reversal, accounts.credit, source, p.amount_cents - reopen, payment_id=p.payment_id
            )
    if not reversal.postings:
        raise LedgerError("Diese Buchung wirkt nicht mehr und muss nicht storniert werden.")
    audit.record(
        session,
        actor=actor,
        action="entry.reversed",
        obj=entry,
        municipality_id=entry.municipality_id,
        after={"reason": reason},
    )
    return reversal


def _restore_non_negative_credit(
    session: Session, person: Person, *, as_of: date, actor: str
) -> None:
    while credit_balance(session, person) < 0:
        offsets = list(
            session.scalars(
                select(JournalEntry)
                .where(
                    JournalEntry.person_id == person.id,
                    JournalEntry.kind == EntryKind.CREDIT_APPLICATION,
                )
                .order_by(JournalEntry.id.desc())
            )
        )
        for candidate in offsets:
            if is_reversed(session, candidate):
                continue
            try:
                undo = _mirror(
                    session,
                    candidate,
                    person,
                    as_of=as_of,
                    actor=actor,
                    reason="Guthaben durch Storno entfallen",
                )
            except LedgerError:
                continue
            save_entry(session, undo)
            break
        else:
            raise LedgerError("Das Guthaben würde negativ; bitte eine Forderung anlegen.")
