"""Ledger tables.

Postings are transfers: each row moves ``amount_cents`` (> 0) from its credit account to its
debit account, so every posting — and therefore every journal entry — balances by construction,
and the database checks it (CHECK constraints below). Posted rows are immutable (session hook
and database triggers); corrections are reversals.

An account's balance is the sum of its postings: debits minus credits. A person has two
accounts: *receivable* (Forderungen; every posting on it names the claim it belongs to, so the
open amount of a claim is the sum of its postings) and *credit* (Guthaben, over-payments).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.ledger.kinds import ClaimKind


class AccountKind(enum.StrEnum):
    RECEIVABLE = "receivable"
    CREDIT = "credit"
    REVENUE = "revenue"
    BANK = "bank"
    CLEARING = "clearing"
    SUSPENSE = "suspense"
    EXPENSE = "expense"


class EntryKind(enum.StrEnum):
    CLAIM = "claim"  # Sollstellung
    PAYMENT = "payment"  # Zahlungseingang
    CREDIT_APPLICATION = "credit_application"  # Verrechnung eines Guthabens
    REDUCTION = "reduction"  # Sollminderung (change assessment, cancellation of a claim)
    REFUND = "refund"  # Erstattung (money paid back to the payer)
    REVERSAL = "reversal"  # Storno einer Zahlung
    CLEARING = "clearing"  # Umbuchung zwischen Bank, Verrechnungs- und Verwahrkonten


class PaymentChannel(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    DIRECT_DEBIT = "direct_debit"
    CARD = "card"
    CASH = "cash"


class LedgerAccount(Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("municipality_id", "code"),
        CheckConstraint(
            "(kind IN ('receivable', 'credit')) = (person_id IS NOT NULL)", name="person_accounts"
        ),
        Index("ix_ledger_account_person", "person_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, "account_kind", 20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))


class Claim(Base):
    """An open item (Sollstellung): what a person owes, for what, by when, under which reference."""

    __tablename__ = "claim"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("period_end IS NULL OR period_end >= period_start", name="period_range"),
        Index("ix_claim_municipality_kassenzeichen", "municipality_id", "kassenzeichen"),
        Index("ix_claim_person_due", "person_id", "due_date"),
        Index("ix_claim_person_assessment_key", "person_id", "assessment_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    kind: Mapped[ClaimKind] = mapped_column(enum_column(ClaimKind, "claim_kind"))
    description: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    amount_cents: Mapped[int]
    due_date: Mapped[date]
    kassenzeichen: Mapped[str] = mapped_column(String(20))
    # What the claim is for within its levy, e.g. "dog_tax:2026:1" (year 2026, 1st instalment):
    # a change assessment compares what is booked per key with what is owed now.
    assessment_key: Mapped[str | None] = mapped_column(String(60))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    # Set once when the claim is cancelled by reversing its booking (never unset).
    cancelled_by_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="RESTRICT")
    )


class TaxAccount(Base):
    """Steuerkonto: one per person and levy; its Kassenzeichen is printed on every notice of
    that levy and expected on every transfer for it."""

    __tablename__ = "tax_account"
    __table_args__ = (
        UniqueConstraint("person_id", "levy"),
        UniqueConstraint("municipality_id", "kassenzeichen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    levy: Mapped[ClaimKind] = mapped_column(enum_column(ClaimKind, "tax_account_levy"))
    kassenzeichen: Mapped[str] = mapped_column(String(20))


class Payment(Base):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        # Idempotency: a provider's or bank's transaction is booked once.
        UniqueConstraint("municipality_id", "channel", "external_ref"),
        Index("ix_payment_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    received_on: Mapped[date]
    channel: Mapped[PaymentChannel] = mapped_column(
        enum_column(PaymentChannel, "payment_channel", 20)
    )
    reference_text: Mapped[str] = mapped_column(String(140), default="")
    external_ref: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    reversed_by_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="RESTRICT")
    )


class JournalEntry(Base):
    __tablename__ = "journal_entry"
    __table_args__ = (Index("ix_journal_entry_person", "person_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind, "entry_kind", 20))
    value_date: Mapped[date]
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    text: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(60))
    reverses_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="RESTRICT"), unique=True
    )

    postings: Mapped[list[Posting]] = relationship(back_populates="entry", order_by="Posting.id")


class Posting(Base):
    __tablename__ = "posting"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        Index("ix_posting_debit_account", "debit_account_id"),
        Index("ix_posting_credit_account", "credit_account_id"),
        Index("ix_posting_claim", "claim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="RESTRICT"), index=True
    )
    debit_account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_account.id", ondelete="RESTRICT")
    )
    credit_account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_account.id", ondelete="RESTRICT")
    )
    amount_cents: Mapped[int]
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment.id", ondelete="RESTRICT"), index=True
    )

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")


audit.IMMUTABLE.update({JournalEntry, Posting})
