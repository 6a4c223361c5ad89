"""Representation on the back office's person page: an organisation's representatives and the
powers of attorney a person gave; a clerk records a signed paper power of attorney (the agent
accepts it with the e-mailed link, as with one granted online) and revokes one."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID
from backoffice.persons import person_page_section
from core.kernel import clock
from core.kernel.errors import NotFound
from core.persons import models as persons
from core.persons.models import PersonKind
from core.representation import attorney, representatives
from core.representation import mail as representation_mail
from core.representation.models import PowerOfAttorney, Scope
from core.tenancy.municipalities import Municipality
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.representation.forms import AttorneyForm
from portal.requests import carry_out


@person_page_section
def representation_section(person: persons.Person) -> dict[str, object]:
    session = db()
    form = AttorneyForm(prefix="vollmacht")
    form.valid_from.data = clock.today()
    return {
        "person_representatives": (
            representatives.current(session, person) if person.kind is PersonKind.BUSINESS else []
        ),
        "powers_given": attorney.given_by(session, person),
        "attorney_form": form,
        "attorney_confirm": ConfirmForm(),
        "representation_today": clock.today(),
    }


def _person(person_id: int) -> persons.Person:
    if person_id > MAX_ID:
        abort(404)
    try:
        return persons.get_person(db(), current_user.municipality_id, person_id)
    except NotFound:
        abort(404)


def _back(person: persons.Person) -> str:
    return url_for("backoffice.person_detail", person_id=person.id, _anchor="vollmachten")


@bp.post("/personen/<int:person_id>/vollmachten")
@staff_required()
def record_attorney(person_id: int) -> Response:
    person = _person(person_id)
    form = AttorneyForm(prefix="vollmacht")
    if not form.validate_on_submit():
        messages = [m for errors in form.errors.values() for m in errors]
        flash(" ".join(str(m) for m in messages) or "Bitte prüfen Sie die Angaben.", "error")
        return redirect(_back(person))
    session = db()
    municipality = session.get_one(Municipality, current_user.municipality_id)

    def record() -> PowerOfAttorney:
        power = attorney.grant(
            session,
            person,
            agent_email=form.agent_email.data or "",
            scope=Scope(form.scope.data),
            valid_from=form.valid_from.data or clock.today(),
            valid_until=form.valid_until.data,
            actor=current_user.actor,
            online=False,
            as_of=clock.today(),
        )
        token = attorney.invitation_token(
            current_app.config["SECRET_KEY"], power, issued_at=clock.now()
        )
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        url = base + url_for("portal.attorney_invitation", muni=municipality.slug, token=token)
        representation_mail.send_attorney_invitation(session, municipality, power, url)
        return power

    if carry_out(record).ok:
        flash("Vollmacht erfasst; die bevollmächtigte Person erhält eine E-Mail.", "success")
    return redirect(_back(person))


@bp.post("/personen/<int:person_id>/vollmachten/<int:power_id>/widerrufen")
@staff_required()
def revoke_attorney_clerk(person_id: int, power_id: int) -> Response:
    person = _person(person_id)
    if not ConfirmForm().validate_on_submit() or power_id > MAX_ID:
        abort(400)
    session = db()
    try:
        power = attorney.get_for(session, power_id, principal=person, agent_user_id=None)
    except NotFound:
        abort(404)
    done = carry_out(
        lambda: attorney.revoke(session, power, actor=current_user.actor, now=clock.now())
    )
    if done.ok:
        flash("Die Vollmacht wurde widerrufen.", "success")
    return redirect(_back(person))
