"""The tables of online payment: attempts (one per try to pay chosen items) and the provider's
notifications (the idempotency log). The behaviour lives in core.payments.card.checkout."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


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
    # "account", "notice_link", "instalment" or "dunning_letter"
    origin: Mapped[str] = mapped_column(String(20))
    claim_ids: Mapped[list[int]] = mapped_column(JSON)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    client_secret: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[AttemptStatus] = mapped_column(enum_column(AttemptStatus, "attempt_status", 12))
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


def record_first_delivery(session: Session, record: ProviderEvent) -> bool:
    """Store a notification's row *before* acting on it; False if its id is already taken.

    The unique (provider, event_id) decides which delivery acts, not a look-up: a second
    delivery of the same event at the same moment waits for the first one's transaction
    (PostgreSQL: for its uncommitted index entry; SQLite: for the write lock), then finds
    the id taken and is a duplicate — answered "already processed", never booked a second
    time and never a 500. If the first delivery rolls back (e.g. the provider could not be
    reached), the waiting one's insert succeeds and it acts instead."""
    seen = session.scalar(
        select(ProviderEvent.id).where(
            ProviderEvent.provider == record.provider, ProviderEvent.event_id == record.event_id
        )
    )
    if seen is not None:
        return False
    try:
        with session.begin_nested():  # only this insert is undone if the id is taken
            session.add(record)
    except IntegrityError:
        return False
    return True
