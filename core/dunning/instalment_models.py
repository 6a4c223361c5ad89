"""The tables of deferrals and instalment plans (Stundung, Ratenzahlung; § 222 AO).

A plan exists only once it is accepted (straight through or by a clerk; the request itself is
an application of the one pipeline, core.workflow). It covers claims (each with a DEFERRAL
block while the plan runs and its open amount when the plan began), may have booked interest
(§ 234 AO) as its own ancillary claim, and has its instalments. What is paid is never stored
here: it is what the covered claims lost of their open amounts since the plan began
(core.dunning.instalments.progress), counted towards the instalments in order.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


class PlanState(enum.StrEnum):
    ACTIVE = "active"  # runs: the claims are not dunned
    COMPLETED = "completed"  # every instalment paid; the blocks ended
    TERMINATED = "terminated"  # an instalment was missed: the rest is due at once


PLAN_STATE_LABELS = {
    PlanState.ACTIVE: "läuft",
    PlanState.COMPLETED: "erledigt",
    PlanState.TERMINATED: "beendet (Rate versäumt)",
}


class InstalmentPlan(Base):
    __tablename__ = "instalment_plan"
    __table_args__ = (
        CheckConstraint("deferred_cents > 0 AND interest_cents >= 0", name="plan_amounts"),
        Index("ix_instalment_plan_person", "person_id"),
        Index("ix_instalment_plan_state", "municipality_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("application.id", ondelete="RESTRICT")
    )
    state: Mapped[PlanState] = mapped_column(enum_column(PlanState, "instalment_plan_state", 20))
    starts_on: Mapped[date]
    ended_on: Mapped[date | None]
    deferred_cents: Mapped[int]  # the covered claims' open amounts when the plan began
    interest_cents: Mapped[int]  # § 234 AO, 0 when waived
    interest_claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claim.id", ondelete="RESTRICT")
    )
    statute_source: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    ended_by: Mapped[str | None] = mapped_column(String(60))

    @property
    def state_label(self) -> str:
        return PLAN_STATE_LABELS[self.state]

    @property
    def total_cents(self) -> int:
        return self.deferred_cents + self.interest_cents


class PlanClaim(Base):
    """A claim a plan covers (the interest claim too), with its block and its open amount
    when the plan began."""

    __tablename__ = "instalment_plan_claim"
    __table_args__ = (
        UniqueConstraint("plan_id", "claim_id"),
        Index("ix_instalment_plan_claim_claim", "claim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("instalment_plan.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    block_id: Mapped[int] = mapped_column(ForeignKey("dunning_block.id", ondelete="RESTRICT"))
    open_cents: Mapped[int]


class Instalment(Base):
    __tablename__ = "instalment"
    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        CheckConstraint("amount_cents > 0", name="instalment_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("instalment_plan.id", ondelete="RESTRICT"))
    number: Mapped[int]  # 1, 2, …
    due_on: Mapped[date]
    amount_cents: Mapped[int]
