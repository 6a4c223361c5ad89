"""Back office for online payments: refunds with four-eyes approval, provider notifications
that need a clerk, and the automatic refunds of a surplus on the person page. Limited to the
clerk's municipality like everything in the back office."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID, form_id
from backoffice.persons import person_page_section
from core.kernel import clock
from core.kernel.errors import DomainError, NotFound
from core.kernel.money import parse_euro
from core.ledger.models import Payment
from core.payments.card import refund_limits, refunds, settlement, surplus
from core.payments.card.provider import ProviderError
from core.persons import models as persons
from core.tenancy.municipalities import Municipality
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.payments.forms import RefundForm
from portal.payments.provider import payment_provider
from portal.requests import carry_out

T = TypeVar("T")

PROVIDER_REFUSED = "Der Zahlungsdienst hat die Erstattung abgelehnt."
CHOOSE_FROM_LIST = "Bitte wählen Sie sie aus der Liste unten."


def _provider_refusal_shown(call: Callable[[], T]) -> Callable[[], T]:
    """``call`` with the provider's refusal as a DomainError with the German text, so that
    carry_out rolls back and shows it like any other refusal."""

    def run() -> T:
        try:
            return call()
        except ProviderError as exc:
            raise DomainError(PROVIDER_REFUSED) from exc

    return run


def _payment(payment_id: int) -> Payment:
    payment = db().get(Payment, payment_id) if payment_id <= MAX_ID else None
    if payment is None or payment.municipality_id != current_user.municipality_id:
        abort(404)
    return payment


def payment_municipality(payment: Payment) -> Municipality:
    return db().get_one(Municipality, payment.municipality_id)


@bp.route("/zahlungen/<int:payment_id>/erstattung", methods=["GET", "POST"])
@staff_required()
def refund_request(payment_id: int) -> str | Response:
    session = db()
    payment = _payment(payment_id)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            amount_cents = parse_euro(form.amount.data or "")
        except ValueError:  # MoneyParseError, or more digits than Python reads as a number
            form.amount.errors = [*form.amount.errors, "Bitte einen Betrag wie 12,50 angeben."]
        else:
            requested = carry_out(
                _provider_refusal_shown(
                    lambda: refunds.request_refund(
                        session,
                        payment_provider(),
                        payment=payment,
                        amount_cents=amount_cents,
                        reason=form.reason.data or "",
                        actor=current_user.actor,
                        as_of=clock.today(),
                    )
                ),
                form=form,
            )
            if requested.ok:
                refund = requested.result()
                flash(
                    "Erstattung ausgeführt."
                    if refund.status is refunds.RefundStatus.EXECUTED
                    else "Erstattung wartet auf Freigabe (Vier-Augen-Prinzip): "
                    f"{refund.approval_reason}.",
                    "success",
                )
                return redirect(url_for("backoffice.person_detail", person_id=payment.person_id))
    today = clock.today()
    return render_template(
        "backoffice/payments/card/refund_request.html",
        form=form,
        payment=payment,
        refundable=refunds.available_cents(session, payment),
        limits=refund_limits.limits_on(session, payment_municipality(payment), today),
        sums=refunds.sums_before(
            session,
            payment_id=payment.id,
            municipality_id=payment.municipality_id,
            actor=current_user.actor,
            day=today,
        ),
    )


def _decide_refund() -> refunds.Refund:
    """Approve or reject the refund the form names; one that names none is "not found" with a
    hint to choose it from the list."""
    session = db()
    try:
        refund_id = form_id(request.form, "refund_id")
        if refund_id is None:
            raise NotFound("Diese Erstattung wurde nicht gefunden.")
        refund = refunds.get_refund(session, current_user.municipality_id, refund_id)
        if request.form.get("decision") == "approve":
            refunds.approve(
                session,
                payment_provider(),
                refund,
                actor=current_user.actor,
                role=current_user.role,
                as_of=clock.today(),
            )
        else:
            refunds.reject(session, refund, actor=current_user.actor, role=current_user.role)
    except NotFound as exc:
        raise NotFound(f"{exc.message} {CHOOSE_FROM_LIST}") from exc
    return refund


@bp.route("/erstattungen", methods=["GET", "POST"])
@staff_required()
def refund_approvals() -> tuple[str, int] | Response:
    session = db()
    form = ConfirmForm()
    status = 200
    if form.validate_on_submit():
        decided = carry_out(_provider_refusal_shown(_decide_refund), form=form)
        if decided.ok:
            refund = decided.result()
            done = refund.status is refunds.RefundStatus.EXECUTED
            flash(f"Erstattung {refund.id}: {'ausgeführt' if done else 'abgelehnt'}.", "success")
            return redirect(url_for("backoffice.refund_approvals"))
        if isinstance(decided.error, NotFound):
            status = 404
    return render_template(
        "backoffice/payments/card/refund_approvals.html",
        form=form,
        pending=refunds.awaiting(session, current_user.municipality_id),
        events=settlement.events_for_clerk(session, current_user.municipality_id),
        surplus_refunds=surplus.surplus_refunds(session, current_user.municipality_id),
    ), status


@person_page_section
def surplus_section(person: persons.Person) -> dict[str, object]:
    """Surpluses of the person's payments refunded automatically to the card."""
    return {
        "surplus_refunds": surplus.surplus_refunds(
            db(), current_user.municipality_id, person_id=person.id
        )
    }
