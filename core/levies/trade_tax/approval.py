"""Trade-tax notices with four eyes, on the one review queue of the application pipeline
(:mod:`core.workflow`): a clerk prepares the notice of a business and year (:func:`prepare`);
if its tax is above the municipality's limit (statute data ``approval_above_euro``) or it
refunds anything, it waits as an application of the service ``trade_tax_assessment`` in the
review queue, with the figures before and after; nothing is booked and no notice exists until
an approver — never the clerk who prepared it — approves it (:func:`approve`). Approval
computes the notice again and refuses when the figures changed meanwhile (a payment came in):
what is issued is what the approver saw, dated the day it was prepared (its due dates are
those the approver saw). Otherwise the notice is issued at once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role, UserAccount
from core.kernel import audit, clock
from core.kernel.errors import AccessDenied, IllegalTransition, ValidationError
from core.levies import assessing, pipeline
from core.levies.basis_notices.models import BasisNotice, TaxKind, TaxObject
from core.levies.basis_notices.queries import ASSESSMENT_KINDS
from core.levies.trade_tax import figures as fig
from core.levies.trade_tax import refund_interest
from core.levies.trade_tax.assessment import TRADE_TAX, last_notice
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality
from core.workflow.applications import Application, ApplicationStatus, transition
from core.workflow.pipeline import Approved, CarriedOut, OnlineService

SERVICE = "trade_tax_assessment"
LABEL = "Gewerbesteuerbescheid (Freigabe)"
APPROVERS = (Role.APPROVER, Role.ADMIN)
OPEN = (ApplicationStatus.IN_REVIEW, ApplicationStatus.INFO_REQUESTED)


@dataclass(frozen=True)
class Prepared:
    """What preparing did: a notice issued, an application waiting, or nothing (no change)."""

    notice: Notice | None = None
    application: Application | None = None


def _figures(
    session: Session, municipality: Municipality, tax_object_id: int, year: int, as_of: date
) -> tuple[fig.Figures, list[str]] | None:
    """The new figures and why they need an approver; None when no notice would be issued
    (nothing changed)."""
    [case] = TRADE_TAX.read(session, municipality, year, [tax_object_id])
    rules = TRADE_TAX.rules(session, municipality.id, year)
    plan = assessing.plan(case, TRADE_TAX.assess(case, year, as_of, rules))
    if plan is None:
        return None
    computed: fig.Computed = TRADE_TAX.compute(case, year, as_of, rules)
    return computed.figures, fig.approval_reasons(computed.figures, rules(year))


def old_figures(session: Session, tax_object_id: int, year: int) -> dict[str, Any] | None:
    """The figures of the last notice of the business for ``year`` (None: none yet)."""
    notice = last_notice(session, tax_object_id, year)
    return dict(notice.data.get("trade_tax") or {}) if notice else None


def open_applications(session: Session, municipality_id: int) -> list[Application]:
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.municipality_id == municipality_id,
                Application.service == SERVICE,
                Application.status.in_(OPEN),
            )
            .order_by(Application.submitted_at, Application.id)
        )
    )


def _pending(session: Session, obj: TaxObject, year: int) -> list[Application]:
    return [
        a
        for a in open_applications(session, obj.municipality_id)
        if a.subject_id == obj.id and a.data.get("year") == year
    ]


def prepare(
    session: Session,
    *,
    municipality: Municipality,
    tax_object: TaxObject,
    year: int,
    as_of: date,
    actor: str,
) -> Prepared:
    """Compute the notice of ``tax_object`` for ``year``; issue it, or queue it for an
    approver. An open application for the same business and year with other figures is
    replaced; one with the same figures stays (preparing twice changes nothing)."""
    found = _figures(session, municipality, tax_object.id, year, as_of)
    if found is None:
        return Prepared()
    figures, reasons = found
    new = figures.as_data()
    for waiting in _pending(session, tax_object, year):
        if waiting.data.get("new") == new:
            return Prepared(application=waiting)
        transition(
            session,
            waiting,
            ApplicationStatus.REJECTED,
            actor=actor,
            message="Durch eine neue Berechnung ersetzt.",
        )
    if not reasons:
        notice = pipeline.assess_one(
            session,
            TRADE_TAX,
            tax_object.id,
            municipality=municipality,
            year=year,
            as_of=as_of,
            actor=actor,
        )
        if notice is not None:
            refund_interest.book(session, notice, municipality, actor=actor)
        return Prepared(notice=notice)
    return Prepared(
        application=_queue(session, municipality, tax_object, year, as_of, actor, new, reasons)
    )


def _queue(
    session: Session,
    municipality: Municipality,
    tax_object: TaxObject,
    year: int,
    as_of: date,
    actor: str,
    new: dict[str, Any],
    reasons: list[str],
) -> Application:
    """The notice as an application waiting in the review queue, old and new figures in it."""
    application = Application(
        municipality_id=municipality.id,
        person_id=tax_object.person_id,
        service=SERVICE,
        subject_id=tax_object.id,
        status=ApplicationStatus.IN_REVIEW,
        data={
            "year": year,
            "prepared_on": as_of.isoformat(),
            "reference": tax_object.reference,
            "name": tax_object.name or "",
            "old": old_figures(session, tax_object.id, year),
            "new": new,
        },
        review_reasons=reasons,
        submitted_at=clock.now(),
        submitted_by=actor,
    )
    session.add(application)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="application.submitted",
        obj=application,
        municipality_id=municipality.id,
        after={"service": SERVICE, "review_reasons": reasons, "year": year},
    )
    return application


def prepare_from_basis_notices(
    session: Session,
    *,
    municipality: Municipality,
    as_of: date,
    actor: str,
    import_id: int | None = None,
    notice_ids: Collection[int] | None = None,
) -> list[Prepared]:
    """Prepare the notice of every business and year a trade-tax basis notice names — of one
    import with ``import_id``, or the notices ``notice_ids`` (a year whose notice stands
    unchanged prepares nothing: running it twice changes nothing)."""
    query = (
        select(TaxObject, BasisNotice.year_from)
        .join(BasisNotice, BasisNotice.tax_object_id == TaxObject.id)
        .where(
            TaxObject.municipality_id == municipality.id,
            TaxObject.tax == TaxKind.TRADE_TAX,
            BasisNotice.kind.in_(ASSESSMENT_KINDS),  # advance-payment bases: with the year before
        )
    )
    if import_id is not None:
        query = query.where(BasisNotice.import_id == import_id)
    if notice_ids is not None:
        query = query.where(BasisNotice.id.in_(list(notice_ids)))
    pairs = session.execute(query.distinct().order_by(BasisNotice.year_from, TaxObject.id)).all()
    done = []
    for obj, year in pairs:
        if year > as_of.year:
            continue  # an advance-payment basis for a coming year: with that year's notice
        result = prepare(
            session,
            municipality=municipality,
            tax_object=obj,
            year=year,
            as_of=as_of,
            actor=actor,
        )
        if result.notice is not None or result.application is not None:
            done.append(result)
    return done


def check_approver(application: Application, actor: str, role: Role | None) -> None:
    """Four eyes: an approver, and not the clerk who prepared it."""
    if role not in APPROVERS:
        raise AccessDenied(
            "Gewerbesteuerbescheide gibt nur frei, wer zur Freigabe berechtigt ist "
            "(Rolle „Freigabe“)."
        )
    if actor == application.submitted_by:
        raise AccessDenied(
            "Vier-Augen-Prinzip: Wer den Bescheid vorbereitet hat, darf ihn nicht selbst freigeben."
        )


def _role_of(session: Session, actor: str) -> Role | None:
    kind, _, number = actor.partition(":")
    if kind != "user" or not number.isdigit():
        return None
    account = session.get(UserAccount, int(number))
    return account.role if account is not None else None


def _carry_out(session: Session, approved: Approved) -> CarriedOut:
    """Issue the approved notice, exactly as prepared."""
    application = approved.application
    check_approver(application, approved.actor, _role_of(session, approved.actor))
    obj = session.get_one(TaxObject, application.subject_id)
    year = int(application.data["year"])
    prepared_on = date.fromisoformat(application.data["prepared_on"])
    found = _figures(session, approved.municipality, obj.id, year, prepared_on)
    if found is None or found[0].as_data() != application.data["new"]:
        raise ValidationError(
            "Die Berechnung hat sich seit der Vorbereitung geändert (z. B. ist eine Zahlung "
            "eingegangen). Bitte berechnen Sie den Bescheid neu."
        )
    notice = pipeline.assess_one(
        session,
        TRADE_TAX,
        obj.id,
        municipality=approved.municipality,
        year=year,
        as_of=prepared_on,
        actor=approved.actor,
    )
    if notice is None:
        return CarriedOut(notices=[])
    refund_interest.book(session, notice, approved.municipality, actor=approved.actor)
    return CarriedOut(notices=[notice])


REVIEW = OnlineService(code=SERVICE, label=LABEL, carry_out=_carry_out)
SERVICES: Sequence[OnlineService] = (REVIEW,)


def approve(session: Session, application: Application, *, as_of: date, actor: str) -> list[Notice]:
    """The second pair of eyes (``actor``: a user account with the approver or admin role)
    approves: the notice is issued and booked."""
    if application.service != SERVICE:
        raise IllegalTransition("Dieser Antrag ist kein Gewerbesteuerbescheid.")
    check_approver(application, actor, _role_of(session, actor))
    issued = REVIEW.approve(session, application, as_of=as_of, actor=actor)
    return [session.get_one(Notice, n.id) for n in issued]
