"""The objection table: one Widerspruch against one notice, as received (kept; decided once)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


class SuspensionDecision(enum.StrEnum):
    OPEN = "open"  # Aussetzung der Vollziehung beantragt, noch nicht entschieden
    GRANTED = "granted"  # gewährt: die Mahnsperre bleibt
    REFUSED = "refused"  # abgelehnt: die Mahnsperre endet am Tag der Entscheidung
    NONE = "none"  # nicht beantragt


SUSPENSION_LABELS = {
    SuspensionDecision.OPEN: "beantragt, noch nicht entschieden",
    SuspensionDecision.GRANTED: "gewährt",
    SuspensionDecision.REFUSED: "abgelehnt",
    SuspensionDecision.NONE: "nicht beantragt",
}


class Objection(Base):
    """``deadline`` is None while the notice has no deemed delivery date; ``late``: received
    after the deadline (still received, marked "verspätet" for the clerk)."""

    __tablename__ = "objection"
    __table_args__ = (Index("ix_objection_municipality", "municipality_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="RESTRICT"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    deemed_on: Mapped[date | None]
    deadline: Mapped[date | None]
    late: Mapped[bool] = mapped_column(default=False)
    reasons: Mapped[str] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    suspension: Mapped[SuspensionDecision] = mapped_column(
        enum_column(SuspensionDecision, "objection_suspension")
    )
    block_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_on: Mapped[date | None]
    decision_note: Mapped[str] = mapped_column(String(500), default="")

    @property
    def suspension_label(self) -> str:
        return SUSPENSION_LABELS[self.suspension]


class DecisionKind(enum.StrEnum):
    GRANTED_FULL = "granted_full"  # Abhilfe in vollem Umfang (§ 72 VwGO, § 367 (2) AO)
    GRANTED_PARTIAL = "granted_partial"  # teilweise Abhilfe
    REJECTED = "rejected"  # Zurückweisung: Widerspruchsbescheid (§ 73 VwGO)
    WITHDRAWN = "withdrawn"  # Rücknahme durch die Bürgerin oder den Bürger (§ 362 AO)


DECISION_LABELS = {
    DecisionKind.GRANTED_FULL: "Abhilfe in vollem Umfang",
    DecisionKind.GRANTED_PARTIAL: "teilweise Abhilfe",
    DecisionKind.REJECTED: "zurückgewiesen",
    DecisionKind.WITHDRAWN: "zurückgenommen",
}
GRANTED = (DecisionKind.GRANTED_FULL, DecisionKind.GRANTED_PARTIAL)


class DecisionStatus(enum.StrEnum):
    PENDING = "pending"  # vorbereitet, wartet auf die Freigabe (Vier-Augen-Prinzip)
    FINAL = "final"  # entschieden (gebucht, Bescheid im Postfach)
    DISCARDED = "discarded"  # Freigabe verweigert: der Widerspruch ist wieder offen


class ObjectionDecision(Base):
    """The decision on an objection (core.objections.decisions): at most one that is not
    discarded per objection (the partial unique index); ``before_cents``/``after_cents``:
    what stood assessed and what stands after an Abhilfe (equal otherwise)."""

    __tablename__ = "objection_decision"
    __table_args__ = (
        Index(
            "uq_objection_decision_live",
            "objection_id",
            unique=True,
            sqlite_where=text("status <> 'discarded'"),
            postgresql_where=text("status <> 'discarded'"),
        ),
        CheckConstraint("after_cents >= 0 AND after_cents <= before_cents", name="amounts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    objection_id: Mapped[int] = mapped_column(ForeignKey("objection.id", ondelete="RESTRICT"))
    kind: Mapped[DecisionKind] = mapped_column(enum_column(DecisionKind, "objection_decision_kind"))
    status: Mapped[DecisionStatus] = mapped_column(
        enum_column(DecisionStatus, "objection_decision_status")
    )
    before_cents: Mapped[int]
    after_cents: Mapped[int]
    refund_cents: Mapped[int] = mapped_column(default=0)  # paid beyond the new amount
    reasons: Mapped[str] = mapped_column(Text)
    review_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    proposed_by: Mapped[str] = mapped_column(String(60))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    approved_by: Mapped[str | None] = mapped_column(String(60))
    decided_on: Mapped[date | None]
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))

    @property
    def label(self) -> str:
        return DECISION_LABELS[self.kind]

    @property
    def granted(self) -> bool:
        return self.kind in GRANTED

    @property
    def letter_title(self) -> str:
        if self.kind is DecisionKind.REJECTED:
            return "Widerspruchsbescheid"
        if self.kind is DecisionKind.WITHDRAWN:
            return "Bestätigung der Rücknahme des Widerspruchs"
        return "Abhilfebescheid"
