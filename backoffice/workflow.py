"""Back office for the online services of every area: the review queue, the clerk's decision
on an application (approve and carry out, reject, ask the applicant) with its archived proof,
and the review criteria.
Every query is limited to the clerk's municipality."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from backoffice.lookups import rows_by_id
from core import services
from core.kernel import archive, clock
from core.kernel.errors import NotFound
from core.levies.trade_tax.approval import SERVICE as TRADE_TAX_SERVICE
from core.persons import models as persons
from core.workflow import applications as workflow
from core.workflow import review
from core.workflow.applications import Application
from core.workflow.criteria import ReviewCriterion, update_criterion
from portal.database import db
from portal.downloads import send_recorded
from portal.identity.auth import staff_required
from portal.requests import carry_out
from portal.workflow.forms import CriterionForm, DecisionForm


@bp.get("/pruefung")
@staff_required()
def review_queue() -> str:
    queue = workflow.review_queue(db(), current_user.municipality_id)
    return render_template(
        "backoffice/workflow/review_queue.html",
        queue=queue,
        people=rows_by_id(db(), persons.Person, {a.person_id for a in queue}),
        labels=services.SERVICE_LABELS,
    )


def _decision(application: Application, decision: str, message: str) -> Callable[[], object]:
    """The core call for the clerk's ``decision``; an unknown decision is a bad request."""
    session, actor = db(), current_user.actor
    if decision == "approve":
        return lambda: services.approve(session, application, as_of=clock.today(), actor=actor)
    if decision == "reject":
        return lambda: review.reject(session, application, reason=message, actor=actor)
    if decision == "ask":
        return lambda: review.request_information(
            session, application, question=message, actor=actor
        )
    abort(400)


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
    if application.service == TRADE_TAX_SERVICE:  # its own page: the figures side by side
        return redirect(url_for("backoffice.trade_tax_approval", application_id=application.id))
    form = DecisionForm()
    if form.validate_on_submit():
        decide = _decision(
            application, request.form.get("decision", ""), (form.message.data or "").strip()
        )
        if carry_out(decide, form=form).ok:
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
    """An archived document, such as the proof attached to an application (download recorded)."""
    try:
        found = archive.get_document(db(), current_user.municipality_id, document_id)
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
        saved = carry_out(
            lambda: update_criterion(
                session,
                criterion,
                enabled=form.enabled.data == "1",
                parameter=int(form.parameter.data) if form.parameter.data else None,
                actor=current_user.actor,
            ),
            form=form,
        )
        if saved.ok:
            flash("Kriterium gespeichert.", "success")
            return redirect(url_for("backoffice.criteria"))
    return render_template(
        "backoffice/workflow/criteria.html", rows=rows, form=form, labels=services.SERVICE_LABELS
    )
