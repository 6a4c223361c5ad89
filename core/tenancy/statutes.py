"""Statutes as effective-dated data per municipality ("law as data").

A ``Statute`` row holds the rules of one levy (dog tax, waste fees, …) of one municipality for a
period of validity, as JSON that a typed parser per levy checks (e.g.
:func:`core.levies.dog_tax.rules.DogTaxRules.from_data`). Every statute names its source (the
Satzung and its sections). Amounts inside are integer cents.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, bindparam, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime
from core.kernel.errors import NotFound

R = TypeVar("R")


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


# Built once (the account page and every run ask): building a statement costs more than
# running it.
_STATUTE_ON = (
    select(Statute)
    .where(
        Statute.municipality_id == bindparam("municipality_id"),
        Statute.levy == bindparam("levy"),
        Statute.valid_from <= bindparam("day"),
        or_(Statute.valid_to.is_(None), Statute.valid_to > bindparam("day")),
    )
    .order_by(Statute.valid_from.desc())
)


def statute_on(session: Session, municipality_id: int, levy: str, day: date) -> Statute:
    """The statute of ``levy`` in force on ``day`` (the latest one starting on or before it)."""
    statute = session.scalars(
        _STATUTE_ON, {"municipality_id": municipality_id, "levy": levy, "day": day}
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


class StatuteCache(Generic[R]):
    """A levy's statutes of one municipality, parsed once per year and run (batch runs ask for
    the rules of every month of every owner).

    ``parse`` turns a statute's data into the levy's typed rules (e.g. DogTaxRules.from_data);
    ``name`` is the statute's German name for the error when a year has none.
    """

    def __init__(
        self,
        session: Session,
        municipality_id: int,
        levy: str,
        parse: Callable[[dict[str, Any], str], R],
        name: str,
    ) -> None:
        self.session, self.municipality_id, self.levy = session, municipality_id, levy
        self.parse, self.name = parse, name
        self._years: dict[int, list[tuple[date, date | None, R]]] = {}

    def for_year(self, year: int) -> Callable[[int], R]:
        """``rules_for(month_index)`` for the months of ``year`` (index = year*12 + month-1)."""
        if year not in self._years:
            self._years[year] = [
                (s.valid_from, s.valid_to, self.parse(s.data, s.source))
                for s in statutes_for_year(self.session, self.municipality_id, self.levy, year)
            ]
        periods = self._years[year]
        if not periods:
            raise NotFound(f"Für {year} ist keine {self.name} hinterlegt.")

        def rules_for(month_index: int) -> R:
            day = date(month_index // 12, month_index % 12 + 1, 1)
            for start, end, rules in reversed(periods):
                if start <= day and (end is None or day < end):
                    return rules
            return periods[0][2]  # a statute starting mid-month governs that month too

        return rules_for

    def on(self, day: date) -> R:
        return self.for_year(day.year)(day.year * 12 + day.month - 1)
