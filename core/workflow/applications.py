"""Applications (Anträge) from the portal, criteria for manual review, clerks' decisions.

Every online service follows the same path: the citizen submits an application; the service's
review criteria (data per municipality, editable in the back office) decide whether it goes
straight through or to a clerk; a clerk approves, rejects (with reason) or asks for more
information, which the citizen answers in the portal (the conversation is kept in the
application's data). Each step is an explicit transition and lands in the audit trail.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.workflow.limits import check_daily_limit


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
MAX_ANSWER_LENGTH = 2000


@dataclass(frozen=True)
class ConversationEntry:
    """One message about an application: ``sender`` is "clerk" or "citizen"."""

    sender: str
    text: str
    at: datetime

    @property
    def from_clerk(self) -> bool:
        return self.sender == "clerk"


class ReviewCriterion(Base):
    """A rule that sends an application to a clerk. The check itself is code (per ``code``);
    whether it applies and its parameter are data of the municipality."""

    __tablename__ = "review_criterion"
    __table_args__ = (UniqueConstraint("municipality_id", "service", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    service: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    parameter: Mapped[int | None]  # e.g. months for "backdated by more than N months"


@dataclass(frozen=True)
class CriterionSpec:
    service: str
    code: str
    label: str
    parameter: int | None = None


def criteria_for(
    session: Session, municipality_id: int, service: str
) -> dict[str, ReviewCriterion]:
    return {
        c.code: c
        for c in session.scalars(
            select(ReviewCriterion).where(
                ReviewCriterion.municipality_id == municipality_id,
                ReviewCriterion.service == service,
            )
        )
    }


def ensure_criteria(session: Session, municipality_id: int, specs: list[CriterionSpec]) -> None:
    """Create the default criteria a municipality does not have yet (never overwrites)."""
    for spec in specs:
        if spec.code not in criteria_for(session, municipality_id, spec.service):
            session.add(
                ReviewCriterion(
                    municipality_id=municipality_id,
                    service=spec.service,
                    code=spec.code,
                    label=spec.label,
                    parameter=spec.parameter,
                )
            )
    session.flush()


def update_criterion(
    session: Session,
    criterion: ReviewCriterion,
    *,
    enabled: bool,
    parameter: int | None,
    actor: str,
) -> None:
    if parameter is not None and not 0 <= parameter <= 120:
        raise ValidationError("Der Wert muss zwischen 0 und 120 liegen.")
    before = {"enabled": criterion.enabled, "parameter": criterion.parameter}
    criterion.enabled, criterion.parameter = enabled, parameter
    audit.record(
        session,
        actor=actor,
        action="criterion.changed",
        obj=criterion,
        municipality_id=criterion.municipality_id,
        before=before,
        after={"enabled": enabled, "parameter": parameter},
    )
    session.flush()


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


# --------------------------------------------------------------------------- the common path

CarryOut = Callable[[Session, Application, Any, Any, date, str], list[Any]]


def submit(
    session: Session,
    *,
    person_id: int,
    municipality_id: int,
    service: str,
    data: dict[str, Any],
    reasons: list[str],
    as_of: date,
    actor: str,
    approve: Callable[[Session, Application, date, str], object],
    subject_id: int | None = None,
) -> Application:
    """Record an application; without review reasons it is carried out at once (``approve``).
    Refused with :class:`~core.workflow.limits.DailyLimitReached` beyond the day's limit."""
    now = clock.now()
    check_daily_limit(session, person_id=person_id, municipality_id=municipality_id, now=now)
    application = Application(
        municipality_id=municipality_id,
        person_id=person_id,
        service=service,
        subject_id=subject_id,
        status=ApplicationStatus.IN_REVIEW,
        data=data,
        review_reasons=reasons,
        submitted_at=now,
        submitted_by=actor,
    )
    session.add(application)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="application.submitted",
        obj=application,
        municipality_id=municipality_id,
        after={"service": service, "review_reasons": reasons},
    )
    if not reasons:
        approve(session, application, as_of, "system:auto")
    return application


def approve_with(
    session: Session,
    application: Application,
    carry_out: dict[str, CarryOut],
    *,
    as_of: date,
    actor: str,
) -> list[Any]:
    """Mark an application approved and carry it out with the service's function (which gets
    the session, the application, its person and municipality, ``as_of`` and the actor)."""
    from core.persons.models import Person
    from core.tenancy.municipalities import Municipality

    transition(session, application, ApplicationStatus.APPROVED, actor=actor)
    person = session.get_one(Person, application.person_id)
    municipality = session.get_one(Municipality, application.municipality_id)
    issued = carry_out[application.service](
        session, application, person, municipality, as_of, actor
    )
    # What the status page may promise: only the notices this application really caused.
    application.data = {**application.data, "notice_ids": [n.id for n in issued]}
    return issued


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


def reassess_person(
    assess_person: Callable[..., object | None],
    rules: object,
    session: Session,
    person: Any,
    municipality: Any,
    from_year: int,
    as_of: date,
    actor: str,
) -> list[Any]:
    """Re-assess one person's levy (``assess_person`` of its run module, with that module's
    statute cache ``rules``) for every year from ``from_year``; the notices it caused."""
    return reassess_years(
        lambda year: assess_person(
            session,
            person=person,
            municipality=municipality,
            year=year,
            as_of=as_of,
            actor=actor,
            rules=rules,
        ),
        from_year,
        as_of,
    )


def reassess_years(
    assess: Callable[[int], object | None], from_year: int, as_of: date
) -> list[Any]:
    """Re-assess every year from ``from_year`` to the current one; the notices it caused."""
    notices = []
    for year in range(min(from_year, as_of.year), as_of.year + 1):
        notice = assess(year)
        if notice is not None:
            notices.append(notice)
    return notices
