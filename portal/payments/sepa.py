"""SEPA-Lastschriftmandate (Digitales Finanzkonto): the citizen's mandates with their history
and PDF confirmations (download recorded), the announced collections, granting a new mandate,
changing one (a new mandate for the same scope replaces it) and revoking one.

Views are thin: parse the form, call one core service, commit once, show the result.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.identity.external import Service
from core.kernel import archive, clock
from core.kernel.errors import NotFound
from core.ledger.models import Claim
from core.payments.sepa import mandates
from core.payments.sepa.debit_outlook import debit_outlook
from core.payments.sepa.models import Mandate, MandateStatus
from core.payments.sepa.rules import SepaRules, consent_text, rules_on
from core.persons import models as persons
from portal.citizen import current_person, person_or_redirect
from portal.database import db
from portal.downloads import send_recorded
from portal.form_fields import ConfirmForm
from portal.identity.auth import citizen_required
from portal.identity.trust import required_or_step_up
from portal.municipal import bp
from portal.payments.forms import MandateForm, scope_choices
from portal.requests import carry_out

IN_USE = (MandateStatus.ACTIVE, MandateStatus.SUSPENDED)


def _sepa_rules() -> SepaRules | None:
    """The municipality's direct-debit rules; None where it offers no direct debit."""
    try:
        return rules_on(db(), g.municipality.id, clock.today())
    except NotFound:
        return None


def _own_mandate(mandate_id: int) -> tuple[persons.Person, Mandate]:
    person = current_person()
    if person is None:
        abort(404)
    try:
        return person, mandates.get_mandate(db(), person, mandate_id)
    except NotFound:
        abort(404)


@bp.get("/lastschrift")
@citizen_required
def mandate_list() -> str:
    session = db()
    person = current_person()
    own = mandates.mandates_of(session, person) if person else []
    today = clock.today()
    announced = sorted(
        (
            d
            for d in (debit_outlook(session, person, as_of=today) if person else {}).values()
            if d.will_be_collected
        ),
        key=lambda d: (d.collection_date, d.claim_id),
    )
    claims = (
        {
            c.id: c
            for c in session.scalars(
                select(Claim).where(
                    Claim.id.in_({p.claim_id for p in announced}),
                    Claim.municipality_id == g.municipality.id,
                )
            )
        }
        if announced
        else {}
    )
    return render_template(
        "portal/payments/sepa/index.html",
        active=[m for m in own if m.status in IN_USE],
        past=[m for m in own if m.status not in IN_USE],
        scopes={m.id: mandates.scope_label(session, m) for m in own},
        references={m.id: m.reference for m in own},
        announced=announced,
        claims=claims,
        offered=_sepa_rules() is not None,
    )


def _grant(replacing: Mandate | None) -> str | Response:
    # before anything is asked; a change moves the collection to another bank account
    services = [Service.SEPA_MANDATE]
    if replacing is not None:
        services.insert(0, Service.BANK_ACCOUNT_CHANGE)
    for service in services:
        step_up = required_or_step_up(service)
        if step_up is not None:
            return step_up
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    session = db()
    rules = _sepa_rules()
    if rules is None:
        abort(404)
    form = MandateForm(data={"account_holder": person.display_name})
    if replacing is None:
        form.scope.choices = scope_choices(session, person)
    else:
        del form.scope  # a change keeps the scope of the mandate it replaces
    if form.validate_on_submit():
        tax_account_id = (
            replacing.tax_account_id if replacing is not None else form.tax_account_id()
        )
        today = clock.today()
        granted = carry_out(
            lambda: mandates.grant_mandate(
                session,
                person=person,
                municipality=g.municipality,
                account_holder=form.account_holder.data or "",
                iban=form.iban.data or "",
                bic=form.bic.data or None,
                tax_account_id=tax_account_id,
                signed_on=today,
                as_of=today,
                actor=current_user.actor,
            ),
            form=form,
        )
        if granted.ok:
            mandate = granted.result()
            flash(f"Ihr Lastschriftmandat {mandate.reference} ist erteilt.", "success")
            return redirect(url_for("portal.mandate_detail", mandate_id=mandate.id))
    return render_template(
        "portal/payments/sepa/form.html",
        form=form,
        title="Lastschriftmandat ändern" if replacing else "Lastschriftmandat erteilen",
        replacing=replacing,
        replacing_scope=mandates.scope_label(session, replacing) if replacing else None,
        consent=consent_text(g.municipality, rules).split("\n"),
        in_use=[m for m in mandates.mandates_of(session, person) if m.status in IN_USE],
    )


@bp.route("/lastschrift/neu", methods=["GET", "POST"])
@citizen_required
def grant_mandate() -> str | Response:
    return _grant(None)


@bp.route("/lastschrift/<int:mandate_id>/aendern", methods=["GET", "POST"])
@citizen_required
def change_mandate(mandate_id: int) -> str | Response:
    _person, mandate = _own_mandate(mandate_id)
    if mandate.status not in IN_USE:
        abort(404)
    return _grant(mandate)


@bp.get("/lastschrift/<int:mandate_id>")
@citizen_required
def mandate_detail(mandate_id: int) -> str:
    _person, mandate = _own_mandate(mandate_id)
    session = db()
    replaced_by = session.get(Mandate, mandate.replaced_by_id) if mandate.replaced_by_id else None
    return render_template(
        "portal/payments/sepa/detail.html",
        mandate=mandate,
        scope=mandates.scope_label(session, mandate),
        replaced_by=replaced_by,
        in_use=mandate.status in IN_USE,
    )


@bp.get("/lastschrift/<int:mandate_id>.pdf")
@citizen_required
def mandate_pdf(mandate_id: int) -> Response:
    _person, mandate = _own_mandate(mandate_id)
    if mandate.document_id is None:
        abort(404)
    try:
        document = archive.get_document(db(), g.municipality.id, mandate.document_id)
    except NotFound:
        abort(404)
    return send_recorded(document)


@bp.route("/lastschrift/<int:mandate_id>/widerrufen", methods=["GET", "POST"])
@citizen_required
def revoke_mandate(mandate_id: int) -> str | Response:
    _person, mandate = _own_mandate(mandate_id)
    session = db()
    form = ConfirmForm()
    if mandate.status in IN_USE and form.validate_on_submit():
        revoked = carry_out(
            lambda: mandates.revoke_mandate(
                session, mandate, as_of=clock.today(), actor=current_user.actor
            ),
            form=form,
        )
        if revoked.ok:
            flash(f"Ihr Lastschriftmandat {mandate.reference} ist widerrufen.", "success")
            return redirect(url_for("portal.mandate_list"))
    return render_template(
        "portal/payments/sepa/revoke.html",
        form=form,
        mandate=mandate,
        scope=mandates.scope_label(session, mandate),
        in_use=mandate.status in IN_USE,
    )
