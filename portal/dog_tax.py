"""Hundemanager: the citizen's dogs, registering and deregistering, lost and replacement tags.

Views are thin: parse the form, call one core service, commit once, show the result.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileSize
from werkzeug.wrappers import Response
from wtforms import DateField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from core.kernel import clock
from core.kernel.errors import NotFound
from core.levies.dog_tax import services as dog_services
from core.levies.dog_tax.models import END_REASON_LABELS, DogStatus, EndReason, dogs_of, get_dog
from core.levies.dog_tax.services import Deregistration, Registration
from core.persons import models as persons
from core.workflow import applications as workflow
from portal.citizen import current_person, person_or_redirect, submit_application
from portal.database import db
from portal.form_fields import UPLOAD_MAX_BYTES, ConfirmForm, GermanForm, required
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.uploads import store_upload

PROOF_TYPES = ["pdf", "jpg", "jpeg", "png"]


class DogRegistrationForm(GermanForm):
    name = StringField("Name des Hundes", validators=[required(), Length(max=60)])
    breed = SelectField("Rasse", validators=[required("Bitte wählen Sie die Rasse.")])
    breed_other = StringField(
        "Andere Rasse",
        validators=[Optional(), Length(max=80)],
        description="Nur ausfüllen, wenn Sie oben „andere Rasse“ gewählt haben.",
    )
    born_on = DateField("Geburtsdatum des Hundes", validators=[Optional()])
    acquired_on = DateField(
        "Seit wann halten Sie den Hund?",
        validators=[required("Bitte geben Sie das Datum an.")],
        description="Tag der Aufnahme oder Ihres Zuzugs mit dem Hund.",
    )
    chip_number = StringField(
        "Chipnummer (Transponder)",
        validators=[Optional()],
        description="15 Ziffern, steht im Heimtierausweis.",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    exemption_code = SelectField("Steuerbefreiung oder -ermäßigung", validators=[Optional()])
    exemption_note = TextAreaField(
        "Begründung der Befreiung", validators=[Optional(), Length(max=1000)]
    )
    proof = FileField(
        "Nachweis (PDF, JPG oder PNG, höchstens 5 MB)",
        validators=[
            FileAllowed(PROOF_TYPES, "Bitte laden Sie eine PDF-, JPG- oder PNG-Datei hoch."),
            FileSize(UPLOAD_MAX_BYTES, message="Die Datei ist größer als 5 MB."),
        ],
    )

    OTHER = "__andere__"

    def set_choices(self, breeds: list[str], exemptions: dict[str, str]) -> None:
        self.breed.choices = [
            SelectChoice("", "Bitte wählen"),
            *(SelectChoice(b, b) for b in breeds),
            SelectChoice(self.OTHER, "andere Rasse"),
        ]
        self.exemption_code.choices = [
            SelectChoice("", "keine"),
            *(SelectChoice(k, v) for k, v in exemptions.items()),
        ]

    def breed_name(self) -> str:
        if self.breed.data == self.OTHER:
            return (self.breed_other.data or "").strip()
        return self.breed.data or ""

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.breed.data == self.OTHER and not (self.breed_other.data or "").strip():
            self.breed_other.errors = [*self.breed_other.errors, "Bitte geben Sie die Rasse an."]
            ok = False
        return ok


class DeregistrationForm(GermanForm):
    reason = RadioField(
        "Grund der Abmeldung",
        choices=[
            SelectChoice("died", "Der Hund ist verstorben"),
            SelectChoice("sold", "Abgegeben oder verkauft"),
            SelectChoice("moved_away", "Ich ziehe mit dem Hund weg"),
            SelectChoice("lost", "Der Hund ist entlaufen"),
        ],
        validators=[required("Bitte wählen Sie einen Grund.")],
    )
    ended_on = DateField("Datum", validators=[required("Bitte geben Sie das Datum an.")])
    new_owner = TextAreaField(
        "Name und Anschrift der neuen Halterin oder des neuen Halters",
        validators=[Optional(), Length(max=500)],
        description="Nur bei Abgabe oder Verkauf.",
    )


class LostTagForm(GermanForm):
    lost_on = DateField(
        "Wann ging die Marke verloren?", validators=[required("Bitte geben Sie das Datum an.")]
    )


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
