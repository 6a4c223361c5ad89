"""Which archived PDF is a dunning letter's (one row per letter: the primary key makes a letter
archived at most once, whoever renders it — the CLI after booking, the letters job, or a
citizen's first download)."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel.db import Base


class DunningLetterDocument(Base):
    __tablename__ = "dunning_letter_document"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("dunning_letter.id", ondelete="RESTRICT"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="RESTRICT"), unique=True
    )
