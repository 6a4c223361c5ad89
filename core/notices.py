"""Notices (Bescheide): the record of an assessment as issued, and its PDF in the archive.

``data`` is a snapshot of everything printed (computation lines, instalments, recipient), so a
notice can be reprinted exactly as issued even after the statute or the address changed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import archive, clock  # noqa: F401  (notice.document_id refers to document)
from core.db import Base, UTCDateTime
from core.errors import NotFound


class Notice(Base):
    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("municipality_id", "number"),
        Index("ix_notice_person", "person_id", "issued_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    levy: Mapped[str] = mapped_column(String(30))
    year: Mapped[int]
    number: Mapped[int]  # Bescheidnummer, per municipality
    issued_on: Mapped[date]
    title: Mapped[str] = mapped_column(String(200))
    kassenzeichen: Mapped[str] = mapped_column(String(20))
    total_cents: Mapped[int]  # the year's tax as assessed by this notice
    previous_cents: Mapped[int]  # as assessed before (0 for a first notice)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    @property
    def difference_cents(self) -> int:
        return self.total_cents - self.previous_cents


def get_notice(session: Session, municipality_id: int, notice_id: int) -> Notice:
    notice = session.scalars(
        select(Notice).where(Notice.id == notice_id, Notice.municipality_id == municipality_id)
    ).first()
    if notice is None:
        raise NotFound("Dieser Bescheid wurde nicht gefunden.")
    return notice


def notices_of(session: Session, person_id: int, municipality_id: int) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.person_id == person_id, Notice.municipality_id == municipality_id)
            .order_by(Notice.issued_on.desc(), Notice.id.desc())
        )
    )
