"""Incoming payments (Zahlungseingänge): booked once per transaction and allocated to the
person's open items (§ 225 AO, core.ledger.allocation); what is left becomes credit."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import LedgerError, ValidationError
from core.kernel.references import normalize_kassenzeichen
from core.ledger.accounts import CHANNEL_ACCOUNT, PersonAccounts, person_accounts, system_account
from core.ledger.allocation import Allocation, allocate
from core.ledger.journal import add_posting, new_entry, save_entry
from core.ledger.models import (
    Claim,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
)
from core.ledger.queries import open_items
from core.persons.models import Person


def find_payment(
    session: Session, municipality_id: int, channel: PaymentChannel, external_ref: str
) -> Payment | None:
    return session.scalars(
        select(Payment).where(
            Payment.municipality_id == municipality_id,
            Payment.channel == channel,
            Payment.external_ref == external_ref,
        )
    ).first()


def record_payment(
    session: Session,
    *,
    person: Person,
    amount_cents: int,
    received_on: date,
    channel: PaymentChannel,
    as_of: date,
    actor: str,
    reference_text: str = "",
    kassenzeichen: str | None = None,
    claim_ids: Collection[int] = (),
    external_ref: str | None = None,
    cash_account: str | None = None,
    only_designated: bool = False,
) -> Payment:
    """Book a payment and allocate it (§ 225 AO); what is left becomes credit.

    ``only_designated``: allocate to the designated claims only (a card payment for chosen
    items), never to the person's other items; the rest stays credit.

    Idempotent: a payment with the same ``external_ref`` on the same channel is booked once and
    the first booking is returned for every repetition. ``cash_account`` overrides where the
    money comes from (default: the channel's account), e.g. "1820" for a direct debit handed to
    the bank but not yet credited, "1890" for a bank credit a clerk assigns from suspense.
    """
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValidationError("Der Zahlbetrag muss positiv sein (in Cent).")
    earlier = _earlier_booking(session, person, channel, external_ref, amount_cents)
    if earlier is not None:
        return earlier
    payment = Payment(
        municipality_id=person.municipality_id,
        person_id=person.id,
        amount_cents=amount_cents,
        received_on=received_on,
        channel=channel,
        reference_text=reference_text[:140],
        external_ref=external_ref,
    )
    session.add(payment)
    session.flush()
    designated = _designated_claim_ids(session, person, claim_ids, kassenzeichen)
    allocation = allocate(
        amount_cents,
        open_items(session, person),
        as_of=received_on,
        designated=designated,
        only_designated=only_designated,
    )
    _book_payment(
        session,
        payment,
        person,
        allocation,
        cash_account=cash_account or CHANNEL_ACCOUNT[channel],
        text=f"Zahlungseingang {reference_text}".strip(),
        actor=actor,
    )
    return payment


def _earlier_booking(
    session: Session,
    person: Person,
    channel: PaymentChannel,
    external_ref: str | None,
    amount_cents: int,
) -> Payment | None:
    """The payment already booked for this transaction, which must be the same payment."""
    if not external_ref:
        return None
    existing = find_payment(session, person.municipality_id, channel, external_ref)
    if existing is not None and (
        existing.amount_cents != amount_cents or existing.person_id != person.id
    ):
        raise LedgerError("Dieselbe Transaktion wurde mit anderen Daten gemeldet.")
    return existing


def _designated_claim_ids(
    session: Session, person: Person, claim_ids: Collection[int], kassenzeichen: str | None
) -> set[int]:
    """The claims the payer named (§ 225 (1) AO): chosen ones and those under the Kassenzeichen."""
    designated = set(claim_ids)
    if kassenzeichen:
        kz = normalize_kassenzeichen(kassenzeichen)
        designated |= set(
            session.scalars(
                select(Claim.id).where(Claim.person_id == person.id, Claim.kassenzeichen == kz)
            )
        )
    return designated


def _book_payment(
    session: Session,
    payment: Payment,
    person: Person,
    allocation: Allocation,
    *,
    cash_account: str,
    text: str,
    actor: str,
) -> None:
    accounts = person_accounts(session, person)
    cash = system_account(session, person.municipality_id, cash_account)
    entry = new_entry(
        person, EntryKind.PAYMENT, value_date=payment.received_on, actor=actor, text=text
    )
    _book_allocation(entry, allocation, source=cash, accounts=accounts, payment_id=payment.id)
    save_entry(session, entry)
    audit.record(
        session,
        actor=actor,
        action="payment.booked",
        obj=payment,
        municipality_id=person.municipality_id,
        after={
            "amount_cents": payment.amount_cents,
            "channel": payment.channel.value,
            "allocated": allocation.parts,
            "credit_cents": allocation.credit_cents,
        },
    )


def _book_allocation(
    entry: JournalEntry,
    allocation: Allocation,
    *,
    source: LedgerAccount,
    accounts: PersonAccounts,
    payment_id: int | None,
) -> None:
    for claim_id, part in allocation.parts:
        add_posting(
            entry, source, accounts.receivable, part, claim_id=claim_id, payment_id=payment_id
        )
    if allocation.credit_cents:
        add_posting(entry, source, accounts.credit, allocation.credit_cents, payment_id=payment_id)
