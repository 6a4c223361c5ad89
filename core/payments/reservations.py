"""Reservations of open amounts by card payment attempts: one claim, one charge in progress.

It sits beside card/ and sepa/ because both consult it: a direct-debit run skips a claim that a
card attempt holds (core.payments.sepa.runs).

When an attempt is created it reserves the open amount of every claim it covers. The database
guards this twice: the claims' rows are locked while the reservation is written (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite has a single writer), and a partial unique index allows at most
one active (not released) reservation per claim, so a second attempt for a claim already being
paid is refused instead of charging the card a second time. A reservation ends when its attempt
is booked, cancelled or abandoned; after ``expires_at`` it no longer blocks a new attempt once
the old one has been cancelled at the provider (core.payments.card.settlement.close_attempt).

Hold time: ``DEFAULT_HOLD`` (30 minutes), overridable per installation (config
``PAYMENT_RESERVATION_MINUTES``). It covers entering card data and a 3-D Secure challenge
(EMV 3-D Secure protocol 2.x: the challenge times out after at most 10 minutes) with room to
spare; 30 minutes is also Stripe's shortest expiry of a checkout session
(docs.stripe.com/api/checkout/sessions/create, ``expires_at``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, Index, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime
from core.kernel.errors import ValidationError
from core.ledger.balances import claim_balances
from core.ledger.models import Claim

DEFAULT_HOLD = timedelta(minutes=30)
BERLIN = ZoneInfo("Europe/Berlin")  # times shown to payers are German local time


class ClaimReservation(Base):
    __tablename__ = "claim_reservation"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_claim_reservation_attempt", "attempt_id"),
        # The guard itself: at most one reservation per claim that is not released.
        Index(
            "uq_claim_reservation_active",
            "claim_id",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempt.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AttemptInProgress(ValidationError):
    """A claim is already reserved by another attempt that has not ended."""

    def __init__(self, attempt_id: int, expires_at: datetime) -> None:
        super().__init__(
            "Für diesen Betrag läuft bereits eine Kartenzahlung. Damit nichts doppelt abgebucht "
            "wird, kann er erst wieder bezahlt werden, wenn diese Zahlung abgeschlossen oder "
            f"abgebrochen ist (spätestens {expires_at.astimezone(BERLIN):%d.%m.%Y um %H:%M} Uhr)."
        )
        self.attempt_id = attempt_id
        self.expires_at = expires_at


def lock_claims(session: Session, municipality_id: int, claim_ids: Collection[int]) -> None:
    """Lock the claims' rows until the transaction ends (PostgreSQL; in id order, so two
    transactions never wait for each other crosswise). SQLite has one writer at a time."""
    session.execute(
        select(Claim.id)
        .where(Claim.id.in_(sorted(claim_ids)), Claim.municipality_id == municipality_id)
        .order_by(Claim.id)
        .with_for_update()
    ).all()


def active(session: Session, claim_ids: Collection[int]) -> list[ClaimReservation]:
    """Reservations not released on any of these claims, oldest first."""
    return list(
        session.scalars(
            select(ClaimReservation)
            .where(
                ClaimReservation.claim_id.in_(list(claim_ids)),
                ClaimReservation.released_at.is_(None),
            )
            .order_by(ClaimReservation.id)
        )
    )


def lock_and_find_held(
    session: Session, municipality_id: int, claim_ids: Collection[int], chunk: int = 500
) -> set[int]:
    """Lock the claims (in id order, in chunks for long lists) and answer which of them an
    attempt holds: a reservation not released, also one past its hold time — until the
    attempt is closed at the provider, its card may still be charged."""
    ids = sorted(claim_ids)
    parts = [ids[i : i + chunk] for i in range(0, len(ids), chunk)]
    for part in parts:
        lock_claims(session, municipality_id, part)
    return {r.claim_id for part in parts for r in active(session, part)}


def reserve(
    session: Session,
    *,
    municipality_id: int,
    attempt_id: int,
    items: list[tuple[Claim, int]],
    now: datetime,
    hold: timedelta,
) -> None:
    """Reserve each claim's open amount for the attempt; refuse if another one got there first
    (the unique index decides, also where no row lock was taken)."""
    try:
        with session.begin_nested():
            session.add_all(
                ClaimReservation(
                    municipality_id=municipality_id,
                    claim_id=claim.id,
                    attempt_id=attempt_id,
                    amount_cents=open_cents,
                    created_at=now,
                    expires_at=now + hold,
                )
                for claim, open_cents in items
            )
    except IntegrityError:
        holder = active(session, [claim.id for claim, _ in items])
        if not holder:  # released in between: let the payer simply try again
            raise ValidationError(
                "Die Zahlung konnte gerade nicht vorbereitet werden. Bitte versuchen Sie es erneut."
            ) from None
        raise AttemptInProgress(holder[0].attempt_id, holder[0].expires_at) from None


def release(session: Session, attempt_id: int, *, now: datetime) -> None:
    for reservation in session.scalars(
        select(ClaimReservation).where(
            ClaimReservation.attempt_id == attempt_id, ClaimReservation.released_at.is_(None)
        )
    ):
        reservation.released_at = now
    session.flush()


def still_covers(session: Session, attempt_id: int, *, now: datetime) -> bool:
    """At confirmation, before the card is charged: the attempt still holds its reservations,
    they have not expired, and every claim is still open by at least what was reserved (a bank
    transfer or a reduction may have been booked meanwhile)."""
    held = list(
        session.scalars(
            select(ClaimReservation).where(
                ClaimReservation.attempt_id == attempt_id,
                ClaimReservation.released_at.is_(None),
            )
        )
    )
    if not held or any(r.expires_at <= now for r in held):
        return False
    claims = list(session.scalars(select(Claim).where(Claim.id.in_([r.claim_id for r in held]))))
    balances = claim_balances(session, claims)
    return all(
        r.claim_id in balances and balances[r.claim_id].open_cents >= r.amount_cents for r in held
    )


def holds_until(session: Session, attempt_id: int) -> datetime | None:
    return session.scalar(
        select(ClaimReservation.expires_at).where(
            ClaimReservation.attempt_id == attempt_id, ClaimReservation.released_at.is_(None)
        )
    )
