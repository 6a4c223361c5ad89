"""The enforcement tables: cases handed over to enforcement (Vollstreckung), the claims each
holds, and the write-offs (Niederschlagung, Erlass) requested and decided with four eyes.

A claim is in at most one *active* case (partial unique index on ``enforcement_claim``): the
row stays active while its case is handed over or niedergeschlagen, and becomes inactive when
the case is paid or the claim is extinguished by Erlass. A case's ``file_data`` is the case
file as handed over (debtor, claims, dunning history), so PDF and XML stay what was sent.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


class CaseStatus(enum.StrEnum):
    HANDED_OVER = "handed_over"  # an die Vollstreckung abgegeben
    PAID = "paid"  # alle Forderungen beglichen
    WRITTEN_OFF = "written_off"  # niedergeschlagen oder erlassen


CASE_STATUS_LABELS = {
    CaseStatus.HANDED_OVER: "an die Vollstreckung abgegeben",
    CaseStatus.PAID: "bezahlt",
    CaseStatus.WRITTEN_OFF: "abgeschrieben",
}


class CaseClaimRole(enum.StrEnum):
    MAIN = "main"  # die gemahnte Forderung
    ANCILLARY = "ancillary"  # Mahngebühr, Säumniszuschlag dazu
    COSTS = "costs"  # Vollstreckungskosten


class WriteOffKind(enum.StrEnum):
    SUSPENSION = "suspension"  # Niederschlagung, § 261 AO: the claim stays
    REMISSION = "remission"  # Erlass, § 227 AO: the claim is extinguished


WRITE_OFF_LABELS = {
    WriteOffKind.SUSPENSION: "Niederschlagung (§ 261 AO)",
    WriteOffKind.REMISSION: "Erlass (§ 227 AO)",
}


class WriteOffState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


WRITE_OFF_STATE_LABELS = {
    WriteOffState.REQUESTED: "beantragt",
    WriteOffState.APPROVED: "genehmigt",
    WriteOffState.REJECTED: "abgelehnt",
}


class EnforcementCase(Base):
    __tablename__ = "enforcement_case"
    __table_args__ = (
        Index("ix_enforcement_case_municipality_status", "municipality_id", "status"),
        Index("ix_enforcement_case_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus, "enforcement_case_status"))
    handed_over_on: Mapped[date]
    handed_over_cents: Mapped[int]  # what was open at the hand-over
    file_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    closed_on: Mapped[date | None]

    @property
    def status_label(self) -> str:
        return CASE_STATUS_LABELS[self.status]


class EnforcementClaim(Base):
    __tablename__ = "enforcement_claim"
    __table_args__ = (
        CheckConstraint("open_cents >= 0", name="open_non_negative"),
        Index("ix_enforcement_claim_case", "case_id"),
        # A claim is in one active case at most (idempotent hand-over).
        Index(
            "uq_enforcement_claim_active",
            "claim_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    role: Mapped[CaseClaimRole] = mapped_column(
        enum_column(CaseClaimRole, "enforcement_claim_role")
    )
    open_cents: Mapped[int]  # open when it joined the case
    active: Mapped[bool] = mapped_column(default=True)


class WriteOff(Base):
    """A write-off of a whole case: requested by one clerk, decided by another."""

    __tablename__ = "enforcement_write_off"
    __table_args__ = (Index("ix_enforcement_write_off_case", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_case.id", ondelete="RESTRICT"))
    kind: Mapped[WriteOffKind] = mapped_column(enum_column(WriteOffKind, "write_off_kind"))
    state: Mapped[WriteOffState] = mapped_column(enum_column(WriteOffState, "write_off_state"))
    reason: Mapped[str] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(60))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_on: Mapped[date | None]
    written_off_cents: Mapped[int] = mapped_column(default=0)

    @property
    def kind_label(self) -> str:
        return WRITE_OFF_LABELS[self.kind]

    @property
    def state_label(self) -> str:
        return WRITE_OFF_STATE_LABELS[self.state]
