"""Waste collection objects: properties (Grundstücke) a person is liable for, their bins, and the
depot's work orders (deliver, pick up, swap a bin)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import NotFound


class WorkOrderKind(enum.StrEnum):
    DELIVER = "deliver"
    PICK_UP = "pick_up"
    SWAP = "swap"


class WorkOrderStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


WORK_ORDER_LABELS = {
    WorkOrderKind.DELIVER: "Behälter liefern",
    WorkOrderKind.PICK_UP: "Behälter abholen",
    WorkOrderKind.SWAP: "Behälter tauschen",
}


class WasteProperty(Base):
    __tablename__ = "waste_property"
    __table_args__ = (
        CheckConstraint("residents >= 0", name="residents_not_negative"),
        Index("ix_waste_property_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    street: Mapped[str] = mapped_column(String(120))
    house_number: Mapped[str] = mapped_column(String(12))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(80))
    residents: Mapped[int]
    liable_from: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    @property
    def label(self) -> str:
        return f"{self.street} {self.house_number}, {self.postal_code} {self.city}"


class WasteBin(Base):
    __tablename__ = "waste_bin"
    __table_args__ = (
        UniqueConstraint("municipality_id", "number"),
        CheckConstraint("litres > 0", name="litres_positive"),
        CheckConstraint('"end" IS NULL OR "end" >= start', name="end_after_start"),
        Index("ix_waste_bin_property", "property_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    property_id: Mapped[int] = mapped_column(ForeignKey("waste_property.id", ondelete="RESTRICT"))
    number: Mapped[int]  # Behälternummer, per municipality
    litres: Mapped[int]
    rhythm: Mapped[str] = mapped_column(String(20))  # key of core.levies.waste.rules.RHYTHMS
    start: Mapped[date]
    end: Mapped[date | None]  # last day in use; None: in use
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class WorkOrder(Base):
    __tablename__ = "work_order"
    __table_args__ = (
        Index("ix_work_order_queue", "municipality_id", "status", "due_on"),
        Index("ix_work_order_property", "property_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    property_id: Mapped[int] = mapped_column(ForeignKey("waste_property.id", ondelete="RESTRICT"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("waste_bin.id", ondelete="RESTRICT"))
    kind: Mapped[WorkOrderKind] = mapped_column(enum_column(WorkOrderKind, "work_order_kind", 10))
    due_on: Mapped[date]
    status: Mapped[WorkOrderStatus] = mapped_column(
        enum_column(WorkOrderStatus, "work_order_status", 10),
        default=WorkOrderStatus.OPEN,
    )
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    @property
    def label(self) -> str:
        return WORK_ORDER_LABELS[self.kind]


def properties_of(session: Session, person_id: int, municipality_id: int) -> list[WasteProperty]:
    return list(
        session.scalars(
            select(WasteProperty)
            .where(
                WasteProperty.person_id == person_id,
                WasteProperty.municipality_id == municipality_id,
            )
            .order_by(WasteProperty.id)
        )
    )


def get_property(
    session: Session, municipality_id: int, property_id: int, person_id: int | None = None
) -> WasteProperty:
    """A property of this municipality (and, for citizens, of this person) — else not found."""
    stmt = select(WasteProperty).where(
        WasteProperty.id == property_id, WasteProperty.municipality_id == municipality_id
    )
    if person_id is not None:
        stmt = stmt.where(WasteProperty.person_id == person_id)
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound("Dieses Grundstück wurde nicht gefunden.")
    return found


def bins_of(session: Session, property_ids: list[int]) -> list[WasteBin]:
    return list(
        session.scalars(
            select(WasteBin)
            .where(WasteBin.property_id.in_(property_ids))
            .order_by(WasteBin.start, WasteBin.id)
        )
    )


def get_bin(
    session: Session, municipality_id: int, bin_id: int, person_id: int | None = None
) -> WasteBin:
    stmt = select(WasteBin).where(
        WasteBin.id == bin_id, WasteBin.municipality_id == municipality_id
    )
    if person_id is not None:
        stmt = stmt.join(WasteProperty, WasteProperty.id == WasteBin.property_id).where(
            WasteProperty.person_id == person_id
        )
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound("Dieser Behälter wurde nicht gefunden.")
    return found


def work_orders(
    session: Session,
    municipality_id: int,
    *,
    property_ids: list[int] | None = None,
    open_only: bool = True,
) -> list[WorkOrder]:
    stmt = select(WorkOrder).where(WorkOrder.municipality_id == municipality_id)
    if property_ids is not None:
        stmt = stmt.where(WorkOrder.property_id.in_(property_ids))
    if open_only:
        stmt = stmt.where(WorkOrder.status == WorkOrderStatus.OPEN)
    return list(session.scalars(stmt.order_by(WorkOrder.due_on, WorkOrder.id)))
