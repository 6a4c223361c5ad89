"""Back office of delivery: the outbox (notifications and print jobs with attempts, next try
and errors), the notices waiting for the post, posted and returned, the print batches; a
returned letter recorded by the clerk; sending what is due now; the person page's part
(consent in force and its history, per notice the deemed date and the first download)."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID
from backoffice.persons import person_page_section
from core.delivery import consent, overview
from core.delivery.fallback import record_return
from core.delivery.models import (
    CHANNEL_LABELS,
    DISPATCH_LABELS,
    STATUS_LABELS,
    Channel,
    DeliveryStatus,
)
from core.delivery.service import make_available, send_due
from core.job_kinds import POSTAL_FALLBACK
from core.jobs import control
from core.jobs.models import Job
from core.kernel import clock
from core.kernel.errors import NotFound
from core.persons import models as persons
from core.tenancy.municipalities import Municipality
from portal.database import db
from portal.delivery_dispatch import dispatchers
from portal.form_fields import ConfirmForm, GermanForm, required
from portal.identity.auth import staff_required
from portal.jobs import wake
from portal.requests import carry_out

LABELS = {"channel": CHANNEL_LABELS, "dispatch": DISPATCH_LABELS, "status": STATUS_LABELS}


class FallbackForm(GermanForm):
    as_of = DateField("Versandtag", validators=[required("Bitte geben Sie den Versandtag an.")])


class ReturnForm(GermanForm):
    returned_on = DateField(
        "Zurückgekommen am", validators=[required("Bitte geben Sie an, wann der Brief zurückkam.")]
    )
    note = StringField(
        "Vermerk",
        validators=[Optional(), Length(max=300, message="Bitte höchstens 300 Zeichen.")],
        description="Zum Beispiel „Empfänger unbekannt verzogen“.",
    )


def _page(
    return_form: ReturnForm | None = None,
    failed_id: int | None = None,
    fallback_form: FallbackForm | None = None,
    fallback_preview: list[str] | None = None,
) -> str:
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
        fallback_form=fallback_form or FallbackForm(data={"as_of": clock.today()}),
        fallback_preview=fallback_preview,
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


@bp.post("/zustellung/postversand")
@staff_required()
def delivery_fallback() -> Response | str | tuple[str, int]:
    """The postal fallback as a job: first its preview (how many letters), then the start."""
    form = FallbackForm()
    if not form.validate_on_submit() or form.as_of.data is None:
        return _page(fallback_form=form), 422
    given = {"as_of": form.as_of.data.isoformat()}
    starting = request.form.get("step") == "start"
    session = db()

    def plan() -> Job | list[str]:
        kind, params, planned = control.preview(
            session, g.municipality, POSTAL_FALLBACK.name, given
        )
        if not starting:
            return planned.preview
        return control.start_planned(
            session, g.municipality, kind, params, planned, actor=current_user.actor
        )

    outcome = carry_out(plan, form=form, field="as_of")
    if not outcome.ok:
        return _page(fallback_form=form), 422
    value = outcome.result()
    if isinstance(value, Job):
        wake()
        flash(f"Lauf gestartet: {value.title}.", "success")
        return redirect(url_for("backoffice.job_page", job_id=value.id))
    return _page(fallback_form=form, fallback_preview=value)


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


CLERK_HOW = "schriftlich (Sachbearbeitung)"


class PaperConsentForm(GermanForm):
    """Consent or its withdrawal received on paper, recorded by the clerk."""

    choice = RadioField(
        "Erklärung der Person",
        choices=[
            SelectChoice(Channel.EMAIL.value, "Zustimmung: Konto mit Nachricht per E-Mail"),
            SelectChoice(Channel.POSTBOX.value, "Zustimmung: nur Postfach im Konto"),
            SelectChoice("withdrawn", "Widerruf: wieder per Post"),
        ],
        validators=[required("Bitte wählen Sie, was die Person erklärt hat.")],
    )
    address = StringField(
        "E-Mail-Adresse",
        validators=[Optional(), Length(max=254, message="Bitte höchstens 254 Zeichen.")],
    )


@bp.post("/personen/<int:person_id>/zustellung")
@staff_required()
def delivery_paper_consent(person_id: int) -> Response:
    if person_id > MAX_ID:
        abort(404)
    session = db()
    try:
        person = persons.get_person(session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    form = PaperConsentForm()
    back = url_for("backoffice.person_detail", person_id=person.id, _anchor="zustellung")
    if not form.validate_on_submit():
        flash("Bitte wählen Sie, was die Person erklärt hat.", "error")
        return redirect(back)
    choice, actor = form.choice.data, current_user.actor
    outcome = carry_out(
        (lambda: consent.withdraw(session, person, how=CLERK_HOW, actor=actor))
        if choice == "withdrawn"
        else (
            lambda: consent.give(
                session,
                person,
                channel=Channel(choice),
                address=form.address.data if choice == Channel.EMAIL.value else None,
                how=CLERK_HOW,
                actor=actor,
            )
        )
    )
    if outcome.ok:
        flash("Erklärung zur elektronischen Bekanntgabe eingetragen.", "success")
    return redirect(back)


@person_page_section
def delivery_section(person: persons.Person) -> dict[str, object]:
    return {
        "delivery": overview.of_person(db(), person),
        "delivery_labels": LABELS,
        "delivery_form": PaperConsentForm(),
    }
