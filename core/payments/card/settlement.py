"""Booking a card payment exactly once: the attempt settled when the provider says it
succeeded (browser return, webhook or clean-up job, whichever comes first), provider
notifications recorded, stale attempts closed, and the events a clerk must look at."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.ledger.models import Payment, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments import reservations
from core.payments.card import surplus
from core.payments.card.attempts import (
    NEEDS_CLERK,
    AttemptStatus,
    PaymentAttempt,
    ProviderEvent,
    record_first_delivery,
)
from core.payments.card.provider import (
    Intent,
    PaymentProvider,
    ProviderError,
    ProviderEventData,
    cancel_unless_done,
)
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def close_attempt(
    session: Session,
    provider: PaymentProvider,
    attempt: PaymentAttempt,
    *,
    actor: str,
    now: datetime,
    as_of: date,
) -> AttemptStatus:
    """End an open attempt (cancelled by the payer, expired, abandoned): its provider payment
    is cancelled, so it can never be charged, and its reservations are released. One that
    succeeded at the provider after all is booked instead. Raises ``ProviderError`` while the
    provider cannot tell; the attempt then stays open and keeps its reservations."""
    if attempt.status is AttemptStatus.OPEN:
        ref = attempt.provider_ref
        intent = cancel_unless_done(provider, ref) if ref else None
        if intent is not None and intent.succeeded:
            settle(session, attempt, intent, actor=actor, as_of=as_of, provider=provider)
            return attempt.status
        attempt.status, attempt.finished_at = AttemptStatus.ABANDONED, now
        audit.record(
            session,
            actor=actor,
            action="payment_attempt.abandoned",
            obj=attempt,
            municipality_id=attempt.municipality_id,
        )
    reservations.release(session, attempt.id, now=now)
    return attempt.status


class Mismatch(Exception):
    """The provider reports a payment that does not fit the attempt (amount, currency, id)."""


def settle(
    session: Session,
    attempt: PaymentAttempt,
    intent: Intent,
    *,
    actor: str,
    as_of: date,
    provider: PaymentProvider,
) -> Payment:
    """Book a succeeded provider payment exactly once and allocate it to the attempt's claims
    only (the payer's determination, § 225 (1) AO); what they no longer need (paid meanwhile)
    is refunded to the card at once (card/surplus.py), never set off against other items."""
    if (
        intent.ref != attempt.provider_ref
        or intent.amount_cents != attempt.amount_cents
        or intent.currency != attempt.currency
        or not intent.succeeded
    ):
        raise Mismatch(
            f"attempt {attempt.id}: {intent.ref} {intent.status} "
            f"{intent.amount_cents} {intent.currency}"
        )
    if attempt.payment_id is not None:
        return session.get_one(Payment, attempt.payment_id)
    reservations.lock_claims(session, attempt.municipality_id, attempt.claim_ids)
    person = session.get_one(Person, attempt.person_id)
    payment = record_payment(
        session,
        person=person,
        amount_cents=intent.amount_cents,
        received_on=as_of,
        channel=PaymentChannel.CARD,
        as_of=as_of,
        actor=actor,
        reference_text=f"Kartenzahlung {intent.ref}",
        claim_ids=attempt.claim_ids,
        external_ref=intent.ref,
        only_designated=True,
    )
    attempt.status, attempt.payment_id, attempt.finished_at = (
        AttemptStatus.SUCCEEDED,
        payment.id,
        clock.now(),
    )
    reservations.release(session, attempt.id, now=clock.now())
    refund = surplus.refund_surplus(
        session, provider, payment, attempt_id=attempt.id, actor=actor, as_of=as_of
    )
    audit.record(
        session,
        actor=actor,
        action="payment_attempt.succeeded",
        obj=attempt,
        municipality_id=attempt.municipality_id,
        after={"payment_id": payment.id, "surplus_refund_id": refund.id if refund else None},
    )
    session.flush()
    return payment


def refresh(
    session: Session, provider: PaymentProvider, attempt: PaymentAttempt, *, actor: str, as_of: date
) -> PaymentAttempt:
    """Ask the provider about an open attempt (browser came back) and book it if it succeeded."""
    if attempt.status is not AttemptStatus.OPEN or attempt.provider_ref is None:
        return attempt
    intent = provider.retrieve_intent(attempt.provider_ref)
    if intent.succeeded:
        settle(session, attempt, intent, actor=actor, as_of=as_of, provider=provider)
    return attempt


def _attempt_of_event(
    session: Session, provider: PaymentProvider, event: ProviderEventData, record: ProviderEvent
) -> PaymentAttempt | None:
    """The attempt the event is about, locked; the record names it (or at least the
    municipality the provider's metadata names)."""
    attempt = None
    if event.intent is not None:
        attempt = session.scalars(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.provider == provider.name,
                PaymentAttempt.provider_ref == event.intent.ref,
            )
            .with_for_update()
        ).first()
    if attempt is not None:
        record.attempt_id, record.municipality_id = attempt.id, attempt.municipality_id
    elif event.intent is not None and event.intent.metadata.get("municipality"):
        known = session.scalars(
            select(Municipality.id).where(
                Municipality.slug == event.intent.metadata["municipality"]
            )
        ).first()
        record.municipality_id = known
    return attempt


def handle_event(
    session: Session,
    provider: PaymentProvider,
    payload: bytes,
    signature_header: str,
    *,
    as_of: date,
) -> str:
    """Verify and act on a provider notification, once per event id (the first delivery's row
    is stored before anything is done: :func:`record_first_delivery`). Returns the outcome;
    "duplicate" for an event already processed or being processed at this moment.

    Raises ``InvalidSignature`` for anything not signed by the provider: nothing is stored.
    """
    event = provider.parse_event(payload, signature_header)
    record = ProviderEvent(
        provider=provider.name,
        event_id=event.event_id,
        type=event.type,
        outcome="ignored",
        provider_ref=event.intent.ref if event.intent else None,
    )
    if not record_first_delivery(session, record):
        return "duplicate"
    attempt = _attempt_of_event(session, provider, event, record)
    if event.type == "payment_intent.succeeded" and event.intent is not None:
        if attempt is None:
            record.outcome, record.detail = "unknown", "Zahlung ohne bekannten Zahlungsvorgang"
        else:
            try:
                payment = settle(
                    session,
                    attempt,
                    event.intent,
                    actor=f"provider:{provider.name}",
                    as_of=as_of,
                    provider=provider,
                )
                record.outcome = "booked"
                if surplus.already_refunded(session, payment):
                    record.detail = "Überzahlung automatisch auf die Karte erstattet"
            except Mismatch as exc:
                record.outcome, record.detail = "mismatch", str(exc)[:300]
    elif event.type == "payment_intent.payment_failed":
        record.outcome = "noted"
    session.add(record)
    session.flush()
    return record.outcome


def abandon_stale(
    session: Session,
    provider: PaymentProvider,
    *,
    now: datetime,
    older_than: timedelta,
    as_of: date,
) -> dict[str, int]:
    """Clean-up job: open attempts older than ``older_than`` are booked if the provider says they
    succeeded after all, otherwise cancelled there and marked abandoned."""
    stale = list(
        session.scalars(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.status == AttemptStatus.OPEN,
                PaymentAttempt.created_at < now - older_than,
            )
            .with_for_update()
        )
    )
    counts = {"booked": 0, "abandoned": 0, "errors": 0}
    for attempt in stale:
        try:
            status = close_attempt(
                session, provider, attempt, actor="job:cleanup", now=now, as_of=as_of
            )
        except ProviderError:
            counts["errors"] += 1
            continue
        counts["booked" if status is AttemptStatus.SUCCEEDED else "abandoned"] += 1
    session.flush()
    return counts


def events_for_clerk(session: Session, municipality_id: int) -> list[ProviderEvent]:
    """Notifications of this municipality nobody could book (unknown payment, mismatch)."""
    return list(
        session.scalars(
            select(ProviderEvent)
            .where(
                ProviderEvent.outcome.in_(NEEDS_CLERK),
                ProviderEvent.municipality_id == municipality_id,
            )
            .order_by(ProviderEvent.id.desc())
        )
    )
