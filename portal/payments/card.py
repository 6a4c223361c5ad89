"""Paying online: chosen items from the account, or the items of a notice from its QR code.

The payment page and its result are reached through a signed link bound to the attempt, so a
payer who came from the paper notice (not logged in) sees only that attempt. While an attempt
holds a claim, a second one is refused; the browser that started it (or the payer's account)
gets the link to resume or cancel it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_login import current_user
from sqlalchemy import Select, select
from werkzeug.wrappers import Response

from core.kernel import clock, tokens
from core.kernel.errors import DomainError, ExpiredToken, InvalidToken, NotFound
from core.kernel.girocode import epc_payload, png_data_uri, qr_png
from core.kernel.pdf import render_pdf
from core.kernel.references import make_rf
from core.ledger.models import Claim, Payment, Posting
from core.notices import records as notices
from core.payments import reservations
from core.payments.card import checkout, settlement, surplus
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.card.provider import CardDeclined, ProviderError
from core.payments.sepa.debit_outlook import collecting, debit_outlook
from portal.citizen import current_person
from portal.database import db, writes
from portal.form_fields import ConfirmForm
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.notice_settings import notice_settings
from portal.payments.provider import payment_provider
from portal.requests import carry_out

ATTEMPT_PURPOSE = "payment_attempt"
ATTEMPT_LINK_AGE = timedelta(days=2)
OWN_ATTEMPTS = "pay_attempts"  # attempts this browser started (session), so it may resume them
PROVIDER_UNAVAILABLE = (
    "Die Online-Zahlung ist gerade nicht erreichbar. Bitte versuchen Sie es später "
    "oder überweisen Sie den Betrag."
)


def attempt_token(attempt: PaymentAttempt) -> str:
    return tokens.make_token(
        current_app.config["SECRET_KEY"], ATTEMPT_PURPOSE, attempt.id, issued_at=attempt.created_at
    )


def _attempt_from_token(token: str, *, lock: bool = False) -> PaymentAttempt:
    try:
        attempt_id = tokens.read_token(
            current_app.config["SECRET_KEY"],
            ATTEMPT_PURPOSE,
            token,
            now=clock.now(),
            max_age=ATTEMPT_LINK_AGE,
        )
        return checkout.get_attempt(db(), g.municipality.id, attempt_id, lock=lock)
    except (InvalidToken, ExpiredToken, NotFound):
        abort(404)


def reservation_hold() -> timedelta:
    """How long an attempt holds its claims (config ``PAYMENT_RESERVATION_MINUTES``)."""
    minutes = current_app.config.get("PAYMENT_RESERVATION_MINUTES")  # checked in config.load
    return timedelta(minutes=minutes) if minutes else reservations.DEFAULT_HOLD


def _remember(attempt: PaymentAttempt) -> None:
    browser_session[OWN_ATTEMPTS] = [*browser_session.get(OWN_ATTEMPTS, [])[-9:], attempt.id]


def is_own(attempt: PaymentAttempt) -> bool:
    if attempt.id in browser_session.get(OWN_ATTEMPTS, []):
        return True
    if not current_user.is_authenticated or getattr(current_user, "is_staff", False):
        return False
    person = current_person()
    return person is not None and person.id == attempt.person_id


def _in_progress(exc: reservations.AttemptInProgress) -> tuple[str, int]:
    """The refusal of a second attempt: with the link to the running one for its own payer."""
    running = checkout.get_attempt(db(), g.municipality.id, exc.attempt_id)
    resume = url_for("portal.pay_attempt", token=attempt_token(running))
    return render_template(
        "portal/payments/card/in_progress.html",
        message=exc.message,
        resume_url=resume if is_own(running) else None,
    ), 409


def girocode(amount_cents: int, kassenzeichen: str) -> str:
    m = g.municipality
    return png_data_uri(
        qr_png(
            epc_payload(
                name=m.cash_office_name,
                iban=m.iban,
                bic=m.bic,
                amount_cents=amount_cents,
                rf_reference=make_rf(kassenzeichen),
            )
        )
    )


def start_card_payment(
    claim_ids: list[int],
    *,
    person_id: int | None,
    kassenzeichen: str | None,
    origin: str,
    actor: str,
    amount_cents: int | None = None,  # a part of the open amount (an instalment)
) -> Response | tuple[str, int]:
    try:
        started = carry_out(
            lambda: checkout.start(
                db(),
                payment_provider(),
                municipality=g.municipality,
                person_id=person_id,
                claim_ids=claim_ids,
                origin=origin,
                actor=actor,
                kassenzeichen=kassenzeichen,
                hold=reservation_hold(),
                amount_cents=amount_cents,
            ),
            handled=(DomainError,),
        )
    except ProviderError:  # not a DomainError: the provider could not be reached
        db().rollback()
        return unavailable(PROVIDER_UNAVAILABLE)
    if isinstance(started.error, reservations.AttemptInProgress):
        return _in_progress(started.error)
    if started.error is not None:
        return unavailable(started.error.message)
    attempt = started.result()
    _remember(attempt)
    return redirect(url_for("portal.pay_attempt", token=attempt_token(attempt)))


def unavailable(message: str) -> tuple[str, int]:
    return render_template("portal/payments/card/unavailable.html", message=message), 409


@bp.route("/bezahlen", methods=["GET", "POST"])
@citizen_required
def pay_choose() -> Response | str | tuple[str, int]:
    person = current_person()
    if person is None:
        return redirect(url_for("portal.account"))
    items = checkout.payable_claims(db(), g.municipality.id, person_id=person.id)
    form = ConfirmForm()
    if form.validate_on_submit():
        chosen = [int(v) for v in request.form.getlist("claim") if v.isdigit()]
        if chosen:
            return start_card_payment(
                chosen,
                person_id=person.id,
                kassenzeichen=None,
                origin="account",
                actor=current_user.actor,
            )
        form.form_errors.append("Bitte wählen Sie mindestens einen offenen Betrag aus.")
    today = clock.today()
    # What a mandate will collect anyway is shown, but not ticked: paying it twice helps nobody.
    outlook = debit_outlook(db(), person, as_of=today)
    announced = {claim_id: d for claim_id, d in outlook.items() if d.will_be_collected}
    payable = [c for c, _ in items if c.id not in announced]
    return render_template(
        "portal/payments/card/choose.html",
        items=items,
        form=form,
        as_of=today,
        announced=announced,
        preselected={c.id for c in payable if c.due_date <= today} or {c.id for c in payable},
    )


@bp.post("/zahlung/<token>/bezahlen")
def pay_from_notice(token: str) -> Response | str | tuple[str, int]:
    """From the page behind the notice's QR code: pay what is due now (or all that is open)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    session = db()
    try:
        notice = notices.notice_from_token(
            session,
            notice_settings(),
            g.municipality.id,
            token,
            now=clock.now(),
        )
    except (InvalidToken, ExpiredToken, NotFound):
        abort(404)
    items = checkout.payable_claims(session, g.municipality.id, kassenzeichen=notice.kassenzeichen)
    today = clock.today()
    collected = collecting(session, [c for c, _ in items], as_of=today)
    items = [(c, o) for c, o in items if c.id not in collected]  # a mandate pays those
    due = [c.id for c, _ in items if c.due_date <= today] or [c.id for c, _ in items]
    if not due and collected:
        return unavailable(
            "Die offenen Beträge werden per Lastschrift eingezogen. "
            "Bitte bezahlen Sie sie nicht zusätzlich."
        )
    return start_card_payment(
        due,
        person_id=None,
        kassenzeichen=notice.kassenzeichen,
        origin="notice_link",
        actor="anonymous:notice-link",
    )


@bp.get("/zahlvorgang/<token>")
@writes
def pay_attempt(token: str) -> str | Response:
    attempt = _attempt_from_token(token)
    if attempt.status is not AttemptStatus.OPEN:
        return redirect(url_for("portal.pay_result", token=token))
    held = reservations.holds_until(db(), attempt.id)
    if held is None or held <= clock.now():  # expired: end it rather than offer to pay
        _close(token, actor="portal:expired")
        return redirect(url_for("portal.pay_result", token=token))
    claims = list(db().scalars(select_claims(attempt)))
    references = sorted({c.kassenzeichen for c in claims})
    return render_template(
        "portal/payments/card/card.html",
        attempt=attempt,
        references=references,
        claims=claims,
        client=payment_provider().client_config(),
        token=token,
        return_url=url_for("portal.pay_result", token=token, _external=True),
        girocode=girocode(attempt.amount_cents, references[0]) if len(references) == 1 else None,
        held_until=f"{held.astimezone(reservations.BERLIN):%d.%m.%Y, %H:%M}",
    )


def select_claims(attempt: PaymentAttempt) -> Select[Claim]:
    return (
        select(Claim)
        .where(Claim.id.in_(attempt.claim_ids), Claim.municipality_id == attempt.municipality_id)
        .order_by(Claim.due_date)
    )


@bp.post("/zahlvorgang/<token>/karte")
def pay_card(token: str) -> tuple[dict[str, str], int]:
    """Called by pay.js with the card token Stripe.js made; answers what the page does next."""
    attempt = _attempt_from_token(token)
    card_token = request.form.get("card_token", "")
    if attempt.status is not AttemptStatus.OPEN or not attempt.provider_ref:
        return {"next": "result"}, 200
    if not card_token.startswith("tok_"):
        return {"next": "error", "message": "Bitte geben Sie Ihre Kartendaten ein."}, 400
    if not reservations.still_covers(db(), attempt.id, now=clock.now()):
        # expired, or paid meanwhile in another way: end it instead of charging the card
        return _close(token, actor="portal:expired")
    intent_ref = attempt.provider_ref
    db().commit()  # hold no transaction open while the provider is busy (and calls back)
    try:
        intent = payment_provider().pay_with_card_token(intent_ref, card_token)
    except CardDeclined as exc:
        attempt = _attempt_from_token(token)
        checkout.renew_intent(db(), payment_provider(), attempt, actor="portal:card")
        db().commit()
        return {"next": "error", "message": exc.message}, 402
    except ProviderError:
        return {"next": "error", "message": "Der Zahlungsdienst ist gerade nicht erreichbar."}, 503
    if intent.status == "requires_action":
        return {"next": "authenticate", "client_secret": intent.client_secret}, 200
    return {"next": "result"}, 200


def _close(token: str, *, actor: str) -> tuple[dict[str, str], int]:
    attempt = _attempt_from_token(token, lock=True)
    try:
        settlement.close_attempt(
            db(), payment_provider(), attempt, actor=actor, now=clock.now(), as_of=clock.today()
        )
    except ProviderError:
        db().rollback()
        return {"next": "error", "message": "Der Zahlungsdienst ist gerade nicht erreichbar."}, 503
    db().commit()
    return {"next": "result"}, 409


@bp.post("/zahlvorgang/<token>/abbrechen")
def pay_cancel(token: str) -> Response:
    """The payer ends the attempt: the card can no longer be charged, the amounts are free."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    _close(token, actor="portal:cancelled")
    return redirect(url_for("portal.pay_result", token=token))


@bp.get("/zahlvorgang/<token>/ergebnis")
@writes
def pay_result(token: str) -> str:
    session = db()
    attempt = _attempt_from_token(token, lock=True)
    try:
        settlement.refresh(
            session, payment_provider(), attempt, actor="portal:return", as_of=clock.today()
        )
    except ProviderError:
        session.rollback()
        attempt = _attempt_from_token(token)
    except settlement.Mismatch:
        session.rollback()
        abort(409)
    session.commit()
    claims = list(session.scalars(select_claims(attempt)))
    payment = session.get(Payment, attempt.payment_id) if attempt.payment_id else None
    return render_template(
        "portal/payments/card/result.html",
        attempt=attempt,
        token=token,
        claims=claims,
        succeeded=attempt.status is AttemptStatus.SUCCEEDED,
        returned_cents=surplus.returned_cents(session, payment) if payment else 0,
    )


@bp.get("/zahlvorgang/<token>/quittung.pdf")
def receipt(token: str) -> Response:
    """Right after paying, also without log-in (the link is bound to the attempt, 2 days)."""
    attempt = _attempt_from_token(token)
    if attempt.payment_id is None:
        abort(404)
    return _receipt(db().get_one(Payment, attempt.payment_id))


@bp.get("/quittungen/<int:payment_id>.pdf")
@citizen_required
def account_receipt(payment_id: int) -> Response:
    """Any time from the account: only the person's own payments."""
    person = current_person()
    payment = db().get(Payment, payment_id)
    if person is None or payment is None or payment.person_id != person.id:
        abort(404)
    return _receipt(payment)


def _receipt(payment: Payment) -> Response:
    session = db()
    postings = list(
        session.scalars(
            select(Posting).where(Posting.payment_id == payment.id, Posting.claim_id.is_not(None))
        )
    )
    claims = {
        c.id: c
        for c in session.scalars(select(Claim).where(Claim.id.in_({p.claim_id for p in postings})))
    }
    lines: list[dict[str, Any]] = [
        {
            "description": claims[p.claim_id].description,
            "kassenzeichen": claims[p.claim_id].kassenzeichen,
            "amount_cents": p.amount_cents,
        }
        for p in postings
        if p.claim_id
    ]
    returned = surplus.returned_cents(session, payment)
    pdf = render_pdf(
        "receipt.html",
        {
            "municipality": g.municipality,
            "payment": payment,
            "lines": lines,
            "credit_cents": payment.amount_cents
            - sum(line["amount_cents"] for line in lines)
            - returned,
            "returned_cents": returned,
        },
        archival=True,  # PDF/A-3b, tagged, as the notices
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="Quittung-{payment.id}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
