"""Municipalities (tenants) and their per-municipality number sequences; blocks of primary keys
for bulk inserts (:func:`reserve_ids`) are drawn by core.kernel.bulk_rows and re-exported here.

One deployment serves several municipalities; every citizen-facing row carries
``municipality_id`` and every query filters by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import (
    CheckConstraint,
    Connection,
    Engine,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, validates

from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.bulk_rows import reserve_ids as reserve_ids  # re-exported for the bulk paths
from core.kernel.db import Base, UTCDateTime
from core.kernel.errors import NotFound, ValidationError

# URL prefixes that belong to the application itself, never to a municipality.
RESERVED_SLUGS = frozenset({"backoffice", "static", "barrierefreiheit", "healthz", "api"})
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def relative_luminance(colour: str) -> Decimal:
    """WCAG 2.1 relative luminance of an sRGB colour ``#rrggbb`` (exact decimal arithmetic)."""
    total = Decimal(0)
    for weight, offset in ((Decimal("0.2126"), 1), (Decimal("0.7152"), 3), (Decimal("0.0722"), 5)):
        c = Decimal(int(colour[offset : offset + 2], 16)) / 255
        linear = (
            c / Decimal("12.92")
            if c <= Decimal("0.04045")
            else ((c + Decimal("0.055")) / Decimal("1.055")) ** Decimal("2.4")
        )
        total += weight * linear
    return total


def contrast_with_white(colour: str) -> Decimal:
    return Decimal("1.05") / (relative_luminance(colour) + Decimal("0.05"))


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
    # Refunds above this amount need a second person's approval (Vier-Augen-Prinzip).
    refund_approval_cents: Mapped[int] = mapped_column(default=20000, server_default="20000")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    @validates("slug")
    def _check_slug(self, _key: str, value: str) -> str:
        if not _SLUG.match(value) or value in RESERVED_SLUGS:
            raise ValidationError(f"„{value}“ ist als Kurzname einer Kommune nicht möglich.")
        return value

    @validates("primary_color")
    def _check_colour(self, _key: str, value: str) -> str:
        """White header text must stay readable (WCAG 2.1 AA: contrast at least 4.5:1)."""
        if not _HEX_COLOUR.match(value):
            raise ValidationError("Die Farbe muss als #RRGGBB angegeben werden.")
        if contrast_with_white(value) < Decimal("4.5"):
            raise ValidationError(
                "Diese Farbe ist zu hell: weiße Schrift darauf ist nicht gut lesbar "
                "(Kontrast unter 4,5:1)."
            )
        return value


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
    return reserve_numbers(session, municipality_id, name, 1).start


def reserve_numbers(session: Session, municipality_id: int, name: str, count: int) -> range:
    """The next ``count`` values of a sequence as one block (one counter update, e.g. the
    Kassenzeichen of a run's chunk). Gap-free: the counter row stays locked until the
    transaction ends, and a rolled-back transaction gives its numbers back — except inside
    :func:`reserved_apart` (a job's chunk on PostgreSQL), where the block is taken in a
    transaction of its own and kept, with an audit row naming it."""
    session.flush()  # as the ORM query that read the counter did (autoflush)
    apart = _APART.get()
    if apart is None or count < 1:
        last = _bump(session.connection(), municipality_id, name, count)
        return range(last - count + 1, last + 1)
    with apart.begin() as conn:
        last = _bump(conn, municipality_id, name, count)
        conn.execute(
            insert(AuditEvent).values(
                actor="system",
                action="numbers.reserved",
                object_type=Counter.__tablename__,
                municipality_id=municipality_id,
                after={"name": name, "first": last - count + 1, "last": last},
            )
        )
    return range(last - count + 1, last + 1)


_APART: ContextVar[Engine | None] = ContextVar("numbers_reserved_apart", default=None)


@contextmanager
def reserved_apart(bind: Engine | Connection) -> Iterator[None]:
    """Number blocks taken in transactions of their own while inside (PostgreSQL only; on
    SQLite one transaction writes at a time anyway). The chunks of a run on several workers
    then do not wait for each other's commit behind the counter row, which they would for
    the whole of their writes; a chunk rolled back leaves its block unused, a gap its
    ``numbers.reserved`` audit row explains. Only for transactions that have not touched the
    counters themselves (a job's chunk, begun just before), or the block would wait for it;
    a session on a connection (the tests' transaction, never committed) keeps them in it."""
    apart = bind if isinstance(bind, Engine) and bind.dialect.name == "postgresql" else None
    token = _APART.set(apart)
    try:
        yield
    finally:
        _APART.reset(token)


def _bump(conn: Connection, municipality_id: int, name: str, count: int) -> int:
    """Add ``count`` to the counter (made at 0 when missing: one statement, so two first
    uses at once cannot both insert it); its new last value."""
    table = cast(Table, Counter.__table__)
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(table)
        .values(municipality_id=municipality_id, name=name, last_value=count)
        .on_conflict_do_update(
            index_elements=[table.c.municipality_id, table.c.name],
            set_={"last_value": table.c.last_value + count},
        )
        .returning(table.c.last_value)
    )
    return int(conn.execute(statement).scalar_one())


def serialize(session: Session, municipality_id: int, name: str) -> None:
    """Let only one transaction at a time do ``name`` for a municipality (e.g. a direct-debit
    run): the counter row stays locked until the transaction ends on PostgreSQL (never
    :func:`reserved_apart`); SQLite transactions take the write lock at their start anyway
    (core.kernel.db)."""
    _bump(session.connection(), municipality_id, f"lock:{name}", 1)


def get_by_slug(session: Session, slug: str) -> Municipality:
    municipality = session.scalars(select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        raise NotFound("Diese Kommune ist hier nicht bekannt.")
    return municipality


def all_municipalities(session: Session) -> list[Municipality]:
    return list(session.scalars(select(Municipality).order_by(Municipality.name)))
