"""Auszahlungen in the citizen's account: the bank account a credit (Guthaben) is paid out to.
Naming it moves money, so it asks the trust level of a change of bank account (step-up where
the municipality requires one). The payouts themselves are listed on the account page
(portal.ledger)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core.identity.external import Service
from core.payments.payouts.accounts import payout_target, record_payout_account
from portal.citizen import person_or_redirect
from portal.database import db
from portal.identity.auth import citizen_required
from portal.identity.trust import required_or_step_up
from portal.municipal import bp
from portal.payments.forms import PayoutAccountForm
from portal.requests import carry_out


@bp.route("/konto/auszahlungskonto", methods=["GET", "POST"])
@citizen_required
def payout_account() -> str | Response | tuple[str, int]:
    step_up = required_or_step_up(Service.BANK_ACCOUNT_CHANGE)
    if step_up is not None:
        return step_up
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    session = db()
    form = PayoutAccountForm(data={"account_holder": person.display_name})
    if form.validate_on_submit():
        made = carry_out(
            lambda: record_payout_account(
                session,
                person,
                iban=form.iban.data or "",
                account_holder=form.account_holder.data or "",
                bic=form.bic.data or None,
                actor=current_user.actor,
            ),
            form=form,
        )
        if made.ok:
            flash("Ihre Bankverbindung für Auszahlungen ist gespeichert.", "success")
            return redirect(url_for("portal.account"))
    page = render_template(
        "portal/payments/payout_account.html",
        form=form,
        target=payout_target(session, person),
    )
    return (page, 422) if form.errors else page
