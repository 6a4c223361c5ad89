"""Grundsteuer in the account: the citizen's or business's own property-tax objects, their
notices, and the annual payment on 1 July on application (§ 28 (3) GrStG,
core.levies.property_tax.annual_payment): apply for a year (a late application is refused,
naming the deadline and the first 1 July it could apply from) and withdraw it. Another
person's application is "not found"; a person without property-tax objects gets no form."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice

from core.kernel import clock
from core.kernel.errors import NotFound
from core.levies.basis_notices.models import TaxKind, TaxObject
from core.levies.property_tax import annual_payment
from core.notices.records import Notice
from core.persons.models import Person
from portal.citizen import person_or_redirect
from portal.database import db
from portal.form_fields import ConfirmForm, GermanForm, required
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.requests import carry_out

LEVY = "property_tax"


class AnnualPaymentForm(GermanForm):
    year = RadioField(
        "Jahreszahlung zum 1. Juli ab dem Jahr",
        validators=[required("Bitte wählen Sie das Jahr, ab dem Sie jährlich zahlen möchten.")],
    )


def _form(status: annual_payment.Status) -> AnnualPaymentForm:
    """The years offered: the next one and the one after; the first possible is chosen."""
    today = clock.today()
    form = AnnualPaymentForm()
    form.year.choices = [
        SelectChoice(str(y), f"ab {y} (erste Zahlung am 01.07.{y})")
        for y in (today.year + 1, today.year + 2)
    ]
    if form.year.data is None:
        form.year.data = str(status.next_year)
    return form


def _plots(person: Person) -> list[TaxObject]:
    return list(
        db().scalars(
            select(TaxObject)
            .where(
                TaxObject.person_id == person.id,
                TaxObject.municipality_id == g.municipality.id,
                TaxObject.tax == TaxKind.PROPERTY_TAX,
            )
            .order_by(TaxObject.reference)
        )
    )


def _notices(person: Person) -> list[Notice]:
    return list(
        db().scalars(
            select(Notice)
            .where(
                Notice.person_id == person.id,
                Notice.municipality_id == g.municipality.id,
                Notice.levy == LEVY,
            )
            .order_by(Notice.year.desc(), Notice.id.desc())
        )
    )


@bp.route("/konto/grundsteuer", methods=["GET", "POST"])
@citizen_required
def property_tax() -> str | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    plots = _plots(person)
    status = annual_payment.status(db(), person, clock.today())
    form = _form(status)
    if plots and form.validate_on_submit():
        done = carry_out(
            lambda: annual_payment.apply(
                db(),
                person=person,
                municipality=g.municipality,
                applied_on=clock.today(),
                actor=current_user.actor,
                year=int(form.year.data or 0),
            ),
            form=form,
            field="year",
        )
        if done.ok:
            year = done.result().from_year
            flash(
                f"Ihr Antrag ist eingegangen: Ab {year} zahlen Sie die Grundsteuer in einem "
                f"Betrag am 01.07.{year}.",
                "success",
            )
            return redirect(url_for("portal.property_tax"))
    return render_template(
        "portal/property_tax/index.html",
        plots=plots,
        notices=_notices(person),
        status=status,
        form=form,
        withdraw_form=ConfirmForm(),
    )


@bp.post("/konto/grundsteuer/jahreszahlung/<int:application_id>/widerruf")
@citizen_required
def property_tax_withdraw(application_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    done = carry_out(
        lambda: annual_payment.withdraw(
            db(),
            person=person,
            application_id=application_id,
            withdrawn_on=clock.today(),
            actor=current_user.actor,
        ),
        handled=(NotFound,),
    )
    if done.ok:
        year = done.result()
        flash(
            f"Die Jahreszahlung ist widerrufen: Ab {year} gelten wieder die vierteljährlichen "
            "Fälligkeiten (15.02., 15.05., 15.08., 15.11.).",
            "success",
        )
    elif isinstance(done.error, NotFound):
        abort(404)
    return redirect(url_for("portal.property_tax"))


def _account_status(person: Person | None) -> annual_payment.Status | None:
    """The annual payment as the account shows it; None for a person without plots."""
    if person is None or not _plots(person):
        return None
    return annual_payment.status(db(), person, clock.today())


@bp.app_context_processor
def _account_property_tax() -> dict[str, Any]:
    """``property_tax_status(person)`` for the account's partial (called where included)."""
    return {"property_tax_status": _account_status}
