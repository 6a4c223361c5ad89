"""Dunning letters in the portal: the citizen's download of their own letters (recorded, like
notices) and the public page behind the signed link on the paper letter (no log-in, no name
or address: what of the letter is still open, what is paid since, and how to pay the rest — by
card through the notices' card payment, or by transfer with the GiroCode)."""

from __future__ import annotations

from flask import abort, g, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core.dunning import account as dunning_account
from core.dunning import letters
from core.dunning.models import DunningLetter
from core.kernel import clock
from core.kernel.errors import ExpiredToken, InvalidToken, NotFound
from core.ledger.models import Claim
from core.payments import reservations
from core.payments.card import checkout
from core.payments.sepa.debit_outlook import DebitOutlook, collecting
from portal.citizen import current_person
from portal.database import db
from portal.downloads import send_recorded
from portal.form_fields import ConfirmForm
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.notice_settings import notice_settings


@bp.get("/konto/mahnschreiben/<int:letter_id>.pdf")
@citizen_required
def dunning_letter_pdf(letter_id: int) -> Response:
    """The citizen's own booked letter; anyone else's (or a preview's) is not found."""
    person = current_person()
    session = db()
    try:
        letter = letters.get_letter(session, g.municipality.id, letter_id)
    except NotFound:
        abort(404)
    if person is None or letter.person_id != person.id:
        abort(404)
    return send_recorded(
        letters.ensure_document(session, letter, notice_settings(), actor=current_user.actor)
    )


def _letter_or_page(token: str) -> DunningLetter | tuple[str, int]:
    """The letter behind a signed link, or the page that says the link is expired or invalid."""
    try:
        return letters.letter_from_token(
            db(), notice_settings(), g.municipality.id, token, now=clock.now()
        )
    except ExpiredToken:
        return render_template("portal/notices/public_claim_invalid.html", expired=True), 410
    except (InvalidToken, NotFound):
        return render_template("portal/notices/public_claim_invalid.html", expired=False), 404


def _by_card(letter: DunningLetter) -> tuple[list[tuple[Claim, int]], dict[int, DebitOutlook]]:
    """What of the letter is open, and which of it a direct debit collects (never by card)."""
    items = dunning_account.still_open(db(), letter)
    collected = collecting(db(), [c for c, _ in items], as_of=clock.today())
    return items, collected


def running_attempt(claim_ids: list[int]) -> dict[str, str | None] | None:
    """The card payment that holds one of these claims now (its hold not expired), for pages
    that would otherwise offer to pay them: until when, and for its own payer the link to it."""
    from portal.payments.card import attempt_token, is_own

    now = clock.now()
    held = [r for r in reservations.active(db(), claim_ids) if r.expires_at > now]
    if not held:
        return None
    running = checkout.get_attempt(db(), g.municipality.id, held[0].attempt_id)
    return {
        "held_until": f"{held[0].expires_at.astimezone(reservations.BERLIN):%d.%m.%Y, %H:%M}",
        "resume_url": url_for("portal.pay_attempt", token=attempt_token(running))
        if is_own(running)
        else None,
    }


@bp.get("/mahnschreiben/<token>")
def public_dunning_letter(token: str) -> tuple[str, int] | str:
    """What of a letter is still open: level, date, deadline, the amounts by Kassenzeichen;
    what is paid since; a button to pay the rest by card (unless a card payment for it is
    running) and the GiroCode for it."""
    from portal.payments.card import girocode

    session = db()
    letter = _letter_or_page(token)
    if not isinstance(letter, DunningLetter):
        return letter
    items, collected = _by_card(letter)
    total = sum(o for _, o in items)
    to_pay = sum(o for c, o in items if c.id not in collected)
    reference = letters.reference_of(session, letter)
    running = running_attempt([c.id for c, o in items if c.id not in collected])
    return render_template(
        "portal/dunning/public_letter.html",
        letter=letter,
        token=token,
        run_date=dunning_account.run_date_of(session, letter),
        items=items,
        collected=collected,
        total_open=total,
        paid_since=max(letter.total_cents - total, 0),
        to_pay=to_pay,
        running=running,
        reference=reference,
        girocode=girocode(to_pay, reference) if to_pay else None,
    )


@bp.post("/mahnschreiben/<token>/bezahlen")
def pay_dunning_letter(token: str) -> Response | str | tuple[str, int]:
    """From the letter's page, without log-in: pay by card what of the letter is open now and no
    direct debit collects — through the same attempt, reservation and booking as a notice's
    link (portal.payments.card), so a second click or tab is refused, never charged twice."""
    from portal.payments.card import start_card_payment, unavailable

    if not ConfirmForm().validate_on_submit():
        abort(400)
    letter = _letter_or_page(token)
    if not isinstance(letter, DunningLetter):
        return letter
    items, collected = _by_card(letter)
    payable = [c.id for c, _ in items if c.id not in collected]
    if not payable:
        return unavailable(
            "Aus diesem Schreiben ist nichts mehr online zu bezahlen: "
            + (
                "die offenen Beträge werden per Lastschrift eingezogen."
                if collected
                else "es ist bereits alles bezahlt."
            )
        )
    return start_card_payment(
        payable,
        person_id=letter.person_id,
        kassenzeichen=None,
        origin="dunning_letter",
        actor="anonymous:dunning-link",
    )
