"""A card payment larger than what is still open on its claims goes back to the card.

Reservations (core.payments.reservations) keep a second card charge for the same claim from
starting; what they cannot prevent (a bank transfer booked while the card was being charged,
an attempt from before reservations existed) ends here: the payment is booked, only the open
amount of the attempt's own claims is allocated, and the rest is refunded automatically through
the provider, with a ``Refund`` record and the reason for clerks.

Why not keep the surplus: a card payer designated these claims (§ 225 (1) AO, the payer's
determination); setting the rest off against other items needs a declaration of set-off
(§ 226 AO) or the payer's own determination, and the payer never owed the surplus. It is
returned the way it came, without waiting for a second signature: it is not a clerk's decision
and it can only go back to the card it came from.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.money import format_euro
from core.ledger.models import Payment, Posting
from core.ledger.refunds import book_refund
from core.payments.card.provider import PaymentProvider
from core.payments.card.refunds import Refund, RefundStatus

AUTOMATIC = "system:ueberzahlung"  # who "requested" an automatic refund, in lists and audit


def allocated_to_claims(session: Session, payment: Payment) -> int:
    """What of the payment settled claims when it was booked (the rest became credit)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Posting.amount_cents), 0)).where(
                Posting.payment_id == payment.id, Posting.claim_id.is_not(None)
            )
        )
        or 0
    )


def refund_surplus(
    session: Session,
    provider: PaymentProvider,
    payment: Payment,
    *,
    attempt_id: int,
    actor: str,
    as_of: date,
) -> Refund | None:
    """Refund what the payment brought beyond its claims' open amounts; None if nothing.

    Idempotent: a payment refunded this way before is not refunded again, and the provider
    call carries a key bound to the provider's payment, so a retry after a failed commit does
    not pay out twice.
    """
    surplus = payment.amount_cents - allocated_to_claims(session, payment)
    if surplus <= 0 or already_refunded(session, payment):
        return None
    reason = (
        f"Überzahlung: Zahlungsvorgang {attempt_id} brachte {format_euro(payment.amount_cents)}, "
        f"offen waren nur noch {format_euro(payment.amount_cents - surplus)}; "
        f"{format_euro(surplus)} automatisch auf die Karte zurück."
    )
    refund = Refund(
        municipality_id=payment.municipality_id,
        payment_id=payment.id,
        amount_cents=surplus,
        reason=reason[:300],
        status=RefundStatus.EXECUTED,
        requested_by=AUTOMATIC,
        decided_by=AUTOMATIC,
        decided_at=clock.now(),
    )
    session.add(refund)
    session.flush()
    book_refund(session, payment, surplus, as_of=as_of, actor=actor, reason=reason)
    refund.provider_ref = provider.refund(
        ref=payment.external_ref or "",
        amount_cents=surplus,
        idempotency_key=f"openkasse-surplus-{payment.external_ref}",
    )
    audit.record(
        session,
        actor=actor,
        action="refund.surplus_returned",
        obj=refund,
        municipality_id=refund.municipality_id,
        after={
            "amount_cents": surplus,
            "payment_id": payment.id,
            "attempt_id": attempt_id,
            "provider_ref": refund.provider_ref,
            "reason": reason,
        },
    )
    session.flush()
    return refund


def returned_cents(session: Session, payment: Payment) -> int:
    """What of the payment went back to the card automatically (for the receipt)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                Refund.payment_id == payment.id, Refund.requested_by == AUTOMATIC
            )
        )
        or 0
    )


def already_refunded(session: Session, payment: Payment) -> bool:
    return (
        session.scalar(
            select(func.count(Refund.id)).where(
                Refund.payment_id == payment.id, Refund.requested_by == AUTOMATIC
            )
        )
        or 0
    ) > 0


def surplus_refunds(
    session: Session, municipality_id: int, *, person_id: int | None = None, limit: int = 50
) -> list[Refund]:
    """The automatic refunds of over-payments (of one person), newest first: for clerks."""
    stmt = select(Refund).where(
        Refund.municipality_id == municipality_id, Refund.requested_by == AUTOMATIC
    )
    if person_id is not None:
        stmt = stmt.join(Payment, Payment.id == Refund.payment_id).where(
            Payment.person_id == person_id
        )
    return list(session.scalars(stmt.order_by(Refund.id.desc()).limit(limit)))
