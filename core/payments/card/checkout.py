"""Online payment of open items: attempts, booking exactly once, provider notifications.

A citizen pays chosen open items from the account, or the items of a Kassenzeichen from the QR
code on a paper notice. Each try is a ``PaymentAttempt`` bound to one provider payment; it is
booked when the provider says it succeeded — by the browser returning, by a webhook, or by the
clean-up job, whichever comes first — and only once: the attempt row is locked, and the ledger's
payment is unique per provider reference (``core.ledger.receipts.record_payment``).

A claim is charged by one attempt at a time: an attempt reserves the open amounts it covers
(core.payments.card.reservations), and a surplus the provider still reports goes back to the card
(card/surplus.py), never to the person's other items.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.errors import NotFound, ValidationError
from core.ledger.balances import claim_balances
from core.ledger.models import Claim, Payment, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.card import reservations, surplus
from core.payments.card.attempts import (
    NEEDS_CLERK,
    AttemptStatus,
    PaymentAttempt,
    ProviderEvent,
    record_first_delivery,
)
from core.payments.card.provider import Intent, PaymentProvider, ProviderError, cancel_unless_done
from core.payments.sepa.debit_outlook import refuse_collected
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

__all__ = ["NEEDS_CLERK", "AttemptStatus", "PaymentAttempt", "ProviderEvent"]  # their old home


def payable_claims(
    session: Session,
    municipality_id: int,
    *,
    person_id: int | None = None,
    kassenzeichen: str | None = None,
    claim_ids: list[int] | None = None,
) -> list[tuple[Claim, int]]:
    """Open, not cancelled claims (with their open amount) of a person or a Kassenzeichen."""
    return with_open_amounts(
        session,
        chosen_claims(
            session,
            municipality_id,
            person_id=person_id,
            kassenzeichen=kassenzeichen,
            claim_ids=claim_ids,
        ),
    )


def with_open_amounts(session: Session, claims: list[Claim]) -> list[tuple[Claim, int]]:
    balances = claim_balances(session, claims)
    return [(c, balances[c.id].open_cents) for c in claims if balances[c.id].open_cents > 0]


def chosen_claims(
    session: Session,
    municipality_id: int,
    *,
    person_id: int | None = None,
    kassenzeichen: str | None = None,
    claim_ids: list[int] | None = None,
) -> list[Claim]:
    """Not cancelled claims of a person or a Kassenzeichen, open or not."""
    stmt = select(Claim).where(
        Claim.municipality_id == municipality_id, Claim.cancelled_by_entry_id.is_(None)
    )
    if person_id is not None:
        stmt = stmt.where(Claim.person_id == person_id)
    if kassenzeichen is not None:
        stmt = stmt.where(Claim.kassenzeichen == kassenzeichen)
    if claim_ids is not None:
        stmt = stmt.where(Claim.id.in_(claim_ids))
    return list(session.scalars(stmt.order_by(Claim.due_date, Claim.id)))


def start(
    session: Session,
    provider: PaymentProvider,
    *,
    municipality: Municipality,
    person_id: int | None,
    claim_ids: list[int],
    origin: str,
    actor: str,
    kassenzeichen: str | None = None,
    hold: timedelta = reservations.DEFAULT_HOLD,
) -> PaymentAttempt:
    """Create an attempt for the open amount of the chosen claims, reserved for ``hold``, and
    its provider payment. Raises ``AttemptInProgress`` while another attempt holds a claim,
    ``CollectedByDebit`` for a claim a direct debit collects (core.payments.sepa.debit_outlook).

    ``person_id`` limits the claims to the logged-in person; from a notice link the claims are
    limited to the link's Kassenzeichen instead. The provider is called before the caller
    commits: if that commit fails, the provider payment stays unused and the clean-up job
    cancels it.
    """
    if not claim_ids:
        raise ValidationError("Bitte wählen Sie mindestens einen offenen Betrag aus.")
    now = clock.now()
    # Lock first, then read what is open and who holds it: all inside this transaction.
    reservations.lock_claims(session, municipality.id, claim_ids)
    _end_expired_holds(session, provider, claim_ids, now=now)
    chosen = chosen_claims(
        session,
        municipality.id,
        person_id=person_id,
        kassenzeichen=kassenzeichen,
        claim_ids=claim_ids,
    )
    # An item a mandate collects (announced, or with the bank) is never also charged by card.
    refuse_collected(session, chosen, as_of=clock.today())
    items = with_open_amounts(session, chosen)
    if {c.id for c, _ in items} != set(claim_ids):
        raise ValidationError("Mindestens einer der gewählten Beträge ist nicht mehr offen.")
    payers = {c.person_id for c, _ in items}
    if len(payers) != 1:
        raise ValidationError("Bitte bezahlen Sie die Beträge einzeln.")
    amount = sum(open_ for _, open_ in items)
    attempt = PaymentAttempt(
        municipality_id=municipality.id,
        person_id=payers.pop(),
        origin=origin,
        claim_ids=sorted(claim_ids),
        amount_cents=amount,
        currency="EUR",
        provider=provider.name,
        status=AttemptStatus.OPEN,
        created_at=now,
    )
    session.add(attempt)
    session.flush()
    reservations.reserve(
        session,
        municipality_id=municipality.id,
        attempt_id=attempt.id,
        items=items,
        now=now,
        hold=hold,
    )
    references = sorted({c.kassenzeichen for c, _ in items})
    intent = provider.create_intent(
        amount_cents=amount,
        currency="EUR",
        idempotency_key=f"openkasse-attempt-{attempt.id}",
        description=f"{municipality.cash_office_name}, Kassenzeichen {', '.join(references)}",
        metadata={"attempt": str(attempt.id), "municipality": municipality.slug},
    )
    attempt.provider_ref, attempt.client_secret = intent.ref, intent.client_secret
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="payment_attempt.started",
        obj=attempt,
        municipality_id=municipality.id,
        after={"amount_cents": amount, "claims": attempt.claim_ids, "origin": origin},
    )
    return attempt


def _end_expired_holds(
    session: Session, provider: PaymentProvider, claim_ids: list[int], *, now: datetime
) -> None:
    """Refuse while another attempt holds one of the claims; one whose hold has expired is
    cancelled at the provider first (or booked, if it succeeded after all)."""
    for held in reservations.active(session, claim_ids):
        if held.expires_at > now:
            raise reservations.AttemptInProgress(held.attempt_id, held.expires_at)
        other = session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.id == held.attempt_id)
            .with_for_update(skip_locked=True)  # being booked right now: do not wait for it
        ).first()
        if other is None:
            raise reservations.AttemptInProgress(held.attempt_id, held.expires_at)
        close_attempt(session, provider, other, actor="job:expiry", now=now, as_of=clock.today())


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


def renew_intent(
    session: Session, provider: PaymentProvider, attempt: PaymentAttempt, *, actor: str
) -> None:
    """After a declined card: a fresh provider payment for the same attempt (the declined one
    cannot be retried everywhere), so the payer can try another card on the same page."""
    old = attempt.provider_ref
    if old:
        # a declined payment that cannot be cancelled can never succeed either
        with contextlib.suppress(ProviderError):
            provider.cancel_intent(old)
    intent = provider.create_intent(
        amount_cents=attempt.amount_cents,
        currency=attempt.currency,
        idempotency_key=f"openkasse-attempt-{attempt.id}-after-{old}",
        description=f"Zahlungsvorgang {attempt.id}",
        metadata={
            "attempt": str(attempt.id),
            "municipality": session.get_one(Municipality, attempt.municipality_id).slug,
        },
    )
    attempt.provider_ref, attempt.client_secret = intent.ref, intent.client_secret
    audit.record(
        session,
        actor=actor,
        action="payment_attempt.renewed",
        obj=attempt,
        municipality_id=attempt.municipality_id,
        before={"provider_ref": old},
        after={"provider_ref": intent.ref},
    )
    session.flush()


def get_attempt(
    session: Session, municipality_id: int, attempt_id: int, *, lock: bool = False
) -> PaymentAttempt:
    stmt = select(PaymentAttempt).where(
        PaymentAttempt.id == attempt_id, PaymentAttempt.municipality_id == municipality_id
    )
    attempt = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if attempt is None:
        raise NotFound("Diese Zahlung wurde nicht gefunden.")
    return attempt


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
