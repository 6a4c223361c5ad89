"""Back office for the dog tax: review queue and decisions, criteria, annual run, manual
assessment and reprint of notices. Every query is limited to the clerk's municipality."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from backoffice.views import bp
from core import services
from core.kernel import archive, clock
from core.kernel.errors import DomainError, NotFound, ValidationError
from core.levies import run_guards
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.dog_tax.models import Dog
from core.levies.water import guard as water_guard
from core.notices import records as notices
from core.persons import models as persons
from core.workflow import applications as workflow
from core.workflow import review
from core.workflow.criteria import ReviewCriterion, update_criterion
from portal.database import db
from portal.downloads import send_recorded
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.notice_settings import notice_settings
from portal.workflow.forms import CriterionForm, DecisionForm


@bp.get("/pruefung")
@staff_required()
def review_queue() -> str:
    queue = workflow.review_queue(db(), current_user.municipality_id)
    people = {
        p.id: p
        for p in db().scalars(
            select(persons.Person).where(persons.Person.id.in_({a.person_id for a in queue}))
        )
    }
    return render_template(
        "backoffice/workflow/review_queue.html",
        queue=queue,
        people=people,
        labels=services.SERVICE_LABELS,
    )


@bp.route("/antraege/<int:application_id>", methods=["GET", "POST"])
@staff_required()
def application_detail(application_id: int) -> str | Response:
    session = db()
    try:
        application = workflow.get_application(
            session, current_user.municipality_id, application_id
        )
    except NotFound:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        decision = request.form.get("decision")
        message = (form.message.data or "").strip()
        try:
            if decision == "approve":
                services.approve(
                    session, application, as_of=clock.today(), actor=current_user.actor
                )
            elif decision == "reject":
                review.reject(session, application, reason=message, actor=current_user.actor)
            elif decision == "ask":
                review.request_information(
                    session, application, question=message, actor=current_user.actor
                )
            else:
                abort(400)
        except DomainError as exc:
            session.rollback()
            form.form_errors.append(exc.message)
        else:
            session.commit()
            flash(f"Antrag {application.id}: {application.status_label}.", "success")
            return redirect(url_for("backoffice.review_queue"))
    person = persons.get_person(session, current_user.municipality_id, application.person_id)
    proof = None
    if application.data.get("proof_document_id"):
        proof = archive.get_document(
            session, current_user.municipality_id, int(application.data["proof_document_id"])
        )
    return render_template(
        "backoffice/workflow/application.html",
        application=application,
        form=form,
        person=person,
        proof=proof,
        label=services.SERVICE_LABELS.get(application.service, ""),
        open_statuses=(
            workflow.ApplicationStatus.IN_REVIEW,
            workflow.ApplicationStatus.INFO_REQUESTED,
        ),
    )


@bp.get("/dokumente/<int:document_id>")
@staff_required()
def document(document_id: int) -> Response:
    session = db()
    try:
        found = archive.get_document(session, current_user.municipality_id, document_id)
    except NotFound:
        abort(404)
    return send_recorded(found)


@bp.route("/kriterien", methods=["GET", "POST"])
@staff_required()
def criteria() -> str | Response:
    session = db()
    rows = list(
        session.scalars(
            select(ReviewCriterion)
            .where(ReviewCriterion.municipality_id == current_user.municipality_id)
            .order_by(ReviewCriterion.service, ReviewCriterion.code)
        )
    )
    form = CriterionForm()
    if request.method == "POST" and form.validate_on_submit():
        criterion = next((c for c in rows if str(c.id) == request.form.get("criterion_id")), None)
        if criterion is None:
            abort(404)
        try:
            update_criterion(
                session,
                criterion,
                enabled=form.enabled.data == "1",
                parameter=int(form.parameter.data) if form.parameter.data else None,
                actor=current_user.actor,
            )
        except DomainError as exc:
            session.rollback()
            form.form_errors.append(exc.message)
        else:
            session.commit()
            flash("Kriterium gespeichert.", "success")
            return redirect(url_for("backoffice.criteria"))
    return render_template(
        "backoffice/workflow/criteria.html", rows=rows, form=form, labels=services.SERVICE_LABELS
    )


RUNS = {
    "dog_tax": "Hundesteuer (Jahresveranlagung)",
    "waste_fee": "Abfallgebühren (Jahresveranlagung)",
    "water_fee": "Wasser (Verbrauchsabrechnung des Jahres)",
}


def _run(session: Session, levy: str, year: int, *, confirm_early: bool) -> str:
    """One batch run; returns the German summary for the clerk."""
    from core.levies.waste import assessment as waste_fee_run
    from core.levies.water import assessment as water_run

    args = {"municipality": g.municipality, "as_of": clock.today(), "actor": current_user.actor}
    if levy == "water_fee":
        water = water_run.bill_all(session, period=year, confirm_early=confirm_early, **args)
        return (
            f"Wasser {year}: {water.meters} Zähler abgerechnet, {water.notices} Bescheide, "
            f"davon {water.estimated} geschätzt."
            + (f" {water.waiting} Zählerstände warteten noch auf Prüfung." if water.waiting else "")
        )
    run = waste_fee_run.assess_all if levy == "waste_fee" else dog_tax_run.assess_all
    stats = run(session, year=year, **args)
    return (
        f"{RUNS[levy].split(' (')[0]} {year}: {stats.persons} Personen geprüft, "
        f"{stats.notices} Bescheide erstellt."
    )


@bp.route("/veranlagung", methods=["GET", "POST"])
@staff_required()
def assessment_run() -> str | Response | tuple[str, int]:
    """Batch runs (Stapellauf) of the clerk's municipality: the annual dog-tax and waste-fee
    assessments and the water billing; each is idempotent. A year that cannot be assessed and
    a water billing before the reading deadline (unless confirmed) are refused, the latter
    with what it would do: meters estimated, readings waiting for a clerk."""
    form = ConfirmForm()
    today = clock.today()
    year_text = request.form.get("year") or str(today.year + 1)
    levy = request.form.get("levy", "dog_tax")
    confirm_early = request.form.get("confirm_early", "").lower() in ("1", "y", "on", "true", "ja")
    check, invalid = None, False
    if form.validate_on_submit():
        session = db()
        try:
            if levy not in RUNS:
                raise ValidationError("Bitte wählen Sie einen Lauf aus der Liste.")
            year = run_guards.parse_year(year_text, today)
            if levy == "water_fee":
                check = water_guard.water_billing_check(session, g.municipality.id, year, today)
            message = _run(session, levy, year, confirm_early=confirm_early)
        except water_guard.EarlyBilling as exc:  # valid input: the screen asks to confirm
            session.rollback()
            form.form_errors.append(exc.message)
            check = exc.check
        except DomainError as exc:
            session.rollback()
            form.form_errors.append(exc.message)
            invalid = True
        else:
            session.commit()
            flash(message, "success")
            return redirect(url_for("backoffice.assessment_run"))
    page = render_template(
        "backoffice/levies/assessment_run.html",
        form=form,
        year=year_text,
        levy=levy,
        levies=RUNS,
        check=check,
        confirm_early=confirm_early,
        pending=len(notices.pending_documents(db(), current_user.municipality_id)),
    )
    return (page, 422) if invalid else page


@bp.post("/personen/<int:person_id>/veranlagen")
@staff_required()
def assess_person(person_id: int) -> Response:
    """Manual assessment of one person for a year (e.g. after a correction)."""
    session = db()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        person = persons.get_person(session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    try:
        year = run_guards.parse_year(
            request.form.get("year") or str(clock.today().year), clock.today()
        )
    except ValidationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("backoffice.person_detail", person_id=person.id))
    notice = dog_tax_run.assess_person(
        session,
        person=person,
        municipality=g.municipality,
        year=year,
        as_of=clock.today(),
        actor=current_user.actor,
    )
    session.commit()
    flash(
        f"Bescheid {notice.number} erstellt." if notice else f"Hundesteuer {year}: keine Änderung.",
        "success" if notice else "info",
    )
    return redirect(url_for("backoffice.person_detail", person_id=person.id))


@bp.get("/bescheide/<int:notice_id>.pdf")
@staff_required()
def notice_pdf(notice_id: int) -> Response:
    """Reprint: the archived PDF (rendered on first need), download recorded."""
    session = db()
    try:
        notice = notices.get_notice(session, current_user.municipality_id, notice_id)
    except NotFound:
        abort(404)
    return send_recorded(
        notices.ensure_document(session, notice, notice_settings(), actor=current_user.actor)
    )


def dog_tax_context(person: persons.Person) -> dict[str, object]:
    """Dogs, notices and their downloads for the person detail page."""
    session = db()
    found = notices.notices_of(session, person.id, person.municipality_id)
    downloads = archive.downloads_of(session, [n.document_id for n in found if n.document_id])
    by_document: dict[int, list[archive.DocumentDownload]] = {}
    for d in downloads:
        by_document.setdefault(d.document_id, []).append(d)
    dogs = list(session.scalars(select(Dog).where(Dog.person_id == person.id).order_by(Dog.id)))
    return {
        "dogs": dogs,
        "notices": found,
        "downloads": by_document,
        "confirm": ConfirmForm(),
        "this_year": clock.today().year,
    }
