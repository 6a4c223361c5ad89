"""Online payment of open items: attempts, booking exactly once, provider notifications.

A citizen pays chosen open items from the account, or the items of a Kassenzeichen from the QR
code on a paper notice. Each try is a ``PaymentAttempt`` bound to one provider payment; it is
booked when the provider says it succeeded — by the browser returning, by a webhook, or by the
clean-up job, whichever comes first — and only once: the attempt row is locked, and the ledger's
payment is unique per provider reference (``core.ledger.service.record_payment``).
"""

from __future__ import annotations

import contextlib
import enum
from datetime import date, datetime, timedelta

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, clock
from core.db import Base, UTCDateTime
from core.errors import NotFound, ValidationError
from core.ledger import service as ledger
from core.ledger.models import Claim, Payment, PaymentChannel
from core.payments.provider import Intent, PaymentProvider, ProviderError
from core.persons import Person
from core.tenancy import Municipality


class AttemptStatus(enum.StrEnum):
    OPEN = "open"
    SUCCEEDED = "succeeded"
    ABANDONED = "abandoned"  # never completed; cancelled at the provider by the clean-up job


class PaymentAttempt(Base):
    __tablename__ = "payment_attempt"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        UniqueConstraint("provider", "provider_ref"),
        Index("ix_payment_attempt_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    origin: Mapped[str] = mapped_column(String(20))  # "account" or "notice_link"
    claim_ids: Mapped[list[int]] = mapped_column(JSON)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    client_secret: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[AttemptStatus] = mapped_column(
        Enum(
            AttemptStatus,
            native_enum=False,
            length=12,
            create_constraint=True,
            name="attempt_status",
            values_callable=lambda e: [m.value for m in e],
        )
    )
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProviderEvent(Base):
    """Every provider notification received, once (its id is unique): the idempotency log.
    ``outcome`` says what was done; "unknown" and "mismatch" wait for a clerk."""

    __tablename__ = "provider_event"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_provider_event_outcome", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(300), default="")
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_attempt.id", ondelete="RESTRICT")
    )
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipality.id", ondelete="RESTRICT")
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


NEEDS_CLERK = ("unknown", "mismatch")


def payable_claims(
    session: Session,
    municipality_id: int,
    *,
    person_id: int | None = None,
    kassenzeichen: str | None = None,
    claim_ids: list[int] | None = None,
) -> list[tuple[Claim, int]]:
    """Open, not cancelled claims (with their open amount) of a person or a Kassenzeichen."""
    stmt = select(Claim).where(
        Claim.municipality_id == municipality_id, Claim.cancelled_by_entry_id.is_(None)
    )
    if person_id is not None:
        stmt = stmt.where(Claim.person_id == person_id)
    if kassenzeichen is not None:
        stmt = stmt.where(Claim.kassenzeichen == kassenzeichen)
    if claim_ids is not None:
        stmt = stmt.where(Claim.id.in_(claim_ids))
    claims = list(session.scalars(stmt.order_by(Claim.due_date, Claim.id)))
    balances = ledger.claim_balances(session, claims)
    return [(c, balances[c.id].open_cents) for c in claims if balances[c.id].open_cents > 0]


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
) -> PaymentAttempt:
    """Create an attempt for the open amount of the chosen claims and its provider payment.

    ``person_id`` limits the claims to the logged-in person; from a notice link the claims are
    limited to the link's Kassenzeichen instead. The provider is called before the caller
    commits: if that commit fails, the provider payment stays unused and the clean-up job
    cancels it.
    """
    if not claim_ids:
        raise ValidationError("Bitte wählen Sie mindestens einen offenen Betrag aus.")
    items = payable_claims(
        session,
        municipality.id,
        person_id=person_id,
        kassenzeichen=kassenzeichen,
        claim_ids=claim_ids,
    )
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
    )
    session.add(attempt)
    session.flush()
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
    session: Session, attempt: PaymentAttempt, intent: Intent, *, actor: str, as_of: date
) -> Payment:
    """Book a succeeded provider payment exactly once and allocate it to the attempt's claims
    (the payer's determination, § 225 (1) AO); anything beyond them becomes credit."""
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
    person = session.get_one(Person, attempt.person_id)
    payment = ledger.record_payment(
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
    )
    attempt.status, attempt.payment_id, attempt.finished_at = (
        AttemptStatus.SUCCEEDED,
        payment.id,
        clock.now(),
    )
    audit.record(
        session,
        actor=actor,
        action="payment_attempt.succeeded",
        obj=attempt,
        municipality_id=attempt.municipality_id,
        after={"payment_id": payment.id},
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
        settle(session, attempt, intent, actor=actor, as_of=as_of)
    return attempt


def handle_event(
    session: Session,
    provider: PaymentProvider,
    payload: bytes,
    signature_header: str,
    *,
    as_of: date,
) -> str:
    """Verify and act on a provider notification, once per event id. Returns the outcome.

    Raises ``InvalidSignature`` for anything not signed by the provider: nothing is stored.
    """
    event = provider.parse_event(payload, signature_header)
    seen = session.scalars(
        select(ProviderEvent).where(
            ProviderEvent.provider == provider.name, ProviderEvent.event_id == event.event_id
        )
    ).first()
    if seen is not None:
        return "duplicate"
    record = ProviderEvent(
        provider=provider.name,
        event_id=event.event_id,
        type=event.type,
        outcome="ignored",
        provider_ref=event.intent.ref if event.intent else None,
    )
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
                settle(
                    session, attempt, event.intent, actor=f"provider:{provider.name}", as_of=as_of
                )
                record.outcome = "booked"
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
            intent = provider.retrieve_intent(attempt.provider_ref or "")
            if intent.succeeded:
                settle(session, attempt, intent, actor="job:cleanup", as_of=as_of)
                counts["booked"] += 1
                continue
            if intent.status not in ("canceled", "succeeded"):
                provider.cancel_intent(intent.ref)
        except ProviderError:
            counts["errors"] += 1
            continue
        attempt.status, attempt.finished_at = AttemptStatus.ABANDONED, now
        audit.record(
            session,
            actor="job:cleanup",
            action="payment_attempt.abandoned",
            obj=attempt,
            municipality_id=attempt.municipality_id,
        )
        counts["abandoned"] += 1
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
