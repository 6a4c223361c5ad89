"""The one application pipeline every online service plugs into.

form data → the service's validation (``FieldErrors`` before anything is saved) → daily limit
(core.workflow.limits) → review criteria (data of the municipality, core.workflow.criteria) →
review queue, or straight through when no criterion applies → carry out → re-assess the levy.

A service declares only what is its own, as an :class:`OnlineService`: its code and label, its
default review criteria, what it carries out and which levy it re-assesses. Its submit function
validates the form and hands a :class:`Submission` to :meth:`OnlineService.submit`; a
:class:`Registry` (core.services lists the portal's services) finds the service that carries out
an application a clerk approves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.workflow.applications import Application, ApplicationStatus, transition
from core.workflow.criteria import CriterionSpec, ensure_criteria, review_reasons
from core.workflow.limits import check_daily_limit

AUTO_APPROVER = "system:auto"  # the actor of an application no criterion sent to a clerk


class Issued(Protocol):
    """What carrying out may cause (a notice); the application keeps only its id."""

    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class CarriedOut:
    """What carrying out an application did: the notices it issued itself, and the first year
    whose assessment the change touches (re-assessed up to the current year)."""

    notices: Sequence[Issued] = ()
    reassess_from: int | None = None


@dataclass(frozen=True)
class Approved:
    """An approved application as its service carries it out: whose, where, when, by whom."""

    application: Application
    person: Person
    municipality: Municipality
    as_of: date
    actor: str


CarryOut = Callable[[Session, Approved], CarriedOut]
RulesT = TypeVar("RulesT")
RulesT_contra = TypeVar("RulesT_contra", contravariant=True)


class AssessPerson(Protocol[RulesT_contra]):
    """A levy's change assessment of one person for one year; the notice it caused, if any."""

    def __call__(
        self,
        session: Session,
        *,
        person: Person,
        municipality: Municipality,
        year: int,
        as_of: date,
        actor: str,
        rules: RulesT_contra,
    ) -> Issued | None: ...


@dataclass(frozen=True)
class Reassessment(Generic[RulesT]):
    """How a levy re-assesses one person after a change: its change assessment and the statute
    cache (built per municipality) that the assessed years share."""

    assess_person: AssessPerson[RulesT]
    rules_cache: Callable[[Session, int], RulesT]

    def years(
        self,
        session: Session,
        person: Person,
        municipality: Municipality,
        from_year: int,
        as_of: date,
        actor: str,
    ) -> list[Issued]:
        """Re-assess every year from ``from_year`` to the current one; the notices it caused."""
        rules = self.rules_cache(session, municipality.id)
        notices = []
        for year in range(min(from_year, as_of.year), as_of.year + 1):
            notice = self.assess_person(
                session,
                person=person,
                municipality=municipality,
                year=year,
                as_of=as_of,
                actor=actor,
                rules=rules,
            )
            if notice is not None:
                notices.append(notice)
        return notices


@dataclass(frozen=True)
class Submission:
    """A checked application, ready to be recorded: what the citizen entered (JSON data), the
    object it concerns, and what the review criteria judge — the day it takes effect (for
    "backdated") and the flags the service raised (criterion code → applies), with a detail
    shown in brackets after a flag's label."""

    data: dict[str, Any]
    subject_id: int | None = None
    takes_effect_on: date | None = None
    flags: Mapping[str, bool] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OnlineService:
    """One online service: what is its own; the path is the same for all.

    ``criteria_on_first_use``: its default criteria are created when it is first used (otherwise
    they come with the levy's statute, core.demo and the back office).
    """

    code: str  # Application.service, ReviewCriterion.service
    label: str  # German, for the citizen's and the clerk's lists
    carry_out: CarryOut
    criteria: tuple[CriterionSpec, ...] = ()
    levy: Reassessment[Any] | None = None
    criteria_on_first_use: bool = False

    def __post_init__(self) -> None:
        if any(spec.service != self.code for spec in self.criteria):
            raise ValueError(f"{self.code}: a criterion of another service")

    def submit(
        self,
        session: Session,
        submission: Submission,
        *,
        person: Person,
        municipality: Municipality,
        as_of: date,
        actor: str,
    ) -> Application:
        """Judge a checked application by the municipality's criteria and record it; without
        review reasons it is carried out at once."""
        if self.criteria_on_first_use:
            ensure_criteria(session, municipality.id, self.criteria)
        reasons = review_reasons(
            session,
            municipality.id,
            self.code,
            self.criteria,
            flags=submission.flags,
            details=submission.details,
            takes_effect_on=submission.takes_effect_on,
            as_of=as_of,
        )
        return submit(
            session,
            person_id=person.id,
            municipality_id=municipality.id,
            service=self.code,
            data=submission.data,
            reasons=reasons,
            as_of=as_of,
            actor=actor,
            subject_id=submission.subject_id,
            approve=lambda s, a, day, who: self.approve(s, a, as_of=day, actor=who),
        )

    def approve(
        self, session: Session, application: Application, *, as_of: date, actor: str
    ) -> list[Issued]:
        """Mark an application approved, carry it out and re-assess; the notices it caused."""
        transition(session, application, ApplicationStatus.APPROVED, actor=actor)
        person = session.get_one(Person, application.person_id)
        municipality = session.get_one(Municipality, application.municipality_id)
        done = self.carry_out(
            session, Approved(application, person, municipality, as_of=as_of, actor=actor)
        )
        issued = list(done.notices)
        if done.reassess_from is not None:
            if self.levy is None:
                raise ValueError(f"{self.code}: no levy to re-assess")
            issued += self.levy.years(
                session, person, municipality, done.reassess_from, as_of, actor
            )
        # What the status page may promise: only the notices this application really caused.
        application.data = {**application.data, "notice_ids": [n.id for n in issued]}
        return issued


class Registry:
    """Online services by code: their labels, and the one that carries out an application."""

    def __init__(self, *services: OnlineService) -> None:
        self._services: dict[str, OnlineService] = {}
        for service in services:
            if service.code in self._services:
                raise ValueError(f"online service {service.code} registered twice")
            self._services[service.code] = service
        self.labels = {code: s.label for code, s in self._services.items()}

    def __getitem__(self, code: str) -> OnlineService:
        return self._services[code]

    def approve(
        self, session: Session, application: Application, *, as_of: date, actor: str
    ) -> list[Issued]:
        """Approve and carry out ``application`` with the service that offers it."""
        return self[application.service].approve(session, application, as_of=as_of, actor=actor)


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
        approve(session, application, as_of, AUTO_APPROVER)
    return application
