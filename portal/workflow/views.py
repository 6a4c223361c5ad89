"""The status page of an application (any service) and the citizen's answer to a clerk's
question. Both render through ``render_status_page``, so a rejected answer comes back on the
same page with the German message and the text the citizen typed.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core import services
from core.kernel.errors import IllegalTransition, NotFound
from core.levies.dog_tax import services as dog_services
from core.levies.dog_tax.models import get_dog
from core.levies.trade_tax.approval import SERVICE as TRADE_TAX_SERVICE
from core.levies.waste import services as waste_services
from core.persons import models as persons
from core.workflow import applications as workflow
from core.workflow import review
from portal.citizen import current_person
from portal.database import db
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.requests import carry_out
from portal.workflow.forms import AnswerForm


def own_application(application_id: int) -> tuple[persons.Person, workflow.Application]:
    """The logged-in citizen's application in this municipality; anyone else's is a 404."""
    person = current_person()
    try:
        found = workflow.get_application(db(), g.municipality.id, application_id)
    except NotFound:
        abort(404)
    if person is None or found.person_id != person.id:
        abort(404)  # another citizen's application does not exist for this one
    if found.service == TRADE_TAX_SERVICE:
        abort(404)  # the office's own four-eyes step: nothing shows before it is approved
    return person, found


def render_status_page(
    person: persons.Person, found: workflow.Application, form: AnswerForm | None = None
) -> str:
    dog = None
    if found.subject_id and found.service in dog_services.SERVICE_LABELS:
        try:
            dog = get_dog(db(), g.municipality.id, found.subject_id, person_id=person.id)
        except NotFound:
            dog = None
    asked = found.status is workflow.ApplicationStatus.INFO_REQUESTED
    history = found.conversation
    if asked and history and history[-1].from_clerk:
        history = history[:-1]  # the open question is shown above the answer form
    return render_template(
        "portal/workflow/application.html",
        application=found,
        dog=dog,
        label=services.SERVICE_LABELS.get(found.service, found.service),
        waste=found.service in waste_services.SERVICE_LABELS,
        dogs=found.service in dog_services.SERVICE_LABELS,
        approved=workflow.ApplicationStatus.APPROVED,
        history=history,
        form=(form or AnswerForm()) if asked else None,
    )


@bp.get("/antraege/<int:application_id>")
@citizen_required
def application(application_id: int) -> str:
    """The status of one of the citizen's applications, with the conversation and, while a
    clerk's question is open, the form to answer it."""
    person, found = own_application(application_id)
    return render_status_page(person, found)


@bp.post("/antraege/<int:application_id>/antwort")
@citizen_required
def answer_application(application_id: int) -> str | Response:
    person, found = own_application(application_id)
    status_page = url_for("portal.application", application_id=found.id)
    if found.status is not workflow.ApplicationStatus.INFO_REQUESTED:
        flash("Zu diesem Antrag ist keine Antwort (mehr) nötig.", "warning")
        return redirect(status_page)
    form = AnswerForm()
    if form.validate_on_submit():
        answered = carry_out(
            lambda: review.answer_question(
                db(), found, answer=form.answer.data or "", actor=current_user.actor
            ),
            form=form,
            field="answer",
            handled=(IllegalTransition,),
        )
        if isinstance(answered.error, IllegalTransition):
            flash(answered.error.message, "warning")
            return redirect(status_page)
        if answered.ok:
            flash("Ihre Antwort ist eingegangen.", "success")
            return redirect(status_page)
    return render_status_page(person, found, form)
