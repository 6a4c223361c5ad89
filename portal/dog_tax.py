"""Hundemanager: the citizen's dogs, registering and deregistering, lost and replacement tags.

Views are thin: parse the form, call one core service, commit once, show the result.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core.kernel import clock
from core.kernel.errors import NotFound
from core.levies.dog_tax import services as dog_services
from core.levies.dog_tax.models import END_REASON_LABELS, DogStatus, EndReason, dogs_of, get_dog
from core.levies.dog_tax.services import Deregistration, Registration
from core.persons import models as persons
from core.persons.models import PersonKind
from core.workflow import applications as workflow
from portal.citizen import current_person, person_or_redirect, submit_application
from portal.database import db
from portal.forms import (
    AddressFields,
    ConfirmForm,
    DeregistrationForm,
    DogRegistrationForm,
    LostTagForm,
)
from portal.identity.auth import citizen_required, safe_next
from portal.municipal import bp
from portal.uploads import store_upload
from portal.workflow import own_application, render_status_page


@bp.route("/finanzadresse", methods=["GET", "POST"])
@citizen_required
def finance_address() -> str | Response:
    """First use of a service in a municipality: record name and address (Finanzadresse)."""
    if current_person() is not None:
        return redirect(url_for("portal.account"))
    form = AddressFields()
    if form.validate_on_submit():
        persons.create_person(
            db(),
            municipality_id=g.municipality.id,
            kind=PersonKind.NATURAL,
            as_of=clock.today(),
            actor=current_user.actor,
            given_name=form.given_name.data or None,
            family_name=form.family_name.data,
            user_id=current_user.id,
            address={
                "street": form.street.data or "",
                "house_number": form.house_number.data or "",
                "postal_code": form.postal_code.data or "",
                "city": form.city.data or "",
            },
        )
        db().commit()
        target = safe_next(url_for("portal.account"))
        return redirect(
            target if target.startswith(f"/{g.municipality.slug}/") else url_for("portal.account")
        )
    return render_template("portal/ledger/finance_address.html", form=form)


@bp.get("/hunde")
@citizen_required
def dogs() -> str | Response:
    person = current_person()
    session = db()
    applications = []
    own_dogs = []
    if person is not None:
        own_dogs = dogs_of(session, person.id, g.municipality.id)
        applications = [
            a
            for a in workflow.applications_of(session, person.id, g.municipality.id)
            if a.service in dog_services.SERVICE_LABELS
        ]
    return render_template(
        "portal/dog_tax/index.html",
        dogs=own_dogs,
        applications=applications,
        labels=dog_services.SERVICE_LABELS,
        end_reasons=END_REASON_LABELS,
        active=DogStatus.ACTIVE,
    )


@bp.route("/hunde/anmelden", methods=["GET", "POST"])
@citizen_required
def register_dog() -> str | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    session = db()
    as_of = clock.today()
    try:
        rules = dog_services.rules_on(session, g.municipality.id, as_of)
    except NotFound:
        abort(404)
    form = DogRegistrationForm()
    form.set_choices(
        dog_services.breed_choices(rules), {code: e.label for code, e in rules.exemptions.items()}
    )
    if form.validate_on_submit():
        proof_id = _store_proof(form, person)
        if proof_id is not False:
            registration = Registration(
                name=form.name.data or "",
                breed=form.breed_name(),
                born_on=form.born_on.data,
                acquired_on=form.acquired_on.data,
                chip_number=(form.chip_number.data or "").strip() or None,
                exemption_code=form.exemption_code.data or None,
                exemption_note=form.exemption_note.data or "",
                proof_document_id=proof_id or None,
            )
            done = submit_application(
                form,
                lambda: dog_services.submit_registration(
                    session,
                    person=person,
                    municipality=g.municipality,
                    registration=registration,
                    as_of=as_of,
                    actor=current_user.actor,
                ),
            )
            if done:
                return done
    return render_template("portal/dog_tax/register.html", form=form, listed=rules.listed_breeds)


def _store_proof(form: DogRegistrationForm, person: persons.Person) -> int | bool | None:
    return store_upload(
        form.proof, person_id=person.id, kind="proof", filename="Nachweis", actor=current_user.actor
    )


def _own_active_dog(dog_id: int) -> tuple[persons.Person, Any] | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    try:
        dog = get_dog(db(), g.municipality.id, dog_id, person_id=person.id)
    except NotFound:
        abort(404)
    return person, dog


@bp.route("/hunde/<int:dog_id>/abmelden", methods=["GET", "POST"])
@citizen_required
def deregister_dog(dog_id: int) -> str | Response:
    found = _own_active_dog(dog_id)
    if isinstance(found, Response):
        return found
    person, dog = found
    form = DeregistrationForm()
    if form.validate_on_submit():
        session = db()
        done = submit_application(
            form,
            lambda: dog_services.submit_deregistration(
                session,
                person=person,
                municipality=g.municipality,
                as_of=clock.today(),
                actor=current_user.actor,
                deregistration=Deregistration(
                    dog.id,
                    EndReason(form.reason.data),
                    form.ended_on.data,
                    form.new_owner.data or "",
                ),
            ),
        )
        if done:
            return done
    return render_template("portal/dog_tax/deregister.html", form=form, dog=dog)


@bp.route("/hunde/<int:dog_id>/marke-verloren", methods=["GET", "POST"])
@citizen_required
def lost_tag(dog_id: int) -> str | Response:
    found = _own_active_dog(dog_id)
    if isinstance(found, Response):
        return found
    person, dog = found
    form = LostTagForm()
    if form.validate_on_submit():
        session = db()
        done = submit_application(
            form,
            lambda: dog_services.report_lost_tag(
                session,
                person=person,
                municipality=g.municipality,
                dog_id=dog.id,
                lost_on=form.lost_on.data,
                as_of=clock.today(),
                actor=current_user.actor,
            ),
        )
        if done:
            return done
    return render_template("portal/dog_tax/lost_tag.html", form=form, dog=dog)


@bp.route("/hunde/<int:dog_id>/ersatzmarke", methods=["GET", "POST"])
@citizen_required
def replacement_tag(dog_id: int) -> str | Response:
    found = _own_active_dog(dog_id)
    if isinstance(found, Response):
        return found
    person, dog = found
    session = db()
    rules = dog_services.rules_on(session, g.municipality.id, clock.today())
    form = ConfirmForm()
    if form.validate_on_submit():
        done = submit_application(
            form,
            lambda: dog_services.order_replacement_tag(
                session,
                person=person,
                municipality=g.municipality,
                dog_id=dog.id,
                as_of=clock.today(),
                actor=current_user.actor,
            ),
        )
        if done:
            return done
    return render_template(
        "portal/dog_tax/replacement.html", form=form, dog=dog, fee=rules.replacement_tag_fee_cents
    )


@bp.get("/antraege/<int:application_id>")
@citizen_required
def application(application_id: int) -> str:
    """The status of one of the citizen's applications (any service), with the conversation
    and, while a clerk's question is open, the form to answer it (portal/workflow.py)."""
    person, found = own_application(application_id)
    return render_status_page(person, found)
