"""The bank tables: imported statements (and payment status reports) and their lines, with
what became of each line."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.money import format_euro


class LineStatus(enum.StrEnum):
    BOOKED = "booked"  # a transfer booked to a person automatically
    CLEARED = "cleared"  # the bank's credit for one of our direct debits
    RETURNED = "returned"  # a return processed
    QUEUED = "queued"  # waits for a clerk (parked in suspense)
    ASSIGNED = "assigned"  # a clerk assigned it to a person
    CLOSED = "closed"  # a clerk closed it with a note (e.g. bank charges, sent back)


LINE_STATUS_LABELS = {
    LineStatus.BOOKED: "automatisch gebucht",
    LineStatus.CLEARED: "Lastschrift gutgeschrieben",
    LineStatus.RETURNED: "Rücklastschrift verarbeitet",
    LineStatus.QUEUED: "zu klären",
    LineStatus.ASSIGNED: "von Hand zugeordnet",
    LineStatus.CLOSED: "erledigt",
}


class StatementImport(Base):
    __tablename__ = "bank_statement_import"
    __table_args__ = (
        UniqueConstraint("municipality_id", "iban", "statement_id"),
        Index("ix_bank_statement_import_sha256", "municipality_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # e.g. camt.053.001.08
    message_id: Mapped[str] = mapped_column(String(35))
    statement_id: Mapped[str] = mapped_column(String(35))
    iban: Mapped[str] = mapped_column(String(34))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    imported_by: Mapped[str] = mapped_column(String(60))


class BankLine(Base):
    """One transaction of an imported statement and what became of it."""

    __tablename__ = "bank_line"
    __table_args__ = (
        UniqueConstraint("municipality_id", "external_ref"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_bank_line_queue", "municipality_id", "status"),
        Index("ix_bank_line_import", "import_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    import_id: Mapped[int] = mapped_column(
        ForeignKey("bank_statement_import.id", ondelete="RESTRICT")
    )
    entry_index: Mapped[int]
    external_ref: Mapped[str] = mapped_column(String(100))  # the bank's reference (idempotency)
    amount_cents: Mapped[int]
    credit: Mapped[bool]
    booking_date: Mapped[date]
    counterparty_name: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str] = mapped_column(String(500), default="")
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    return_reason: Mapped[str | None] = mapped_column(String(4))
    # A return as the bank states it (core.payments.bank.returns): the original collection and the
    # bank's charges included in ``amount_cents``; None where the bank states nothing.
    original_amount_cents: Mapped[int | None]
    charges_cents: Mapped[int | None]
    status: Mapped[LineStatus] = mapped_column(enum_column(LineStatus, "bank_line_status", 20))
    method: Mapped[str | None] = mapped_column(String(20))  # how it was matched
    note: Mapped[str | None] = mapped_column(String(500))  # why queued / the clerk's note
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id", ondelete="RESTRICT"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("sepa_item.id", ondelete="RESTRICT"))
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    resolved_by: Mapped[str | None] = mapped_column(String(60))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def status_label(self) -> str:
        return LINE_STATUS_LABELS[self.status]

    @property
    def amount_text(self) -> str:
        """The amount for clerks, a return's original amount and charges beside it."""
        return breakdown(self.amount_cents, self.original_amount_cents, self.charges_cents)


def breakdown(debited_cents: int, original_cents: int | None, charges_cents: int | None) -> str:
    """``36,00 € (Lastschrift 33,00 € + Bankentgelt 3,00 €)`` for clerks; the bare amount when
    the bank states nothing else."""
    parts = []
    if original_cents is not None:
        parts.append(f"Originalbetrag {format_euro(original_cents)}")
    if charges_cents:
        parts.append(f"Bankentgelt {format_euro(charges_cents)}")
    shown = format_euro(debited_cents)
    return f"{shown} ({' + '.join(parts)})" if parts else shown
