"""Back office of delivery: the outbox (notifications and print jobs with attempts, next try
and errors), the notices waiting for the post, posted and returned, the print batches; a
returned letter recorded by the clerk; sending what is due now; the person page's part
(consent in force and its history, per notice the deemed date and the first download)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID
from backoffice.persons import person_page_section
from core.delivery import overview
from core.delivery.fallback import record_return
from core.delivery.models import (
    CHANNEL_LABELS,
    DISPATCH_LABELS,
    STATUS_LABELS,
    DeliveryStatus,
)
from core.delivery.service import make_available, send_due
from core.kernel import clock
from core.kernel.errors import NotFound
from core.persons import models as persons
from core.tenancy.municipalities import Municipality
from portal.database import db
from portal.delivery_dispatch import dispatchers
from portal.form_fields import ConfirmForm, GermanForm, required
from portal.identity.auth import staff_required
from portal.requests import carry_out

LABELS = {"channel": CHANNEL_LABELS, "dispatch": DISPATCH_LABELS, "status": STATUS_LABELS}


class ReturnForm(GermanForm):
    returned_on = DateField(
        "Zurückgekommen am", validators=[required("Bitte geben Sie an, wann der Brief zurückkam.")]
    )
    note = StringField(
        "Vermerk",
        validators=[Optional(), Length(max=300, message="Bitte höchstens 300 Zeichen.")],
        description="Zum Beispiel „Empfänger unbekannt verzogen“.",
    )


def _page(return_form: ReturnForm | None = None, failed_id: int | None = None) -> str:
    session, municipality_id = db(), current_user.municipality_id
    return render_template(
        "backoffice/delivery/index.html",
        dispatches=overview.dispatches(session, municipality_id),
        waiting=overview.deliveries(session, municipality_id, [DeliveryStatus.AWAITING_POST]),
        posted=overview.deliveries(
            session, municipality_id, [DeliveryStatus.POSTED, DeliveryStatus.RETURNED]
        ),
        batches=overview.batches(session, municipality_id),
        return_form=return_form or ReturnForm(data={"returned_on": clock.today()}),
        failed_id=failed_id,
        send_form=ConfirmForm(),
        labels=LABELS,
    )


@bp.get("/zustellung")
@staff_required()
def delivery_overview() -> str:
    return _page()


@bp.post("/zustellung/senden")
@staff_required()
def delivery_send() -> Response | str:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    session, now = db(), clock.now()
    municipality = session.get_one(Municipality, current_user.municipality_id)

    def send() -> dict[str, int]:
        made = make_available(
            session,
            municipality,
            now=now,
            portal_url=current_app.config["PUBLIC_BASE_URL"],
            actor=current_user.actor,
        )
        sent = send_due(
            session,
            dispatchers(),
            now=now,
            actor=current_user.actor,
            municipality_id=municipality.id,
        )
        return {**made, **sent}

    outcome = carry_out(send)
    if outcome.ok:
        c = outcome.result()
        flash(
            f"{c['electronic']} Bescheide bereitgestellt, {c['postal']} für den Postversand; "
            f"{c['sent']} Nachrichten versandt, {c['retry']} werden später erneut versucht, "
            f"{c['bounced'] + c['failed']} nicht zustellbar.",
            "success",
        )
    return redirect(url_for("backoffice.delivery_overview"))


@bp.post("/zustellung/<int:delivery_id>/rueckbrief")
@staff_required()
def delivery_returned(delivery_id: int) -> Response | tuple[str, int]:
    if delivery_id > MAX_ID:
        abort(404)
    form = ReturnForm()
    session = db()
    if form.validate_on_submit():
        municipality = session.get_one(Municipality, current_user.municipality_id)
        outcome = carry_out(
            lambda: record_return(
                session,
                municipality,
                delivery_id,
                returned_on=form.returned_on.data or clock.today(),
                note=form.note.data or "",
                actor=current_user.actor,
            ),
            form=form,
        )
        if outcome.ok:
            flash("Rückbrief eingetragen: der Bescheid gilt nicht als bekannt gegeben.", "success")
            return redirect(url_for("backoffice.delivery_overview"))
        if isinstance(outcome.error, NotFound):
            abort(404)
    return _page(form, delivery_id), 422


@person_page_section
def delivery_section(person: persons.Person) -> dict[str, object]:
    return {"delivery": overview.of_person(db(), person), "delivery_labels": LABELS}
