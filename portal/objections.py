"""Widerspruch online (core.objections): from a notice in the account, with reasons and an
optional attachment, received with a timestamp; the deadline (one month after the deemed
delivery) is shown and a late objection is still received. Once decided (core.objections.decisions)
the objection's page shows the decision and the letter (Abhilfe- or Widerspruchsbescheid), whose
download is recorded as a notice's is. Where the levy's statute has no
Widerspruch (NRW: § 110 JustG NRW), the page names the suit at the Verwaltungsgericht instead
of offering the form. Another person's notice is "not found"."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileSize
from werkzeug.wrappers import Response
from wtforms import BooleanField, TextAreaField
from wtforms.validators import Length

from core.kernel import archive, clock
from core.kernel.errors import NotFound
from core.notices import records as notices
from core.notices.records import Notice
from core.objections import decisions, letters, service
from core.objections.models import DecisionStatus
from core.persons.models import Person
from portal.citizen import person_or_redirect
from portal.database import db, writes
from portal.downloads import send_recorded
from portal.form_fields import UPLOAD_MAX_BYTES, GermanForm, required
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.requests import carry_out
from portal.uploads import store_upload

ATTACHMENT_TYPES = ["pdf", "jpg", "jpeg", "png"]


class ObjectionForm(GermanForm):
    reasons = TextAreaField(
        "Begründung",
        validators=[
            required("Bitte begründen Sie Ihren Widerspruch."),
            Length(max=service.MAX_REASONS, message="Bitte höchstens 5000 Zeichen."),
        ],
        description="Was ist an diesem Bescheid aus Ihrer Sicht falsch?",
    )
    attachment = FileField(
        "Anlage (PDF, JPG oder PNG, höchstens 5 MB)",
        validators=[
            FileAllowed(ATTACHMENT_TYPES, "Bitte laden Sie eine PDF-, JPG- oder PNG-Datei hoch."),
            FileSize(UPLOAD_MAX_BYTES, message="Die Datei ist größer als 5 MB."),
        ],
    )
    suspension = BooleanField(
        "Aussetzung der Vollziehung beantragen",
        description="Bis zur Entscheidung wird wegen dieses Bescheids nicht gemahnt.",
    )


def _own_notice(notice_id: int) -> tuple[Person, Notice] | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    try:
        notice = notices.get_notice(db(), g.municipality.id, notice_id)
    except NotFound:
        abort(404)
    if notice.person_id != person.id:
        abort(404)
    return person, notice


@bp.route("/bescheide/<int:notice_id>/widerspruch", methods=["GET", "POST"])
@citizen_required
def objection_new(notice_id: int) -> str | Response:
    found = _own_notice(notice_id)
    if isinstance(found, Response):
        return found
    person, notice = found
    session = db()
    allowed = service.objection_allowed(session, notice)
    period = service.period_of(session, notice, g.municipality.state)
    form = ObjectionForm()
    if allowed and request.method == "POST" and form.validate_on_submit():
        document_id = store_upload(
            form.attachment, person_id=person.id, kind="objection",
            filename=f"Widerspruch-Anlage-{notice.number}", actor=current_user.actor,
        )  # fmt: skip
        if document_id is not False:
            done = carry_out(
                lambda: service.lodge(
                    session, municipality=g.municipality, person=person, notice=notice,
                    reasons=form.reasons.data or "", suspension=bool(form.suspension.data),
                    actor=current_user.actor, document_id=document_id or None,
                ),
                form=form,
            )  # fmt: skip
            if done.ok:
                return redirect(
                    url_for("portal.objection_received", notice_id=notice.id, _anchor="eingang")
                )
    return render_template(
        "portal/notices/objection.html",
        notice=notice,
        form=form,
        allowed=allowed,
        period=period,
        late=period.deadline is not None and clock.today() > period.deadline,
        lodged=service.objections_of_notice(session, notice),
    )


@bp.get("/bescheide/<int:notice_id>/widerspruch/eingang")
@citizen_required
def objection_received(notice_id: int) -> str | Response:
    found = _own_notice(notice_id)
    if isinstance(found, Response):
        return found
    _, notice = found
    session = db()
    found_objections = service.objections_of_notice(session, notice)
    decided = {o.id: decisions.current(session, o) for o in found_objections}
    final = {k: d for k, d in decided.items() if d is not None and d.status is DecisionStatus.FINAL}
    return render_template(
        "portal/notices/objection_received.html",
        notice=notice,
        objections=found_objections,
        decided=final,
        delivered={k: letters.delivery_of(session, d) for k, d in final.items()},
    )


@bp.get("/bescheide/<int:notice_id>/widerspruch/<int:objection_id>/bescheid.pdf")
@writes  # the download is recorded
@citizen_required
def objection_letter(notice_id: int, objection_id: int) -> Response:
    """The letter of the decision on one's own objection (the download recorded)."""
    found = _own_notice(notice_id)
    if isinstance(found, Response):
        return found
    person, notice = found
    session = db()
    try:
        objection = service.get_objection(session, g.municipality.id, objection_id)
    except NotFound:
        abort(404)
    decision = decisions.current(session, objection)
    if (
        objection.notice_id != notice.id
        or objection.person_id != person.id
        or decision is None
        or decision.document_id is None
    ):
        abort(404)
    return send_recorded(archive.get_document(session, g.municipality.id, decision.document_id))
