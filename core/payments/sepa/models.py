"""The SEPA tables: mandates, pre-notifications, direct-debit runs and their items.

Mandate rules (DOMAIN.md "SEPA direct debit"; EPC SEPA Core Direct Debit Rulebook, DK-Abkommen):
a change of account is a new mandate with a new reference, the old one kept as "replaced"; a
revocation ends it; history is never deleted. A mandate not used for 36 months lapses (rulebook
4.5: "expired")."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.months import add_months
from core.payments.sepa.identifiers import masked_iban

if TYPE_CHECKING:
    from core.payments.sepa.rules import SepaRules


class MandateStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # after a return whose reason says so; a clerk may reactivate
    REPLACED = "replaced"  # a newer mandate (other account) took over
    REVOKED = "revoked"  # by the debtor
    EXPIRED = "expired"  # 36 months without a collection


STATUS_LABELS = {
    MandateStatus.ACTIVE: "aktiv",
    MandateStatus.SUSPENDED: "ausgesetzt",
    MandateStatus.REPLACED: "ersetzt",
    MandateStatus.REVOKED: "widerrufen",
    MandateStatus.EXPIRED: "erloschen",
}


class Mandate(Base):
    __tablename__ = "sepa_mandate"
    __table_args__ = (
        UniqueConstraint("municipality_id", "reference_key"),
        CheckConstraint("length(iban) BETWEEN 15 AND 34", name="iban_length"),
        Index("ix_sepa_mandate_person", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    reference: Mapped[str] = mapped_column(String(35))
    reference_key: Mapped[str] = mapped_column(String(35))  # upper case: unique ignoring case
    # None: every claim of the person; else only the claims of this tax account (levy).
    tax_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("tax_account.id", ondelete="RESTRICT")
    )
    account_holder: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    signed_on: Mapped[date]
    consent_text: Mapped[str] = mapped_column(String(2000))
    status: Mapped[MandateStatus] = mapped_column(
        enum_column(MandateStatus, "sepa_mandate_status", 20),
        default=MandateStatus.ACTIVE,
    )
    status_reason: Mapped[str | None] = mapped_column(String(200))
    ended_on: Mapped[date | None]
    replaced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("sepa_mandate.id", ondelete="RESTRICT")
    )
    last_collected_on: Mapped[date | None]
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(60))

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def masked_iban(self) -> str:
        return masked_iban(self.iban)

    def lapses_on(self, rules: SepaRules) -> date:
        """The first day on which the mandate may no longer be used."""
        return add_months(self.last_collected_on or self.signed_on, rules.mandate_lapse_months)


class PreNotification(Base):
    """Vorabankündigung: date and amount of one item told to the debtor."""

    __tablename__ = "sepa_prenotification"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_sepa_prenotification_claim", "claim_id"),
        Index("ix_sepa_prenotification_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    mandate_id: Mapped[int] = mapped_column(ForeignKey("sepa_mandate.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    collection_date: Mapped[date]  # the day announced
    sent_on: Mapped[date]
    by_email: Mapped[bool] = mapped_column(default=False)
    used_by_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("sepa_item.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class DirectDebitRun(Base):
    __tablename__ = "sepa_run"
    __table_args__ = (UniqueConstraint("municipality_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    collection_date: Mapped[date]
    message_id: Mapped[str] = mapped_column(String(35))  # GrpHdr/MsgId of the file
    payment_info_id: Mapped[str] = mapped_column(String(35))  # PmtInf/PmtInfId (the batch)
    count: Mapped[int]
    total_cents: Mapped[int]
    filename: Mapped[str] = mapped_column(String(120))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(60))


class ItemStatus(enum.StrEnum):
    IN_COLLECTION = "in_collection"  # handed to the bank, booked as paid into clearing
    CREDITED = "credited"  # the bank's statement shows the money
    RETURNED = "returned"  # R-transaction after settlement: payment reversed, claim open again
    REJECTED = "rejected"  # refused by the bank before settlement (pain.002): the same


ITEM_STATUS_LABELS = {
    ItemStatus.IN_COLLECTION: "im Einzug",
    ItemStatus.CREDITED: "gutgeschrieben",
    ItemStatus.RETURNED: "zurückgegeben",
    ItemStatus.REJECTED: "abgewiesen",
}


class DirectDebitItem(Base):
    __tablename__ = "sepa_item"
    __table_args__ = (
        UniqueConstraint("municipality_id", "end_to_end_id"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_sepa_item_run", "run_id"),
        Index("ix_sepa_item_claim", "claim_id"),
        # A claim is never in two collections at once; a credited or returned one may be
        # collected again (the rest of an instalment plan's claim: core.dunning.instalment_debits).
        Index(
            "uq_sepa_item_claim_collecting",
            "claim_id",
            unique=True,
            sqlite_where=text("status = 'in_collection'"),
            postgresql_where=text("status = 'in_collection'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    run_id: Mapped[int] = mapped_column(ForeignKey("sepa_run.id", ondelete="RESTRICT"))
    mandate_id: Mapped[int] = mapped_column(ForeignKey("sepa_mandate.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    amount_cents: Mapped[int]
    end_to_end_id: Mapped[str] = mapped_column(String(35))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id", ondelete="RESTRICT"))
    status: Mapped[ItemStatus] = mapped_column(
        enum_column(ItemStatus, "sepa_item_status", 20),
        default=ItemStatus.IN_COLLECTION,
    )
    credited_on: Mapped[date | None]
    returned_on: Mapped[date | None]
    return_reason: Mapped[str | None] = mapped_column(String(4))

    @property
    def status_label(self) -> str:
        return ITEM_STATUS_LABELS[self.status]
