"""Abfallbehälter: the citizen's properties and bins; register, change, swap (damaged) and
deregister a bin. Views are thin: parse the form, call one core service, commit once."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, g, render_template
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from core.kernel import clock
from core.kernel.errors import NotFound
from core.levies.waste import services as waste_services
from core.levies.waste.models import (
    WasteBin,
    bins_of,
    get_bin,
    get_property,
    properties_of,
    work_orders,
)
from core.levies.waste.rules import RHYTHMS, WasteFeeRules
from core.levies.waste.services import BinRegistration
from core.persons import models as persons
from core.workflow import applications as workflow
from portal.citizen import current_person, person_or_redirect, submit_application
from portal.database import db
from portal.form_fields import GermanForm, required
from portal.identity.auth import citizen_required
from portal.municipal import bp


class BinForm(GermanForm):
    # The statute's table decides what is valid (German message from the core), not WTForms.
    litres = SelectField(
        "Behältergröße",
        validators=[required("Bitte wählen Sie eine Größe.")],
        validate_choice=False,
    )
    rhythm = SelectField(
        "Abfuhrrhythmus",
        validators=[required("Bitte wählen Sie einen Abfuhrrhythmus.")],
        validate_choice=False,
    )
    start = DateField("Ab wann?", validators=[required("Bitte geben Sie das Datum an.")])


class DamageForm(GermanForm):
    note = TextAreaField(
        "Was ist beschädigt?",
        validators=[Optional(), Length(max=500)],
        description="z. B. Deckel abgebrochen, Rad fehlt.",
    )


class EndForm(GermanForm):
    end = DateField(
        "Bis wann brauchen Sie den Behälter?",
        validators=[required("Bitte geben Sie das Datum an.")],
        description="Der Behälter wird danach abgeholt.",
    )


def _choices(form: BinForm, rules: WasteFeeRules) -> None:
    form.litres.choices = [SelectChoice("", "Bitte wählen")] + [
        SelectChoice(str(size), f"{size} Liter") for size in rules.sizes()
    ]
    used = {rhythm for _, rhythm in rules.bin_fees_month_cents}
    form.rhythm.choices = [SelectChoice("", "Bitte wählen")] + [
        SelectChoice(key, label) for key, label in RHYTHMS.items() if key in used
    ]


def _litres(form: BinForm) -> int:
    text = form.litres.data or ""
    return int(text) if text.isdigit() and len(text) < 6 else 0


def _own_bin(bin_id: int) -> tuple[persons.Person, WasteBin] | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    try:
        found = get_bin(db(), g.municipality.id, bin_id, person_id=person.id)
    except NotFound:
        abort(404)
    if found.end is not None:
        abort(404)
    return person, found


@bp.get("/abfall")
@citizen_required
def waste() -> str:
    person = current_person()
    session = db()
    props: list[Any] = []
    bins: dict[int, list[WasteBin]] = {}
    orders: list[Any] = []
    applications: list[workflow.Application] = []
    if person is not None:
        props = properties_of(session, person.id, g.municipality.id)
        for b in bins_of(session, [p.id for p in props]):
            bins.setdefault(b.property_id, []).append(b)
        orders = work_orders(session, g.municipality.id, property_ids=[p.id for p in props])
        applications = [
            a
            for a in workflow.applications_of(session, person.id, g.municipality.id)
            if a.service in waste_services.SERVICE_LABELS
        ]
    return render_template(
        "portal/waste/index.html",
        properties=props,
        bins=bins,
        orders=orders,
        applications=applications,
        labels=waste_services.SERVICE_LABELS,
        rhythms=RHYTHMS,
        numbers={b.id: b for own in bins.values() for b in own},
    )


@bp.route("/abfall/grundstuecke/<int:property_id>/behaelter", methods=["GET", "POST"])
@citizen_required
def register_bin(property_id: int) -> str | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    session = db()
    try:
        prop = get_property(session, g.municipality.id, property_id, person_id=person.id)
    except NotFound:
        abort(404)
    form = BinForm()
    _choices(form, waste_services.rules_on(session, g.municipality.id, clock.today()))
    if form.validate_on_submit():
        done = submit_application(
            form,
            lambda: waste_services.submit_registration(
                session,
                person=person,
                municipality=g.municipality,
                registration=BinRegistration(
                    prop.id, _litres(form), form.rhythm.data or "", form.start.data
                ),
                as_of=clock.today(),
                actor=current_user.actor,
            ),
        )
        if done:
            return done
    return render_template(
        "portal/waste/form.html",
        form=form,
        title="Abfallbehälter anmelden",
        intro=f"Für das Grundstück {prop.label}. Die Gebühr richtet sich nach Größe und "
        "Abfuhrrhythmus; das Depot liefert den Behälter zum angegebenen Tag.",
        selects=["litres", "rhythm"],
        fields=["start"],
        button="Behälter anmelden",
    )


@bp.route("/abfall/behaelter/<int:bin_id>/aendern", methods=["GET", "POST"])
@citizen_required
def change_bin(bin_id: int) -> str | Response:
    found = _own_bin(bin_id)
    if isinstance(found, Response):
        return found
    person, waste_bin = found
    session = db()
    form = BinForm()
    form.start.label.text = "Ab wann soll der neue Behälter gelten?"
    _choices(form, waste_services.rules_on(session, g.municipality.id, clock.today()))
    if form.validate_on_submit():
        done = submit_application(
            form,
            lambda: waste_services.submit_change(
                session,
                person=person,
                municipality=g.municipality,
                bin_id=waste_bin.id,
                litres=_litres(form),
                rhythm=form.rhythm.data or "",
                change_from=form.start.data or date.min,
                as_of=clock.today(),
                actor=current_user.actor,
            ),
            rename={"change_from": "start"},
        )
        if done:
            return done
    return render_template(
        "portal/waste/form.html",
        form=form,
        title=f"Behälter Nr. {waste_bin.number} ändern",
        intro=f"Bisher {waste_bin.litres} Liter, {RHYTHMS[waste_bin.rhythm]}. Der bisherige "
        "Behälter wird am Tag vor der Änderung abgeholt, der neue geliefert.",
        selects=["litres", "rhythm"],
        fields=["start"],
        button="Änderung beantragen",
    )


@bp.route("/abfall/behaelter/<int:bin_id>/schaden", methods=["GET", "POST"])
@citizen_required
def damaged_bin(bin_id: int) -> str | Response:
    found = _own_bin(bin_id)
    if isinstance(found, Response):
        return found
    person, waste_bin = found
    form = DamageForm()
    if form.validate_on_submit():
        session = db()
        done = submit_application(
            form,
            lambda: waste_services.report_damaged(
                session,
                person=person,
                municipality=g.municipality,
                bin_id=waste_bin.id,
                note=form.note.data or "",
                as_of=clock.today(),
                actor=current_user.actor,
            ),
        )
        if done:
            return done
    return render_template(
        "portal/waste/form.html",
        form=form,
        title=f"Behälter Nr. {waste_bin.number} beschädigt",
        intro="Das Depot tauscht den Behälter kostenlos aus; an Ihren Gebühren ändert sich nichts.",
        selects=[],
        fields=["note"],
        optional=["note"],
        button="Schaden melden",
    )


@bp.route("/abfall/behaelter/<int:bin_id>/abmelden", methods=["GET", "POST"])
@citizen_required
def deregister_bin(bin_id: int) -> str | Response:
    found = _own_bin(bin_id)
    if isinstance(found, Response):
        return found
    person, waste_bin = found
    form = EndForm()
    if form.validate_on_submit():
        session = db()
        done = submit_application(
            form,
            lambda: waste_services.submit_deregistration(
                session,
                person=person,
                municipality=g.municipality,
                bin_id=waste_bin.id,
                end=form.end.data or date.min,
                as_of=clock.today(),
                actor=current_user.actor,
            ),
        )
        if done:
            return done
    return render_template(
        "portal/waste/form.html",
        form=form,
        title=f"Behälter Nr. {waste_bin.number} abmelden",
        intro=f"{waste_bin.litres} Liter, {RHYTHMS[waste_bin.rhythm]}. Die Gebühr endet mit "
        "dem Monat, in dem der Behälter abgeholt wird.",
        selects=[],
        fields=["end"],
        button="Behälter abmelden",
    )
