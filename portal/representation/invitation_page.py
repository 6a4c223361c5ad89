"""The page an invitation link opens, for representatives and powers of attorney alike: shown
to anyone with the link (what is offered, to whom it went); accepted only by a logged-in
citizen account, which then acts for the principal if the authority is already in force."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from core.identity.models import UserAccount
from core.kernel import clock
from core.kernel.errors import InvalidToken
from core.representation import access
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.representation import acting
from portal.requests import carry_out


@dataclass(frozen=True)
class Offer:
    """What an open invitation offers, as the page shows it."""

    municipality_id: int
    principal_id: int  # the organisation or the person giving the power
    what: str
    invited_email: str


@dataclass(frozen=True)
class Invitations:
    """One kind of invitation: how its open row is found and described, how it is accepted,
    what the citizen is told afterwards (acting for the principal or not yet) and where to."""

    find: Callable[[Session, str, str, datetime], Any]
    offer: Callable[[Any], Offer]
    accept: Callable[[Session, str, str, UserAccount, datetime], object]
    told: Callable[[Any, bool], str]
    then: Callable[[], str]


def invitation_page(kind: Invitations, token: str) -> str | Response:
    session = db()
    secret = current_app.config["SECRET_KEY"]
    try:
        row = kind.find(session, secret, token, clock.now())
    except InvalidToken:
        row = None
    offer = kind.offer(row) if row is not None else None
    if offer is None or offer.municipality_id != g.municipality.id:
        return render_template("portal/representation/invitation_invalid.html"), 404  # type: ignore[return-value]
    form = ConfirmForm()
    if current_user.is_authenticated and not current_user.is_staff and form.validate_on_submit():
        account = session.get_one(UserAccount, current_user.id)
        if carry_out(lambda: kind.accept(session, secret, token, account, clock.now())).ok:
            chosen = access.authority(
                session, offer.municipality_id, current_user.id, offer.principal_id, clock.today()
            )
            if chosen is not None:
                acting.act_for(chosen)
            flash(kind.told(row, chosen is not None), "success")
            return redirect(kind.then())
    return render_template(
        "portal/representation/invitation.html",
        what=offer.what,
        invited_email=offer.invited_email,
        form=form,
        here=request.path,
    )
