"""Dunning letters in the portal: the citizen's download of their own letters (recorded, like
notices) and the public page behind the signed link on the paper letter (no log-in, no name
or address: what of the letter is still open, and how to transfer it)."""

from __future__ import annotations

from flask import abort, g, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from core.dunning import account as dunning_account
from core.dunning import letters
from core.kernel import clock
from core.kernel.errors import ExpiredToken, InvalidToken, NotFound
from portal.citizen import current_person
from portal.database import db
from portal.downloads import send_recorded
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


@bp.get("/mahnschreiben/<token>")
def public_dunning_letter(token: str) -> tuple[str, int] | str:
    """What of a letter is still open: level, date, deadline, the amounts by Kassenzeichen."""
    from portal.payments.card import girocode

    session = db()
    try:
        letter = letters.letter_from_token(
            session, notice_settings(), g.municipality.id, token, now=clock.now()
        )
    except ExpiredToken:
        return render_template("portal/notices/public_claim_invalid.html", expired=True), 410
    except (InvalidToken, NotFound):
        return render_template("portal/notices/public_claim_invalid.html", expired=False), 404
    items = dunning_account.still_open(session, letter)
    total = sum(o for _, o in items)
    reference = items[0][0].kassenzeichen if items else None
    return render_template(
        "portal/dunning/public_letter.html",
        letter=letter,
        run_date=dunning_account.run_date_of(session, letter),
        items=items,
        total_open=total,
        reference=reference,
        girocode=girocode(total, reference) if total and reference else None,
    )
