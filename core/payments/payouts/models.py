"""The payout tables: the IBAN a person gave for refunds, payout runs and their items.

An item is one person in one run: payable (with IBAN and amount) or listed with the reason it
is not paid (no IBAN, blocked). It is booked at most once: ``entry_id`` is set in the same
transaction as the journal entry, and (run, person) is unique."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.jobs.four_eyes import FourEyesColumns
from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.payments.sepa.identifiers import masked_iban


class PayoutAccount(Base):
    """Erstattungskonto: the account a person (or a clerk for them) named for payouts. The
    newest row counts; older ones are kept as history."""

    __tablename__ = "payout_account"
    __table_args__ = (
        CheckConstraint("length(iban) BETWEEN 15 AND 34", name="iban_length"),
        Index("ix_payout_account_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    account_holder: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(60))

    @property
    def masked_iban(self) -> str:
        return masked_iban(self.iban)


class PayoutRunState(enum.StrEnum):
    PREVIEW = "preview"  # prepared, waits for a second person (Vier-Augen-Prinzip)
    EXECUTED = "executed"  # approved and booked; the file is there
    DISCARDED = "discarded"


RUN_STATE_LABELS = {
    PayoutRunState.PREVIEW: "wartet auf Freigabe",
    PayoutRunState.EXECUTED: "ausgeführt",
    PayoutRunState.DISCARDED: "verworfen",
}


class PayoutRun(FourEyesColumns, Base):
    __tablename__ = "payout_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    as_of: Mapped[date]
    execution_date: Mapped[date]
    state: Mapped[PayoutRunState] = mapped_column(
        enum_column(PayoutRunState, "payout_run_state", 20), default=PayoutRunState.PREVIEW
    )
    count: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[str | None] = mapped_column(String(35))
    filename: Mapped[str | None] = mapped_column(String(120))
    xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The bank's debit of the whole file (statement): 1830 cleared against the bank (1800).
    debited_on: Mapped[date | None]
    debit_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="RESTRICT")
    )

    @property
    def state_label(self) -> str:
        return RUN_STATE_LABELS[self.state]


class PayoutItem(Base):
    __tablename__ = "payout_item"
    __table_args__ = (
        UniqueConstraint("run_id", "person_id"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        Index("ix_payout_item_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    run_id: Mapped[int] = mapped_column(ForeignKey("payout_run.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]  # payable as previewed (credit not needed for open items)
    reason: Mapped[str | None] = mapped_column(String(40))  # why not paid; None: payable
    account_holder: Mapped[str | None] = mapped_column(String(70))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    paid_cents: Mapped[int] = mapped_column(default=0)  # booked at execution
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="RESTRICT"), unique=True
    )

    @property
    def masked_iban(self) -> str:
        return masked_iban(self.iban) if self.iban else ""

    @property
    def short_iban(self) -> str:
        """For the citizen's account: the country and the last four digits ("DE… ••1234")."""
        return f"{self.iban[:2]}… ••{self.iban[-4:]}" if self.iban else ""
