"""Append-only audit trail written by core services.

Rows are never updated or deleted by the application: a session hook refuses it, and database
triggers (see the first migration) refuse it too. Actors are ids ("user:12", "cli", "system"),
never names, so the trail itself holds no more personal data than the records it points to.

Who acted for whom: while a user acts for another person (an organisation they represent, a
principal of a power of attorney), the edge sets :func:`acting_for` for the request and every row
written meanwhile names that person in ``on_behalf_of`` ("person:34") next to the actor.

Bulk paths (annual runs, the retention job, postal batches) write their rows with
:func:`record_all`: the same rows as :func:`record` for each, in one INSERT.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import JSON, ForeignKey, Index, String, Table, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.bulk_rows import insert_rows, reserve_ids
from core.kernel.db import Base, UTCDateTime
from core.kernel.errors import LedgerError


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipality.id", ondelete="RESTRICT"), index=True
    )
    actor: Mapped[str] = mapped_column(String(60))
    on_behalf_of: Mapped[str | None] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


_ON_BEHALF_OF: ContextVar[str | None] = ContextVar("audit_on_behalf_of", default=None)


def set_on_behalf_of(subject: str | None) -> None:
    """For the rest of this request (the edge resets it to None at its end)."""
    _ON_BEHALF_OF.set(subject)


@contextmanager
def acting_for(subject: str | None) -> Iterator[None]:
    reset = _ON_BEHALF_OF.set(subject)
    try:
        yield
    finally:
        _ON_BEHALF_OF.reset(reset)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    obj: Any,
    municipality_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event_ = AuditEvent(
        actor=actor,
        on_behalf_of=_ON_BEHALF_OF.get(),
        action=action,
        object_type=type(obj).__tablename__,
        object_id=getattr(obj, "id", None),
        municipality_id=municipality_id,
        before=before,
        after=after,
    )
    session.add(event_)
    return event_


class Row(NamedTuple):
    """One audit row for :func:`record_all`: what :func:`record` is given, the object named
    by its table name and id."""

    actor: str
    action: str
    object_type: str
    object_id: int | None
    municipality_id: int | None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


_ROW_KEYS = ("id", "occurred_at", "on_behalf_of", *Row._fields)


def record_all(
    session: Session, rows: Sequence[Row], *, occurred_at: datetime | None = None
) -> list[int]:
    """Write ``rows`` as :func:`record` writes each (``on_behalf_of`` from :func:`acting_for`,
    ``occurred_at`` now unless given), in one executemany (SQLite) or COPY (PostgreSQL) with
    reserved ids, in the order given and after what the session holds (it is flushed first,
    so the trail keeps the order of the calls); their ids. The rows are only inserted: the
    database's append-only triggers guard them as any other."""
    if not rows:
        return []
    session.flush()
    ids = reserve_ids(session, AuditEvent, len(rows))
    now = clock.now() if occurred_at is None else occurred_at
    on_behalf_of = _ON_BEHALF_OF.get()
    insert_rows(
        session.connection(),
        cast(Table, AuditEvent.__table__),
        _ROW_KEYS,
        [(row_id, now, on_behalf_of, *row) for row_id, row in zip(ids, rows, strict=True)],
    )
    return ids


def trail(
    session: Session, municipality_id: int, object_type: str, object_id: int
) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.municipality_id == municipality_id,
                AuditEvent.object_type == object_type,
                AuditEvent.object_id == object_id,
            )
            .order_by(AuditEvent.id)
        )
    )


# Classes whose rows are immutable once written (the ledger registers its own too).
IMMUTABLE: set[type[Base]] = {AuditEvent}


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_immutable_rows(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if type(obj) in IMMUTABLE and (obj in session.deleted or session.is_modified(obj)):
            raise LedgerError(
                f"{type(obj).__name__} ist unveränderlich; Korrekturen nur per Gegenbuchung."
            )
