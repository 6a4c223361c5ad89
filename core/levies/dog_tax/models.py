"""Dogs as tax objects (Steuerobjekte) with their tag (Hundemarke)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import NotFound


class DogStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class EndReason(enum.StrEnum):
    DIED = "died"
    SOLD = "sold"  # given away or sold
    MOVED_AWAY = "moved_away"
    LOST = "lost"


END_REASON_LABELS = {
    EndReason.DIED: "verstorben",
    EndReason.SOLD: "abgegeben/verkauft",
    EndReason.MOVED_AWAY: "Wegzug",
    EndReason.LOST: "entlaufen",
}


class Dog(Base):
    __tablename__ = "dog"
    __table_args__ = (
        UniqueConstraint("municipality_id", "tag_number"),
        CheckConstraint("ended_on IS NULL OR ended_on >= acquired_on", name="end_after_start"),
        CheckConstraint("chip_number IS NULL OR length(chip_number) = 15", name="chip_length"),
        Index("ix_dog_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(60))
    breed: Mapped[str] = mapped_column(String(80))
    born_on: Mapped[date | None]
    acquired_on: Mapped[date]  # taken in / moved in with the dog: starts the liability
    chip_number: Mapped[str | None] = mapped_column(String(15))
    dangerous: Mapped[bool] = mapped_column(default=False)  # listed breed (Land law, statute)
    exemption_code: Mapped[str | None] = mapped_column(String(30))
    tag_number: Mapped[int]
    tag_lost_on: Mapped[date | None]
    status: Mapped[DogStatus] = mapped_column(enum_column(DogStatus, "dog_status", 10))
    ended_on: Mapped[date | None]
    end_reason: Mapped[EndReason | None] = mapped_column(
        enum_column(EndReason, "dog_end_reason", 12)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


def dogs_of(session: Session, person_id: int, municipality_id: int) -> list[Dog]:
    return list(
        session.scalars(
            select(Dog)
            .where(Dog.person_id == person_id, Dog.municipality_id == municipality_id)
            .order_by(Dog.acquired_on, Dog.id)
        )
    )


def get_dog(
    session: Session, municipality_id: int, dog_id: int, person_id: int | None = None
) -> Dog:
    """A dog of this municipality (and, for citizens, of this person) — else not found."""
    stmt = select(Dog).where(Dog.id == dog_id, Dog.municipality_id == municipality_id)
    if person_id is not None:
        stmt = stmt.where(Dog.person_id == person_id)
    dog = session.scalars(stmt).first()
    if dog is None:
        raise NotFound("Dieser Hund wurde nicht gefunden.")
    return dog
