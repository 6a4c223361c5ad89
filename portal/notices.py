"""eBescheid: the citizen's notices, their download (recorded) and the public page behind the
QR code on the paper notice (no log-in, no personal data)."""

from __future__ import annotations

from flask import abort, g, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from core.delivery import consent
from core.delivery import service as delivery
from core.kernel import clock
from core.kernel.errors import ExpiredToken, InvalidToken, NotFound
from core.ledger.balances import claim_balances
from core.ledger.models import Claim
from core.notices import records as notices
from core.payments.sepa.debit_outlook import collecting, debit_outlook
from core.persons.models import Person
from portal.citizen import current_person
from portal.database import db
from portal.downloads import send_recorded
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.notice_settings import notice_settings


@bp.get("/bescheide")
@citizen_required
def notice_list() -> str:
    person = current_person()
    session = db()
    found = notices.notices_of(session, person.id, g.municipality.id) if person else []
    return render_template(
        "portal/notices/index.html",
        notices=found,
        deliveries=delivery.deliveries_by_notice(session, [n.id for n in found]),
        first_downloads=delivery.first_downloads(session, found),
        consented=person is not None and consent.in_force(session, person.id, g.municipality.id),
    )


@bp.get("/bescheide/<int:notice_id>.pdf")
@citizen_required
def notice_pdf(notice_id: int) -> Response:
    person = current_person()
    session = db()
    try:
        notice = notices.get_notice(session, g.municipality.id, notice_id)
    except NotFound:
        abort(404)
    if person is None or notice.person_id != person.id:
        abort(404)
    return send_recorded(
        notices.ensure_document(session, notice, notice_settings(), actor=current_user.actor)
    )


@bp.get("/zahlung/<token>")
def public_claim(token: str) -> tuple[str, int] | str:
    """What is due under the Kassenzeichen of a notice: municipality, reference, amounts, dates.

    No name, no address, nothing else of the account. A tampered or expired link gets a clear
    page and no data.
    """
    session = db()
    try:
        notice = notices.notice_from_token(
            session, notice_settings(), g.municipality.id, token, now=clock.now()
        )
    except ExpiredToken:
        return render_template("portal/notices/public_claim_invalid.html", expired=True), 410
    except (InvalidToken, NotFound):
        return render_template("portal/notices/public_claim_invalid.html", expired=False), 404
    from sqlalchemy import select

    from portal.payments.card import girocode

    claims = list(
        session.scalars(
            select(Claim)
            .where(
                Claim.municipality_id == g.municipality.id,
                Claim.kassenzeichen == notice.kassenzeichen,
                Claim.cancelled_by_entry_id.is_(None),
            )
            .order_by(Claim.due_date, Claim.id)
        )
    )
    balances = claim_balances(session, claims)
    today = clock.today()
    items = [(c, balances[c.id].open_cents) for c in claims if balances[c.id].open_cents > 0]
    owner = session.get(Person, notice.person_id)
    debits = debit_outlook(session, owner, as_of=today) if owner else {}
    due_now = sum(open_ for c, open_ in items if c.due_date <= today)
    total_open = sum(o for _, o in items)
    # What pay_from_notice charges: the due (else all) items no mandate collects.
    collected = collecting(session, [c for c, _ in items], as_of=today)
    payable = [(c, o) for c, o in items if c.id not in collected]
    to_pay = sum(o for c, o in payable if c.due_date <= today) or sum(o for _, o in payable)
    return render_template(
        "portal/notices/public_claim.html",
        notice=notice,
        items=items,
        due_now=due_now,
        total_open=total_open,
        as_of=today,
        debits=debits,
        token=token,
        to_pay=to_pay,
        girocode=girocode(to_pay, notice.kassenzeichen) if to_pay else None,
    )
