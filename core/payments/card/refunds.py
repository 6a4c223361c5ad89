"""Refunds of card payments, initiated in the back office, with four-eyes approval once the
refunds of a payment, or of a clerk on one day, add up to more than the municipality's limits
(core.payments.card.refund_limits; refunds still waiting count): the requesting clerk may not
approve their own refund; an approver (role) gives the second signature. The money goes back
through the provider, then the ledger books it (core.ledger.refunds)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.identity.models import Role
from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column, get_scoped
from core.kernel.errors import AccessDenied, IllegalTransition, ValidationError
from core.ledger.models import Payment, PaymentChannel
from core.ledger.refunds import book_refund, refundable_cents
from core.payments.card.provider import PaymentProvider
from core.payments.card.refund_limits import RefundSums, approval_reason, limits_on
from core.tenancy.municipalities import Municipality, serialize


class RefundStatus(enum.StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    EXECUTED = "executed"
    REJECTED = "rejected"


class Refund(Base):
    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_refund_status", "municipality_id", "status"),
        Index("ix_refund_requester_day", "municipality_id", "requested_by", "requested_on"),
        Index("ix_refund_payment", "payment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus, "refund_status", 20))
    requested_by: Mapped[str] = mapped_column(String(60))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    # The business day (as_of) whose sum per clerk it counts in; today for refunds made
    # elsewhere without one (e.g. automatic ones).
    requested_on: Mapped[date] = mapped_column(default=clock.today)
    approval_reason: Mapped[str | None] = mapped_column(String(300))  # why four eyes
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_ref: Mapped[str | None] = mapped_column(String(100))


def sums_before(
    session: Session, *, payment_id: int, municipality_id: int, actor: str, day: date
) -> RefundSums:
    """Refunds not rejected (executed or waiting) of the payment, and of the clerk that day."""
    counted = Refund.status != RefundStatus.REJECTED
    total = func.coalesce(func.sum(Refund.amount_cents), 0)
    of_payment = session.scalar(select(total).where(Refund.payment_id == payment_id, counted))
    of_clerk = session.scalar(
        select(total).where(
            Refund.municipality_id == municipality_id,
            Refund.requested_by == actor,
            Refund.requested_on == day,
            counted,
        )
    )
    return RefundSums(payment_cents=int(of_payment or 0), clerk_day_cents=int(of_clerk or 0))


def waiting_cents(session: Session, payment_id: int) -> int:
    """Refunds of the payment still waiting for approval (not yet booked)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.payment_id == payment_id, Refund.status == RefundStatus.AWAITING_APPROVAL
        )
    )
    return int(total or 0)


def available_cents(session: Session, payment: Payment) -> int:
    """What may still be requested: not yet refunded and not reserved by a waiting refund."""
    return max(refundable_cents(session, payment) - waiting_cents(session, payment.id), 0)


def request_refund(
    session: Session,
    provider: PaymentProvider,
    *,
    payment: Payment,
    amount_cents: int,
    reason: str,
    actor: str,
    as_of: date,
) -> Refund:
    if payment.channel is not PaymentChannel.CARD or not payment.external_ref:
        raise ValidationError("Online erstattet werden können nur Kartenzahlungen.")
    if not reason.strip():
        raise ValidationError("Bitte geben Sie den Grund der Erstattung an.")
    # One request at a time per municipality: two tabs must not both see a sum below the limit.
    serialize(session, payment.municipality_id, "refund")
    if not 0 < amount_cents <= available_cents(session, payment):
        raise ValidationError(
            "Der Betrag ist höher als der noch erstattbare Betrag (abzüglich der Erstattungen, "
            "die auf Freigabe warten) oder nicht positiv."
        )
    municipality = session.get_one(Municipality, payment.municipality_id)
    sums = sums_before(
        session,
        payment_id=payment.id,
        municipality_id=payment.municipality_id,
        actor=actor,
        day=as_of,
    )
    why = approval_reason(limits_on(session, municipality, as_of), sums, amount_cents)
    refund = Refund(
        municipality_id=payment.municipality_id,
        payment_id=payment.id,
        amount_cents=amount_cents,
        reason=reason.strip()[:300],
        status=RefundStatus.AWAITING_APPROVAL,
        requested_by=actor,
        requested_on=as_of,
        approval_reason=why[:300] if why else None,
    )
    session.add(refund)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="refund.requested",
        obj=refund,
        municipality_id=refund.municipality_id,
        after={
            "amount_cents": amount_cents,
            "payment_id": payment.id,
            "needs_approval": why is not None,
        },
    )
    if why is None:
        _execute(session, provider, refund, actor=actor, as_of=as_of)
    return refund


def approve(
    session: Session,
    provider: PaymentProvider,
    refund: Refund,
    *,
    actor: str,
    role: Role,
    as_of: date,
) -> None:
    """The second signature: an approver other than the requester."""
    if refund.status is not RefundStatus.AWAITING_APPROVAL:
        raise IllegalTransition("Diese Erstattung ist bereits entschieden.")
    if role not in (Role.APPROVER, Role.ADMIN):
        raise AccessDenied("Nur die Freigabe (Vier-Augen-Prinzip) darf Erstattungen freigeben.")
    if actor == refund.requested_by:
        raise AccessDenied("Die eigene Erstattung kann nicht selbst freigegeben werden.")
    _execute(session, provider, refund, actor=actor, as_of=as_of)


def reject(session: Session, refund: Refund, *, actor: str, role: Role) -> None:
    if refund.status is not RefundStatus.AWAITING_APPROVAL:
        raise IllegalTransition("Diese Erstattung ist bereits entschieden.")
    if role not in (Role.APPROVER, Role.ADMIN) and actor != refund.requested_by:
        raise AccessDenied("Nur die Freigabe oder die beantragende Person kann ablehnen.")
    refund.status, refund.decided_by, refund.decided_at = RefundStatus.REJECTED, actor, clock.now()
    audit.record(
        session,
        actor=actor,
        action="refund.rejected",
        obj=refund,
        municipality_id=refund.municipality_id,
    )
    session.flush()


def _execute(
    session: Session, provider: PaymentProvider, refund: Refund, *, actor: str, as_of: date
) -> None:
    payment = session.get_one(Payment, refund.payment_id)
    # Book first (it checks what may be refunded), then ask the provider: if the provider
    # refuses, the exception rolls the booking back with the caller's transaction.
    book_refund(
        session, payment, refund.amount_cents, as_of=as_of, actor=actor, reason=refund.reason
    )
    refund.provider_ref = provider.refund(
        ref=payment.external_ref or "",
        amount_cents=refund.amount_cents,
        idempotency_key=f"openkasse-refund-{refund.id}",
    )
    refund.status, refund.decided_by, refund.decided_at = RefundStatus.EXECUTED, actor, clock.now()
    audit.record(
        session,
        actor=actor,
        action="refund.executed",
        obj=refund,
        municipality_id=refund.municipality_id,
        after={"provider_ref": refund.provider_ref},
    )
    session.flush()


def get_refund(session: Session, municipality_id: int, refund_id: int) -> Refund:
    return get_scoped(
        session,
        Refund,
        municipality_id,
        refund_id,
        not_found="Diese Erstattung wurde nicht gefunden.",
    )


def awaiting(session: Session, municipality_id: int) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund)
            .where(
                Refund.municipality_id == municipality_id,
                Refund.status == RefundStatus.AWAITING_APPROVAL,
            )
            .order_by(Refund.id)
        )
    )
