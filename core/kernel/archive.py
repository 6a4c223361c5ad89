"""Document archive (e-Akte): every generated PDF with its SHA-256, and every download of it.

A stored document is never changed; a reprint is a download of the same bytes. The hash lets
anyone check that what a citizen holds is what the municipality issued.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, get_scoped


class Document(Base):
    __tablename__ = "document"
    __table_args__ = (CheckConstraint("length(sha256) = 64", name="sha256_hex"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))  # "notice", "receipt", "reading_card", …
    filename: Mapped[str] = mapped_column(String(120))
    media_type: Mapped[str] = mapped_column(String(60), default="application/pdf")
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class DocumentDownload(Base):
    """Proof of download (§ 122a AO): when, by which account. Append-only."""

    __tablename__ = "document_download"
    __table_args__ = (Index("ix_document_download_document", "document_id", "downloaded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(60))
    downloaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


audit.IMMUTABLE.update({Document, DocumentDownload})


def store(
    session: Session,
    *,
    municipality_id: int,
    person_id: int | None,
    kind: str,
    filename: str,
    content: bytes,
    actor: str,
    media_type: str = "application/pdf",
) -> Document:
    document = Document(
        municipality_id=municipality_id,
        person_id=person_id,
        kind=kind,
        filename=filename,
        media_type=media_type,
        sha256=hashlib.sha256(content).hexdigest(),
        size_bytes=len(content),
        content=content,
    )
    session.add(document)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="document.stored",
        obj=document,
        municipality_id=municipality_id,
        after={"kind": kind, "sha256": document.sha256},
    )
    return document


def get_document(session: Session, municipality_id: int, document_id: int) -> Document:
    return get_scoped(
        session,
        Document,
        municipality_id,
        document_id,
        not_found="Dieses Dokument wurde nicht gefunden.",
    )


def record_download(
    session: Session, document: Document, *, user_id: int | None, actor: str
) -> DocumentDownload:
    download = DocumentDownload(document_id=document.id, user_id=user_id, actor=actor)
    session.add(download)
    session.flush()
    return download


def downloads_of(session: Session, document_ids: list[int]) -> list[DocumentDownload]:
    if not document_ids:
        return []
    return list(
        session.scalars(
            select(DocumentDownload)
            .where(DocumentDownload.document_id.in_(document_ids))
            .order_by(DocumentDownload.downloaded_at)
        )
    )
