"""The tax objects of property and trade tax and the basis notices the tax office sends for them.

A tax object (Steuergegenstand) is a plot of land (Grundstück, property tax) or a business
(Betrieb, trade tax) of one person of one municipality, known by the tax office's reference: the
Aktenzeichen of the plot, the Steuernummer of the business. Its basis notices (Messbescheide,
Zerlegungsbescheide) are kept append-only: a change is a new row, a cancellation is a new row
that ends the validity from its year (core.levies.basis_notices.queries)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


class TaxKind(enum.StrEnum):
    PROPERTY_TAX = "property_tax"  # Grundsteuer: the object is a Grundstück
    TRADE_TAX = "trade_tax"  # Gewerbesteuer: the object is a Betrieb


class PropertyClass(enum.StrEnum):
    A = "A"  # land- und forstwirtschaftliches Vermögen (Grundsteuer A)
    B = "B"  # Grundstücke (Grundsteuer B)


class LandUse(enum.StrEnum):
    """Where the Land lets the municipality set separate rates (e.g. § 1 BerlGrStG, NRW's
    differentiated rates from 2025): residential or non-residential land."""

    RESIDENTIAL = "residential"
    NON_RESIDENTIAL = "non_residential"


class NoticeKind(enum.StrEnum):
    NEW = "new"  # erstmaliger Bescheid (Hauptveranlagung, Nachveranlagung)
    CHANGE = "change"  # Änderung (Neuveranlagung, Berichtigung)
    CANCELLATION = "cancellation"  # Aufhebung: ends the validity from its year
    ADVANCE_PAYMENT = "advance_payment"  # Messbetrag for the advance payments (§ 19 (3) GewStG)


class NoticeDocument(enum.StrEnum):
    MEASUREMENT = "measurement"  # Messbescheid
    APPORTIONMENT = "apportionment"  # Zerlegungsbescheid: this municipality's share


class PendingState(enum.StrEnum):
    OPEN = "open"
    APPLIED = "applied"


TAX_LABELS = {TaxKind.PROPERTY_TAX: "Grundsteuer", TaxKind.TRADE_TAX: "Gewerbesteuer"}
KIND_LABELS = {
    NoticeKind.NEW: "Neu",
    NoticeKind.CHANGE: "Änderung",
    NoticeKind.CANCELLATION: "Aufhebung",
    NoticeKind.ADVANCE_PAYMENT: "Vorauszahlung",
}


class TaxObject(Base):
    __tablename__ = "tax_object"
    __table_args__ = (
        UniqueConstraint("municipality_id", "tax", "reference"),
        CheckConstraint(
            "(tax = 'property_tax' AND property_class IS NOT NULL) OR "
            "(tax = 'trade_tax' AND property_class IS NULL AND land_use IS NULL)",
            name="fields_for_tax",
        ),
        Index("ix_tax_object_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    tax: Mapped[TaxKind] = mapped_column(enum_column(TaxKind, "tax_object_tax", 20))
    # Aktenzeichen of the plot (property tax) or Steuernummer of the business (trade tax)
    reference: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(140))  # the business's or owner's name
    street: Mapped[str | None] = mapped_column(String(120))
    house_number: Mapped[str | None] = mapped_column(String(12))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(80))
    property_class: Mapped[PropertyClass | None] = mapped_column(
        enum_column(PropertyClass, "tax_object_property_class", 1)
    )
    land_use: Mapped[LandUse | None] = mapped_column(
        enum_column(LandUse, "tax_object_land_use", 20)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    @property
    def location(self) -> str:
        street = " ".join(p for p in (self.street, self.house_number) if p)
        town = " ".join(p for p in (self.postal_code, self.city) if p)
        return ", ".join(p for p in (street, town) if p)


class BasisNoticeImport(Base):
    """One imported file; the same file (its SHA-256) is never imported twice."""

    __tablename__ = "basis_notice_import"
    __table_args__ = (UniqueConstraint("municipality_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    reader: Mapped[str] = mapped_column(String(40))  # which BasisNoticeReader read it
    records: Mapped[int]
    applied: Mapped[int]
    queued: Mapped[int]
    known: Mapped[int]  # records already imported by an earlier file (skipped)
    imported_by: Mapped[str] = mapped_column(String(60))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class BasisNotice(Base):
    """One basis notice, never changed once written."""

    __tablename__ = "basis_notice"
    __table_args__ = (
        UniqueConstraint("municipality_id", "record_key"),
        CheckConstraint("messbetrag_cents IS NULL OR messbetrag_cents >= 0", name="messbetrag"),
        CheckConstraint(
            "(share_numerator IS NULL AND share_denominator IS NULL) OR "
            "(share_numerator >= 0 AND share_denominator > 0 "
            "AND share_numerator <= share_denominator)",
            name="share_fraction",
        ),
        CheckConstraint("share_cents IS NULL OR share_cents >= 0", name="share_cents"),
        CheckConstraint("year_to IS NULL OR year_to >= year_from", name="years"),
        CheckConstraint(
            "kind = 'cancellation' OR messbetrag_cents IS NOT NULL", name="messbetrag_given"
        ),
        Index("ix_basis_notice_object", "tax_object_id", "year_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    tax_object_id: Mapped[int] = mapped_column(ForeignKey("tax_object.id", ondelete="RESTRICT"))
    import_id: Mapped[int] = mapped_column(
        ForeignKey("basis_notice_import.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind, "basis_notice_kind", 20))
    document: Mapped[NoticeDocument] = mapped_column(
        enum_column(NoticeDocument, "basis_notice_document", 20)
    )
    year_from: Mapped[int]
    year_to: Mapped[int | None]  # a trade-tax Messbescheid is for one Erhebungszeitraum
    messbetrag_cents: Mapped[int | None]  # the whole Messbetrag (None: a cancellation)
    # this municipality's share (Zerlegungsanteil): a fraction, or an amount in cents; neither: all
    share_numerator: Mapped[int | None]
    share_denominator: Mapped[int | None]
    share_cents: Mapped[int | None]
    notice_date: Mapped[date]
    record_key: Mapped[str] = mapped_column(String(64))  # the record's key (imports.record_key)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the record's content
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class PendingNotice(Base):
    """A record whose person the import could not tell: waits for a clerk to assign one."""

    __tablename__ = "basis_notice_pending"
    __table_args__ = (
        UniqueConstraint("municipality_id", "record_key"),
        Index("ix_basis_notice_pending_queue", "municipality_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    import_id: Mapped[int] = mapped_column(
        ForeignKey("basis_notice_import.id", ondelete="RESTRICT"), index=True
    )
    tax: Mapped[TaxKind] = mapped_column(enum_column(TaxKind, "basis_notice_pending_tax", 20))
    reference: Mapped[str] = mapped_column(String(40))
    line: Mapped[int]
    record: Mapped[dict[str, Any]] = mapped_column(JSON)  # NoticeRecord.as_data()
    record_key: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[PendingState] = mapped_column(
        enum_column(PendingState, "basis_notice_pending_state", 10), default=PendingState.OPEN
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("basis_notice.id", ondelete="RESTRICT")
    )
    resolved_by: Mapped[str | None] = mapped_column(String(60))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
