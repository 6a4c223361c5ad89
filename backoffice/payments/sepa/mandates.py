"""Back office for SEPA mandates: the person's mandates on the person page (reactivate a
suspended one) and a SEPA-Basislastschriftmandat the citizen signed on paper, typed in by the
clerk ("Papiermandat erfassen").

Every query is limited to the clerk's municipality: another municipality's person is "not
found" (404)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import InputRequired

from backoffice.blueprint import bp
from backoffice.persons import person_page_section
from core.kernel import clock
from core.kernel.errors import NotFound
from core.kernel.months import add_months
from core.payments.sepa import mandates
from core.payments.sepa.debit_outlook import debit_outlook
from core.payments.sepa.models import MandateStatus
from core.payments.sepa.rules import SepaRules, rules_on
from core.persons import models as persons
from portal.database import db
from portal.form_fields import ConfirmForm, required
from portal.identity.auth import staff_required
from portal.payments.forms import MandateFieldsForm, scope_choices
from portal.requests import carry_out

DEFAULT_LAPSE_MONTHS = 36  # rulebook 4.5, where the municipality has no direct-debit rules


class PaperMandateForm(MandateFieldsForm):
    """A SEPA-Basislastschriftmandat the citizen signed on paper, typed in by the clerk."""

    account_holder = StringField(
        "Kontoinhaberin oder Kontoinhaber",
        validators=[required("Bitte geben Sie den Namen des Kontoinhabers an.")],
        render_kw={"autocomplete": "off"},
    )
    iban = StringField(
        "IBAN",
        validators=[required("Bitte geben Sie die IBAN an.")],
        description="Wie auf dem Formular, z. B. DE89 3704 0044 0532 0130 00 – Leerzeichen "
        "sind erlaubt.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    bic = StringField(
        "BIC",
        description="Nur nötig, wenn sie sich nicht aus der IBAN ermitteln lässt.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    signed_on = DateField(
        "Datum der Unterschrift",
        # InputRequired: an unreadable date keeps WTForms' own German message
        validators=[InputRequired("Bitte geben Sie das Datum der Unterschrift an.")],
        description="Das Datum neben der Unterschrift auf dem Formular.",
    )
    original = BooleanField(
        "Das unterschriebene Original liegt vor",
        validators=[
            required(
                "Bitte bestätigen Sie, dass das unterschriebene Original vorliegt – ohne "
                "Original kein Mandat."
            )
        ],
    )

    def __init__(self, *args: Any, today: date, lapse_months: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.today, self.lapse_months = today, lapse_months

    def validate(self, extra_validators: Any = None) -> bool:
        """Besides the shared checks (IBAN and BIC): the date of signature, so every mistake
        shows in one go."""
        ok = bool(super().validate(extra_validators))
        signed_on = self.signed_on.data
        if signed_on is not None and not self.signed_on.errors:
            if signed_on > self.today:
                self.signed_on.errors = [
                    "Das Datum der Unterschrift darf nicht in der Zukunft liegen."
                ]
                ok = False
            elif add_months(signed_on, self.lapse_months) <= self.today:
                self.signed_on.errors = [
                    f"Das Mandat wurde vor mehr als {self.lapse_months} Monaten unterschrieben; "
                    "ein so altes, nie genutztes Mandat ist bereits erloschen. Bitte lassen Sie "
                    "ein neues Mandat unterschreiben."
                ]
                ok = False
        return ok


@bp.post("/personen/<int:person_id>/mandate/<int:mandate_id>/reaktivieren")
@staff_required()
def mandate_reactivate(person_id: int, mandate_id: int) -> Response:
    db_session = db()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        person = persons.get_person(db_session, current_user.municipality_id, person_id)
        mandate = mandates.get_mandate(db_session, person, mandate_id)
    except NotFound:
        abort(404)
    if carry_out(
        lambda: mandates.reactivate_mandate(db_session, mandate, actor=current_user.actor)
    ).ok:
        flash(f"Mandat {mandate.reference} ist wieder aktiv.", "success")
    return redirect(url_for("backoffice.person_detail", person_id=person.id, _anchor="mandate"))


def _sepa_rules(db_session: Session) -> SepaRules | None:
    """The municipality's direct-debit rules today; None where it has none."""
    try:
        return rules_on(db_session, current_user.municipality_id, clock.today())
    except NotFound:
        return None


@bp.route("/personen/<int:person_id>/mandate/neu", methods=["GET", "POST"])
@staff_required()
def mandate_paper(person_id: int) -> str | Response:
    """Record a SEPA-Basislastschriftmandat that arrived on paper; it replaces the person's
    active mandates of the same scope (the core's rule)."""
    db_session = db()
    try:
        person = persons.get_person(db_session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    today = clock.today()
    rules = _sepa_rules(db_session)
    form = PaperMandateForm(
        data={"account_holder": person.display_name},
        today=today,
        lapse_months=rules.mandate_lapse_months if rules else DEFAULT_LAPSE_MONTHS,
    )
    form.scope.choices = scope_choices(db_session, person)
    if form.validate_on_submit():
        # FieldErrors go onto their fields, other refusals (e.g. no direct-debit rules for
        # today) into the error summary
        granted = carry_out(
            lambda: mandates.grant_mandate(
                db_session,
                person=person,
                municipality=g.municipality,
                account_holder=form.account_holder.data or "",
                iban=form.iban.data or "",
                bic=form.bic.data or None,
                tax_account_id=form.tax_account_id(),
                signed_on=form.signed_on.data,
                as_of=today,
                actor=current_user.actor,
            ),
            form=form,
        )
        if granted.ok:
            flash(f"Mandat {granted.result().reference} erfasst.", "success")
            return redirect(
                url_for("backoffice.person_detail", person_id=person.id, _anchor="mandate")
            )
    in_use = [
        (m, mandates.scope_label(db_session, m))
        for m in mandates.mandates_of(db_session, person)
        if m.status is MandateStatus.ACTIVE
    ]
    return render_template(
        "backoffice/payments/sepa/mandate_form.html",
        form=form,
        person=person,
        rules=rules,
        in_use=in_use,
    )


@person_page_section
def mandates_section(person: persons.Person) -> dict[str, object]:
    """The person's mandates (newest first) with their scope, and the collections ahead."""
    db_session = db()
    return {
        "mandates": [
            (m, mandates.scope_label(db_session, m))
            for m in mandates.mandates_of(db_session, person)
        ],
        "mandate_suspended": MandateStatus.SUSPENDED,
        "debits": debit_outlook(db_session, person, as_of=clock.today()),
    }
