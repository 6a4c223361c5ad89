"""Water meters and their readings (Online-Zählerstandserfassung): the tables and lookups.

A reading is taken once per meter and period (a year): from the portal (QR code on the reading
card, no log-in), from a returned paper card typed in by a clerk, or estimated by the billing
run. The database keeps at most one *current* reading per meter and period (``current`` is
True, or NULL once a clerk re-opens it), so a second submission is refused even if two arrive
at the same moment. Submitting and reviewing readings: :mod:`core.levies.water.readings`; the
reading links: :mod:`core.levies.water.links`; reading cards and e-mails:
:mod:`core.levies.water.cards`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column, get_scoped


class ReadingSource(enum.StrEnum):
    PORTAL = "portal"
    CARD = "card"  # paper card typed in by a clerk
    ESTIMATE = "estimate"


class ReadingStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"  # implausible, confirmed by the citizen: a clerk looks at it
    SUPERSEDED = "superseded"  # re-opened by a clerk


class Meter(Base):
    __tablename__ = "water_meter"
    __table_args__ = (
        CheckConstraint("removed_on IS NULL OR removed_on >= installed_on", name="removed_after"),
        CheckConstraint("initial_reading >= 0", name="initial_not_negative"),
        Index("ix_water_meter_person", "person_id"),
        Index("ix_water_meter_number", "municipality_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(30))  # as printed on the meter
    size: Mapped[str] = mapped_column(String(20))  # e.g. "Q3 4" (statute's base-fee table)
    location: Mapped[str] = mapped_column(String(200))  # address of the connection
    installed_on: Mapped[date]
    removed_on: Mapped[date | None]
    initial_reading: Mapped[int] = mapped_column(default=0)  # m³ when installed
    replaces_meter_id: Mapped[int | None] = mapped_column(
        ForeignKey("water_meter.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class MeterReading(Base):
    __tablename__ = "meter_reading"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("current IS NULL OR current", name="current_true_or_null"),
        UniqueConstraint("meter_id", "period", "current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("water_meter.id", ondelete="RESTRICT"))
    period: Mapped[int]  # billing year
    value: Mapped[int]  # m³
    read_on: Mapped[date]
    source: Mapped[ReadingSource] = mapped_column(enum_column(ReadingSource, "reading_source", 10))
    status: Mapped[ReadingStatus] = mapped_column(enum_column(ReadingStatus, "reading_status", 15))
    current: Mapped[bool | None] = mapped_column(default=True)
    issues: Mapped[list[str]] = mapped_column(JSON, default=list)
    photo_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(60))


def get_meter(session: Session, municipality_id: int, meter_id: int) -> Meter:
    return get_scoped(
        session, Meter, municipality_id, meter_id, not_found="Dieser Zähler wurde nicht gefunden."
    )


def current_reading(session: Session, meter_id: int, period: int) -> MeterReading | None:
    return session.scalars(
        select(MeterReading).where(
            MeterReading.meter_id == meter_id,
            MeterReading.period == period,
            MeterReading.current.is_(True),
        )
    ).first()


def _in_period(municipality_id: int, period: int) -> tuple[Any, ...]:
    start, end = date(period, 1, 1), date(period, 12, 31)
    return (
        Meter.municipality_id == municipality_id,
        Meter.installed_on <= end,
        (Meter.removed_on.is_(None)) | (Meter.removed_on >= start),
    )


def meters_for_cards(session: Session, municipality_id: int, period: int) -> list[Meter]:
    """Meters installed by the end of the period and not removed before it started."""
    return list(
        session.scalars(
            select(Meter).where(*_in_period(municipality_id, period)).order_by(Meter.id)
        )
    )


class MeterRow(NamedTuple):
    """A meter as the billing run reads it: plain values, not an ORM object (a run's plan holds
    every meter of a city; a million ORM objects would not fit in the memory a run may use)."""

    id: int
    person_id: int
    number: str
    size: str
    location: str
    installed_on: date
    removed_on: date | None
    initial_reading: int
    replaces_meter_id: int | None

    @classmethod
    def of(cls, meter: Meter) -> MeterRow:
        return cls(*(getattr(meter, name) for name in cls._fields))


_ROW = tuple(getattr(Meter, name) for name in MeterRow._fields)


def meter_rows(session: Session, municipality_id: int, period: int) -> list[MeterRow]:
    """:func:`meters_for_cards` as plain rows."""
    query = select(*_ROW).where(*_in_period(municipality_id, period)).order_by(Meter.id)
    return [MeterRow(*row) for row in session.execute(query)]


def meter_rows_of(session: Session, municipality_id: int, ids: Sequence[int]) -> list[MeterRow]:
    """The meters of ``ids`` (of this municipality) as plain rows, in the order of ``ids``."""
    query = select(*_ROW).where(Meter.municipality_id == municipality_id, Meter.id.in_(ids))
    found = {row[0]: MeterRow(*row) for row in session.execute(query)}
    return [found[i] for i in ids if i in found]
