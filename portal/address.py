"""Change of address (Anschrift ändern) from the citizen's account: straight through or to a
clerk, by the review criteria. The result is the application's status page."""

from __future__ import annotations

from datetime import date

from flask import g, render_template
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField, StringField
from wtforms.validators import Length, Regexp

from core import address as address_services
from core.kernel import clock
from portal.citizen import person_or_redirect, submit_application
from portal.database import db
from portal.forms import GermanForm, required
from portal.identity.auth import citizen_required
from portal.municipal import bp


def _at_most(n: int) -> Length:
    return Length(max=n, message=f"Bitte höchstens {n} Zeichen.")


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
