"""The retention tables: legal holds (Löschsperren), runs and their items.

A run (:class:`RetentionRun`) is made for an as-of date; its items are what the preview found:
each a record due for deletion or anonymisation, or blocked (with the German reason). Nothing
is deleted until a second person approved the run and its job did the item (``done_at``).
An item done is the register of what was deleted — type, id, category, due date, rule — never
the content; the database refuses a record erased twice (partial unique index).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.jobs.four_eyes import FourEyesColumns
from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


class LegalHold(Base):
    """A Löschsperre of one person (all their records) or one document, in force from
    ``starts_on`` to ``ends_on`` inclusive (None: until ended). Ended holds stay as history."""

    __tablename__ = "legal_hold"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (document_id IS NULL)", name="person_or_document"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="hold_range"),
        Index("ix_legal_hold_person", "person_id"),
        Index("ix_legal_hold_document", "document_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    ended_by: Mapped[str | None] = mapped_column(String(60))

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class RunState(enum.StrEnum):
    PREVIEW = "preview"  # found and listed, nothing deleted; may be discarded
    APPROVED = "approved"  # a second person approved it (four eyes); its job deletes
    DONE = "done"  # the job did every item
    DISCARDED = "discarded"  # thrown away before approval


RUN_STATE_LABELS = {
    RunState.PREVIEW: "Vorschau",
    RunState.APPROVED: "freigegeben",
    RunState.DONE: "ausgeführt",
    RunState.DISCARDED: "verworfen",
}


class RetentionRun(FourEyesColumns, Base):
    __tablename__ = "retention_run"
    __table_args__ = (Index("ix_retention_run_municipality", "municipality_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    as_of: Mapped[date]
    state: Mapped[RunState] = mapped_column(enum_column(RunState, "retention_run_state"))
    rules_source: Mapped[str] = mapped_column(String(300))
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # per category, due
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="RESTRICT"))

    @property
    def state_label(self) -> str:
        return RUN_STATE_LABELS[self.state]


class ObjectType(enum.StrEnum):
    DOCUMENT = "document"  # content deleted, the row (hash, size, kind) kept
    OUTBOX = "outbox_message"  # recipient and text deleted
    DISPATCH = "delivery_dispatch"  # a notification's recipient and text deleted
    PERSON = "person"  # anonymised: name, addresses, e-mail, login, consent address, identities
    BANK_LINE = "bank_line"  # a statement line's counterparty name and IBAN deleted


OBJECT_LABELS = {
    ObjectType.DOCUMENT: "Dokument",
    ObjectType.OUTBOX: "E-Mail",
    ObjectType.DISPATCH: "Benachrichtigung",
    ObjectType.PERSON: "Person",
    ObjectType.BANK_LINE: "Kontoumsatz",
}


class RetentionItem(Base):
    __tablename__ = "retention_item"
    __table_args__ = (
        Index("ix_retention_item_run", "run_id", "id"),
        Index(
            "uq_retention_item_erased",
            "object_type",
            "object_id",
            unique=True,
            sqlite_where=text("done_at IS NOT NULL"),
            postgresql_where=text("done_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_run.id", ondelete="RESTRICT"))
    object_type: Mapped[ObjectType] = mapped_column(
        enum_column(ObjectType, "retention_object_type", 20)
    )
    object_id: Mapped[int]
    category: Mapped[str] = mapped_column(String(30))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    made_on: Mapped[date]  # when the record was made (its period runs from that year's end)
    due_on: Mapped[date]
    rule: Mapped[str] = mapped_column(String(300))
    blocked: Mapped[str | None] = mapped_column(String(300))  # German reason; None: due
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # e.g. kind, number
