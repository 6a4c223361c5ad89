"""The clerk's review of an application and the citizen's answer: reject (with reason), ask for
more information, answer the question. Approving carries the application out and belongs to
the pipeline (core.workflow.pipeline); these decisions are the same for every service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.errors import IllegalTransition, ValidationError
from core.workflow.applications import (
    CONVERSATION,
    Application,
    ApplicationStatus,
    transition,
)

MAX_ANSWER_LENGTH = 2000


def reject(session: Session, application: Application, *, reason: str, actor: str) -> None:
    if not reason.strip():
        raise ValidationError("Bitte begründen Sie die Ablehnung.")
    transition(session, application, ApplicationStatus.REJECTED, actor=actor, message=reason)


def request_information(
    session: Session, application: Application, *, question: str, actor: str
) -> None:
    if not question.strip():
        raise ValidationError("Bitte formulieren Sie Ihre Rückfrage.")
    transition(
        session, application, ApplicationStatus.INFO_REQUESTED, actor=actor, message=question
    )
    _append_message(application, "clerk", question.strip())
    session.flush()


def answer_question(session: Session, application: Application, *, answer: str, actor: str) -> None:
    """The citizen answers the clerk's question: the answer joins the conversation and the
    application goes back to the clerk's review queue. The audit trail records only the
    answer's length, not its text (personal data)."""
    if application.status is not ApplicationStatus.INFO_REQUESTED:
        raise IllegalTransition(
            f"Zu einem Antrag im Status „{application.status_label}“ ist keine Antwort möglich."
        )
    text = answer.strip()
    if not text:
        raise ValidationError("Bitte geben Sie Ihre Antwort ein.")
    if len(text) > MAX_ANSWER_LENGTH:
        raise ValidationError(f"Ihre Antwort darf höchstens {MAX_ANSWER_LENGTH} Zeichen lang sein.")
    entries = application.conversation
    if application.message and not (entries and entries[-1].from_clerk):
        # asked before questions were kept in the conversation: record it now
        _append_message(application, "clerk", application.message, at=application.decided_at)
    transition(session, application, ApplicationStatus.IN_REVIEW, actor=actor)
    _append_message(application, "citizen", text)
    audit.record(
        session,
        actor=actor,
        action="application.answered",
        obj=application,
        municipality_id=application.municipality_id,
        after={"answer_length": len(text)},
    )
    session.flush()


def _append_message(
    application: Application, sender: str, text: str, *, at: datetime | None = None
) -> None:
    """Add a message to ``Application.data`` (a new dict, so SQLAlchemy sees the change)."""
    data = application.data or {}
    entry = {"from": sender, "text": text, "at": (at or clock.now()).isoformat()}
    application.data = {**data, CONVERSATION: [*data.get(CONVERSATION, []), entry]}
