"""The objection table: one Widerspruch against one notice, as received (kept; decided once)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
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
