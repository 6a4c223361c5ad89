"""Electronic delivery in the citizen's account: consent given or withdrawn in plain words
(§ 87a (1), § 122a (1) AO), with the history of what was recorded and when."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import EmailField, RadioField, SelectChoice
from wtforms.validators import Length, Optional

from core.delivery import consent
from core.delivery.models import CHANNEL_LABELS, Channel, ConsentAction, DeliveryConsent
from core.identity.models import UserAccount
from portal.citizen import person_or_redirect
from portal.database import db
from portal.form_fields import GermanForm, required
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.requests import carry_out

HOW = "Bürgerportal"
POST = "post"


class DeliveryForm(GermanForm):
    choice = RadioField(
        "Wie möchten Sie Bescheide bekommen?",
        choices=[
            SelectChoice(POST, "Per Brief mit der Post"),
            SelectChoice(Channel.EMAIL.value, "In meinem Konto, mit Nachricht per E-Mail"),
            SelectChoice(Channel.POSTBOX.value, "Nur in meinem Konto, ohne E-Mail"),
        ],
        validators=[required("Bitte wählen Sie, wie Sie Bescheide bekommen möchten.")],
    )
    address = EmailField(
        "E-Mail-Adresse für die Nachricht",
        validators=[Optional(), Length(max=254, message="Bitte höchstens 254 Zeichen.")],
        description="Nur wenn Sie eine Nachricht per E-Mail möchten.",
        render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"},
    )


def _choice_of(entry: DeliveryConsent | None) -> str:
    return entry.channel.value if entry is not None and entry.channel is not None else POST


@bp.route("/zustellung", methods=["GET", "POST"])
@citizen_required
def delivery_consent() -> str | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    session = db()
    current = consent.in_force(session, person.id, g.municipality.id)
    form = DeliveryForm(
        data={"choice": _choice_of(current), "address": (current and current.address) or ""}
        if current
        else {"address": session.get_one(UserAccount, current_user.id).email}
    )
    if form.validate_on_submit():
        choice, address = form.choice.data, (form.address.data or "").strip()
        unchanged = choice == _choice_of(current) and (
            choice != Channel.EMAIL.value or (current and current.address) == address
        )
        if unchanged:
            flash("Ihre Auswahl war schon so gespeichert.", "info")
            return redirect(url_for("portal.delivery_consent"))
        actor = current_user.actor
        outcome = carry_out(
            (lambda: consent.withdraw(session, person, how=HOW, actor=actor))
            if choice == POST
            else (
                lambda: consent.give(
                    session,
                    person,
                    channel=Channel(choice),
                    address=address if choice == Channel.EMAIL.value else None,
                    how=HOW,
                    actor=actor,
                )
            ),
            form=form,
        )
        if outcome.ok:
            flash(
                "Gespeichert: Sie bekommen Bescheide künftig per Brief."
                if choice == POST
                else "Gespeichert: Sie bekommen Bescheide künftig in Ihrem Konto.",
                "success",
            )
            return redirect(url_for("portal.delivery_consent"))
    return render_template(
        "portal/delivery/consent.html",
        form=form,
        current=current,
        history=consent.history(session, person),
        labels=CHANNEL_LABELS,
        given=ConsentAction.GIVEN,
    )
