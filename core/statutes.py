"""Statutes as effective-dated data per municipality ("law as data").

A ``Statute`` row holds the rules of one levy (dog tax, waste fees, …) of one municipality for a
period of validity, as JSON that a typed parser per levy checks (e.g.
:func:`core.assessment.dog_tax.DogTaxRules.from_data`). Every statute names its source (the
Satzung and its sections). Amounts inside are integer cents.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.db import Base, UTCDateTime
from core.errors import NotFound


class Statute(Base):
    __tablename__ = "statute"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        Index("ix_statute_lookup", "municipality_id", "levy", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    levy: Mapped[str] = mapped_column(String(30))  # "dog_tax", "waste_fee", …
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]  # exclusive; None: until further notice
    source: Mapped[str] = mapped_column(String(300))  # Satzung, date, sections
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


def statute_on(session: Session, municipality_id: int, levy: str, day: date) -> Statute:
    """The statute of ``levy`` in force on ``day`` (the latest one starting on or before it)."""
    statute = session.scalars(
        select(Statute)
        .where(
            Statute.municipality_id == municipality_id,
            Statute.levy == levy,
            Statute.valid_from <= day,
            or_(Statute.valid_to.is_(None), Statute.valid_to > day),
        )
        .order_by(Statute.valid_from.desc())
    ).first()
    if statute is None:
        raise NotFound(f"Für {day:%d.%m.%Y} ist keine Satzung ({levy}) hinterlegt.")
    return statute


def statutes_for_year(
    session: Session, municipality_id: int, levy: str, year: int
) -> list[Statute]:
    """Every statute of the levy in force on some day of ``year``, oldest first."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    return list(
        session.scalars(
            select(Statute)
            .where(
                Statute.municipality_id == municipality_id,
                Statute.levy == levy,
                Statute.valid_from < end,
                or_(Statute.valid_to.is_(None), Statute.valid_to > start),
            )
            .order_by(Statute.valid_from)
        )
    )
