"""Municipalities (tenants) and their per-municipality number sequences.

One deployment serves several municipalities; every citizen-facing row carries
``municipality_id`` and every query filters by it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import clock
from core.db import Base, UTCDateTime
from core.errors import NotFound


class Municipality(Base):
    __tablename__ = "municipality"
    __table_args__ = (
        CheckConstraint("length(official_key) = 8", name="ags_length"),
        CheckConstraint("length(kassenzeichen_prefix) = 3", name="kz_prefix_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)  # URL prefix: /<slug>/
    name: Mapped[str] = mapped_column(String(120))
    official_key: Mapped[str] = mapped_column(String(8), unique=True)  # AGS
    state: Mapped[str] = mapped_column(String(2))  # Land (ISO 3166-2:DE suffix), picks Land law
    creditor_id: Mapped[str] = mapped_column(String(35))  # SEPA Gläubiger-ID
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11))
    bank_name: Mapped[str] = mapped_column(String(120))
    cash_office_name: Mapped[str] = mapped_column(String(70))  # payee name on transfers
    street: Mapped[str] = mapped_column(String(120))
    postal_code: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40))
    kassenzeichen_prefix: Mapped[str] = mapped_column(String(3), unique=True)
    primary_color: Mapped[str] = mapped_column(String(7), default="#0b5394")
    logo_path: Mapped[str | None] = mapped_column(String(200))  # relative to static/
    host: Mapped[str | None] = mapped_column(String(253), unique=True)  # optional own host name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Counter(Base):
    """Gap-free per-municipality sequences (person numbers, Kassenzeichen serials)."""

    __tablename__ = "counter"
    __table_args__ = (UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(40))
    last_value: Mapped[int] = mapped_column(default=0)


def next_number(session: Session, municipality_id: int, name: str) -> int:
    """Next value of a sequence; row-locked on PostgreSQL so concurrent requests never collide."""
    counter = session.scalars(
        select(Counter)
        .where(Counter.municipality_id == municipality_id, Counter.name == name)
        .with_for_update()
    ).one_or_none()
    if counter is None:
        counter = Counter(municipality_id=municipality_id, name=name, last_value=0)
        session.add(counter)
    counter.last_value += 1
    session.flush()
    return counter.last_value


def get_by_slug(session: Session, slug: str) -> Municipality:
    municipality = session.scalars(select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        raise NotFound("Diese Kommune ist hier nicht bekannt.")
    return municipality


def all_municipalities(session: Session) -> list[Municipality]:
    return list(session.scalars(select(Municipality).order_by(Municipality.name)))
