"""The dunning tables: blocks (Mahnsperren), runs, their letters and items.

A claim's dunning level is its latest *booked* item (one step per run, so the highest level
booked is also the latest); previews and discarded runs leave items that count for nothing.
The database refuses a claim booked twice at the same level (partial unique index). Ended
blocks stay as history: a block is ended by setting its last day, never deleted.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.jobs.four_eyes import FourEyesColumns
from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


class BlockReason(enum.StrEnum):
    DEFERRAL = "deferral"  # Stundung (§ 222 AO)
    SUSPENSION = "suspension"  # Aussetzung der Vollziehung nach Widerspruch
    INSOLVENCY = "insolvency"  # Insolvenzverfahren
    CLERK = "clerk"  # Mahnsperre durch die Sachbearbeitung


BLOCK_REASON_LABELS = {
    BlockReason.DEFERRAL: "Stundung",
    BlockReason.SUSPENSION: "Aussetzung der Vollziehung",
    BlockReason.INSOLVENCY: "Insolvenz",
    BlockReason.CLERK: "Mahnsperre (Sachbearbeitung)",
}


class DunningBlock(Base):
    """A block of one claim (``claim_id``) or of all claims of a person (``claim_id`` None),
    in force from ``starts_on`` to ``ends_on`` inclusive (None: until ended)."""

    __tablename__ = "dunning_block"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="block_range"),
        Index("ix_dunning_block_person", "person_id"),
        Index("ix_dunning_block_claim", "claim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    reason: Mapped[BlockReason] = mapped_column(enum_column(BlockReason, "dunning_block_reason"))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    ended_by: Mapped[str | None] = mapped_column(String(60))

    @property
    def reason_label(self) -> str:
        return BLOCK_REASON_LABELS[self.reason]

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class RunState(enum.StrEnum):
    PREVIEW = "preview"  # made, nothing booked; may be discarded
    APPROVED = "approved"  # a second person approved it (four eyes)
    BOOKED = "booked"  # fees and surcharges booked, the letters count
    DISCARDED = "discarded"  # thrown away before approval


RUN_STATE_LABELS = {
    RunState.PREVIEW: "Vorschau",
    RunState.APPROVED: "freigegeben",
    RunState.BOOKED: "gebucht",
    RunState.DISCARDED: "verworfen",
}


class DunningRun(FourEyesColumns, Base):
    __tablename__ = "dunning_run"
    __table_args__ = (Index("ix_dunning_run_municipality_state", "municipality_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    run_date: Mapped[date]
    state: Mapped[RunState] = mapped_column(enum_column(RunState, "dunning_run_state"))
    procedure_source: Mapped[str] = mapped_column(String(300))
    booked_by: Mapped[str | None] = mapped_column(String(60))
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def state_label(self) -> str:
        return RUN_STATE_LABELS[self.state]


class DunningLetter(Base):
    """One letter of a run: one person, one level, all their claims due at that level."""

    __tablename__ = "dunning_letter"
    __table_args__ = (
        CheckConstraint("fee_cents >= 0 AND surcharge_cents >= 0", name="amounts_non_negative"),
        # (run, person): a preview chunk asks which of its persons have a letter in the run
        # already; with the run alone PostgreSQL read every letter of the run per chunk.
        Index("ix_dunning_letter_run_person", "run_id", "person_id"),
        Index("ix_dunning_letter_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    run_id: Mapped[int] = mapped_column(ForeignKey("dunning_run.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    level: Mapped[int]
    level_name: Mapped[str] = mapped_column(String(80))
    open_cents: Mapped[int]  # the claims' open amounts at the run date
    fee_cents: Mapped[int]
    surcharge_cents: Mapped[int]
    total_cents: Mapped[int]  # open + fee + surcharges
    delivered_on: Mapped[date]  # deemed delivered (§ 122 (2) AO)
    payment_deadline: Mapped[date]
    fee_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set instead of booked_at when every item was dropped at booking: the letter is not sent.
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Dropped(enum.StrEnum):
    """Why an item was not booked: its claim changed between the preview and the booking."""

    PAID = "paid"  # paid in full meanwhile
    BLOCKED = "blocked"  # a block (Mahnsperre) in force
    IN_COLLECTION = "in_collection"  # a direct debit or card payment holds it
    BELOW_TOLERANCE = "below_tolerance"  # paid down below the tolerance


DROPPED_LABELS = {
    Dropped.PAID: "inzwischen bezahlt",
    Dropped.BLOCKED: "Mahnsperre",
    Dropped.IN_COLLECTION: "im Einzug (Lastschrift oder Kartenzahlung)",
    Dropped.BELOW_TOLERANCE: "Restbetrag unter der Bagatellgrenze",
}


class DunningItem(Base):
    """One claim in a letter, with its share of the fee and its new surcharges."""

    __tablename__ = "dunning_item"
    __table_args__ = (
        CheckConstraint("fee_cents >= 0 AND surcharge_cents >= 0", name="amounts_non_negative"),
        Index("ix_dunning_item_letter", "letter_id"),
        Index("ix_dunning_item_claim", "claim_id", "booked"),
        # A claim is dunned at most once per level (only booked items count).
        Index(
            "uq_dunning_item_claim_level_booked",
            "claim_id",
            "level",
            unique=True,
            sqlite_where=text("booked"),
            postgresql_where=text("booked"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("dunning_letter.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    level: Mapped[int]
    open_cents: Mapped[int]
    fee_cents: Mapped[int]  # the claim's share of the letter's fee
    surcharge_cents: Mapped[int]  # surcharges arisen since the last booked item
    surcharge_claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claim.id", ondelete="RESTRICT")
    )
    booked: Mapped[bool] = mapped_column(default=False)
    dropped: Mapped[Dropped | None] = mapped_column(enum_column(Dropped, "dunning_item_dropped"))


class LateSurcharge(Base):
    """§ 240 AO surcharges of a main claim paid in full after its grace, up to the day the
    payment counts, found by a run (core.dunning.late) and booked as a claim of their own."""

    __tablename__ = "dunning_late_surcharge"
    __table_args__ = (
        CheckConstraint("surcharge_cents > 0", name="late_surcharge_positive"),
        Index("ix_dunning_late_surcharge_run", "run_id"),
        Index("ix_dunning_late_surcharge_claim", "claim_id", "booked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    run_id: Mapped[int] = mapped_column(ForeignKey("dunning_run.id", ondelete="RESTRICT"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id", ondelete="RESTRICT"))
    paid_on: Mapped[date]  # the day the settling payment counts (§ 224 (2) AO)
    surcharge_cents: Mapped[int]
    surcharge_claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claim.id", ondelete="RESTRICT")
    )
    booked: Mapped[bool] = mapped_column(default=False)
