"""The tables of delivery: the consent register (append-only), one delivery record per notice,
the dispatch outbox (notifications and print files, with attempts and errors) and print batches.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column


class Channel(enum.StrEnum):
    POSTBOX = "postbox"  # the portal account's postbox; notified when the postbox is filled
    EMAIL = "email"  # the postbox plus an e-mail notification (§ 122a (1) AO)
    PRINT = "print"  # the print service's folder (postal delivery)


CHANNEL_LABELS = {
    Channel.POSTBOX: "Postfach im Bürgerkonto",
    Channel.EMAIL: "Benachrichtigung per E-Mail",
    Channel.PRINT: "Druckdienstleister (Post)",
}


class ConsentAction(enum.StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"


class DeliveryConsent(Base):
    """One entry of the consent register (§ 87a (1), § 122a (1) AO): given or withdrawn, when,
    how and by whom. Never changed: a withdrawal or a new address is a new entry; the latest
    entry of a person is in force."""

    __tablename__ = "delivery_consent"
    __table_args__ = (
        Index("ix_delivery_consent_person", "person_id", "recorded_at"),
        CheckConstraint("action = 'withdrawn' OR channel IS NOT NULL", name="given_names_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    action: Mapped[ConsentAction] = mapped_column(enum_column(ConsentAction, "consent_action"))
    channel: Mapped[Channel | None] = mapped_column(enum_column(Channel, "consent_channel"))
    address: Mapped[str | None] = mapped_column(String(254))  # e-mail address for EMAIL
    how: Mapped[str] = mapped_column(String(60))  # "Bürgerportal", "schriftlich (Sachbearbeitung)"
    actor: Mapped[str] = mapped_column(String(60))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Route(enum.StrEnum):
    ELECTRONIC = "electronic"
    POSTAL = "postal"


class DeliveryStatus(enum.StrEnum):
    AVAILABLE = "available"  # in the postbox, notification pending
    NOTIFIED = "notified"  # notification sent: the electronic clock runs
    AWAITING_POST = "awaiting_post"  # to be printed and posted (no consent, or fallback)
    POSTED = "posted"  # handed to the print service: the postal clock runs
    RETURNED = "returned"  # returned undeliverable: no deemed delivery


STATUS_LABELS = {
    DeliveryStatus.AVAILABLE: "bereitgestellt, Benachrichtigung ausstehend",
    DeliveryStatus.NOTIFIED: "elektronisch bekanntgegeben",
    DeliveryStatus.AWAITING_POST: "wartet auf Postversand",
    DeliveryStatus.POSTED: "per Post versandt",
    DeliveryStatus.RETURNED: "als unzustellbar zurückgekommen",
}


# Letters that are not notices of a levy but go the notices' way (§ 122, § 122a AO): archived
# documents of a person of these kinds get a delivery record of their own (``document_id``).
LETTER_KINDS = {
    "objection_decision": "Entscheidung über Ihren Widerspruch",  # core.objections.letters
}


class Delivery(Base):
    """How one notice — or one letter of :data:`LETTER_KINDS`, an archived document — reaches
    its addressee and when it counts as notified (``deemed_on``)."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("notice_id"),
        UniqueConstraint("document_id"),
        CheckConstraint("(notice_id IS NULL) <> (document_id IS NULL)", name="notice_or_letter"),
        Index("ix_delivery_status", "municipality_id", "status"),
        CheckConstraint(
            "notified_at IS NULL OR made_available_at IS NOT NULL", name="available_first"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="RESTRICT"))
    document_id: Mapped[int | None] = mapped_column(  # a letter (LETTER_KINDS), not a notice
        ForeignKey("document.id", ondelete="RESTRICT")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    route: Mapped[Route] = mapped_column(enum_column(Route, "delivery_route"))
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, "delivery_status"))
    consent_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery_consent.id", ondelete="RESTRICT")
    )
    made_available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notified_to: Mapped[str | None] = mapped_column(String(254))
    posted_on: Mapped[date | None]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batch.id", ondelete="RESTRICT"))
    deemed_on: Mapped[date | None]  # Tag der Bekanntgabe (§ 122 (2), § 122a (4) AO)
    returned_on: Mapped[date | None]
    returned_note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class DispatchStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"
    BOUNCED = "bounced"  # refused for good by the receiving side (e.g. unknown mailbox)
    FAILED = "failed"  # gave up after the last attempt


DISPATCH_LABELS = {
    DispatchStatus.PENDING: "wartet",
    DispatchStatus.SENT: "versandt",
    DispatchStatus.BOUNCED: "abgewiesen",
    DispatchStatus.FAILED: "fehlgeschlagen",
}


class Dispatch(Base):
    """The delivery outbox: one message to hand to an adapter (e-mail, postbox, print folder),
    with its attempts, the next try and the last error."""

    __tablename__ = "delivery_dispatch"
    __table_args__ = (
        Index("ix_delivery_dispatch_due", "status", "next_attempt_at"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id", ondelete="RESTRICT"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batch.id", ondelete="RESTRICT"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "dispatch_channel"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(4000))
    status: Mapped[DispatchStatus] = mapped_column(enum_column(DispatchStatus, "dispatch_status"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class PrintBatch(Base):
    """One hand-over to the print service: the concatenated PDF and its manifest (archived)."""

    __tablename__ = "print_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    posted_on: Mapped[date]
    letters: Mapped[int]
    pages: Mapped[int]
    pdf_document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    manifest_document_id: Mapped[int] = mapped_column(  # JSON
        ForeignKey("document.id", ondelete="RESTRICT")
    )
    csv_document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


audit.IMMUTABLE.update({DeliveryConsent, PrintBatch})
