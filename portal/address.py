"""The citizen's address: the Finanzadresse (name and address, recorded on the first use of a
service in a municipality) and the change of address (Anschrift ändern) from the account,
straight through or to a clerk by the review criteria (its result is the application's status
page)."""

from __future__ import annotations

from datetime import date

from flask import g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, Regexp

from core import address as address_services
from core.kernel import clock
from core.persons import models as persons
from core.persons.models import PersonKind
from portal.citizen import current_person, person_or_redirect, submit_application
from portal.database import db
from portal.form_fields import GermanForm, required
from portal.identity.auth import citizen_required, safe_next
from portal.municipal import bp
from portal.requests import carry_out


def _at_most(n: int) -> Length:
    return Length(max=n, message=f"Bitte höchstens {n} Zeichen.")


class AddressFields(GermanForm):
    given_name = StringField(
        "Vorname",
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "given-name"},
    )
    family_name = StringField(
        "Nachname",
        validators=[required("Bitte geben Sie Ihren Nachnamen an."), Length(max=100)],
        render_kw={"autocomplete": "family-name"},
    )
    street = StringField(
        "Straße",
        validators=[required(), Length(max=120)],
        render_kw={"autocomplete": "address-line1"},
    )
    house_number = StringField("Hausnummer", validators=[required(), Length(max=12)])
    postal_code = StringField(
        "Postleitzahl",
        validators=[required(), Regexp(r"^\d{5}$", message="Die Postleitzahl hat fünf Ziffern.")],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    city = StringField(
        "Ort", validators=[required(), Length(max=80)], render_kw={"autocomplete": "address-level2"}
    )


class AddressChangeForm(GermanForm):
    street = StringField(
        "Straße",
        validators=[required("Bitte geben Sie die Straße an."), _at_most(120)],
        render_kw={"autocomplete": "address-line1"},
    )
    house_number = StringField(
        "Hausnummer",
        validators=[required("Bitte geben Sie die Hausnummer an."), _at_most(12)],
    )
    postal_code = StringField(
        "Postleitzahl",
        validators=[
            required("Bitte geben Sie die Postleitzahl an."),
            Regexp(r"^\s*\d{5}\s*$", message="Die Postleitzahl hat fünf Ziffern."),
        ],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    city = StringField(
        "Ort",
        validators=[required("Bitte geben Sie den Ort an."), _at_most(80)],
        render_kw={"autocomplete": "address-level2"},
    )
    valid_from = DateField(
        "Seit wann wohnen Sie dort?",
        validators=[required("Bitte geben Sie das Datum des Umzugs an.")],
        description="Der Tag des Umzugs; höchstens drei Monate im Voraus.",
    )


@bp.route("/anschrift/aendern", methods=["GET", "POST"])
@citizen_required
def change_address() -> str | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    form = AddressChangeForm()
    if form.validate_on_submit():
        session = db()
        done = submit_application(
            form,
            lambda: address_services.submit_address_change(
                session,
                person=person,
                municipality=g.municipality,
                new={
                    "street": form.street.data or "",
                    "house_number": form.house_number.data or "",
                    "postal_code": form.postal_code.data or "",
                    "city": form.city.data or "",
                },
                valid_from=form.valid_from.data or date.min,
                as_of=clock.today(),
                actor=current_user.actor,
            ),
        )
        if done:
            return done
    latest = person.addresses[-1] if person.addresses else None
    return render_template(
        "portal/address/change.html",
        form=form,
        current=person.address_on(clock.today()),
        announced=latest if latest and latest.valid_from > clock.today() else None,
    )


@bp.route("/finanzadresse", methods=["GET", "POST"])
@citizen_required
def finance_address() -> str | Response:
    """First use of a service in a municipality: record name and address (Finanzadresse)."""
    if current_person() is not None:
        return redirect(url_for("portal.account"))
    form = AddressFields()
    if form.validate_on_submit():
        recorded = carry_out(
            lambda: persons.create_person(
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
            ),
            form=form,
        )
        if recorded.ok:
            target = safe_next(url_for("portal.account"))
            return redirect(
                target
                if target.startswith(f"/{g.municipality.slug}/")
                else url_for("portal.account")
            )
    return render_template("portal/address/finance_address.html", form=form)
