"""Applications (Anträge) from the portal: the record, its states and the lookups.

Every online service follows the same path (core.workflow.pipeline): the citizen submits an
application; the service's review criteria (core.workflow.criteria, data per municipality,
editable in the back office) decide whether it goes straight through or to a clerk; a clerk
approves, rejects (with reason) or asks for more information, which the citizen answers in the
portal (core.workflow.review; the conversation is kept in the application's data). Each step is
an explicit :func:`transition` and lands in the audit trail.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import IllegalTransition, NotFound


class ApplicationStatus(enum.StrEnum):
    IN_REVIEW = "in_review"  # waits for a clerk
    INFO_REQUESTED = "info_requested"  # a clerk asked the citizen for more
    APPROVED = "approved"  # carried out
    REJECTED = "rejected"


STATUS_LABELS = {
    ApplicationStatus.IN_REVIEW: "in Prüfung",
    ApplicationStatus.INFO_REQUESTED: "Rückfrage",
    ApplicationStatus.APPROVED: "erledigt",
    ApplicationStatus.REJECTED: "abgelehnt",
}

# Which decision may follow which status.
TRANSITIONS: dict[ApplicationStatus, set[ApplicationStatus]] = {
    ApplicationStatus.IN_REVIEW: {
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.INFO_REQUESTED,
    },
    ApplicationStatus.INFO_REQUESTED: {
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.IN_REVIEW,
    },
    ApplicationStatus.APPROVED: set(),
    ApplicationStatus.REJECTED: set(),
}


class Application(Base):
    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_queue", "municipality_id", "status", "submitted_at"),
        Index("ix_application_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    service: Mapped[str] = mapped_column(String(40))  # e.g. "dog_registration"
    subject_id: Mapped[int | None]  # the object it concerns (dog id, …) once known
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status", 20)
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the citizen entered
    review_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    submitted_by: Mapped[str] = mapped_column(String(60))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str | None] = mapped_column(String(1000))  # reason / question to citizen

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def conversation(self) -> list[ConversationEntry]:
        """The clerk's questions and the citizen's answers, oldest first."""
        return [
            ConversationEntry(
                sender=entry["from"],
                text=entry["text"],
                at=datetime.fromisoformat(entry["at"]),
            )
            for entry in (self.data or {}).get(CONVERSATION, [])
        ]


CONVERSATION = "conversation"  # key in Application.data: questions and answers


@dataclass(frozen=True)
class ConversationEntry:
    """One message about an application: ``sender`` is "clerk" or "citizen"."""

    sender: str
    text: str
    at: datetime

    @property
    def from_clerk(self) -> bool:
        return self.sender == "clerk"


def get_application(session: Session, municipality_id: int, application_id: int) -> Application:
    application = session.scalars(
        select(Application).where(
            Application.id == application_id, Application.municipality_id == municipality_id
        )
    ).first()
    if application is None:
        raise NotFound("Dieser Antrag wurde nicht gefunden.")
    return application


def transition(
    session: Session,
    application: Application,
    to: ApplicationStatus,
    *,
    actor: str,
    message: str | None = None,
) -> None:
    if to not in TRANSITIONS[application.status]:
        raise IllegalTransition(
            f"Ein Antrag im Status „{application.status_label}“ kann nicht "
            f"„{STATUS_LABELS[to]}“ werden."
        )
    before = application.status
    application.status = to
    if to in (
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.INFO_REQUESTED,
    ):
        application.decided_at = clock.now()
        application.decided_by = actor
    if message is not None:
        application.message = message
    audit.record(
        session,
        actor=actor,
        action=f"application.{to.value}",
        obj=application,
        municipality_id=application.municipality_id,
        before={"status": before.value},
        after={"status": to.value, "message": message},
    )
    session.flush()


def review_queue(session: Session, municipality_id: int) -> list[Application]:
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.municipality_id == municipality_id,
                Application.status.in_(
                    [ApplicationStatus.IN_REVIEW, ApplicationStatus.INFO_REQUESTED]
                ),
            )
            .order_by(Application.submitted_at, Application.id)
        )
    )


def applications_of(session: Session, person_id: int, municipality_id: int) -> list[Application]:
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.person_id == person_id, Application.municipality_id == municipality_id
            )
            .order_by(Application.submitted_at.desc(), Application.id.desc())
        )
    )
