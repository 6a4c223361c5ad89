"""Meter readings without log-in, from the QR code on the reading card.

The link is signed and bound to one meter and one period. The form is prefilled with the meter
number and last year's reading; an implausible value is accepted only when the citizen
confirms it, and then waits for a clerk. static/js/reading.js keeps a typed value in the
browser and sends it again when a dropped connection comes back.
"""

from __future__ import annotations

from flask import current_app, g, render_template, request
from werkzeug.wrappers import Response

from core.identity.external import Service
from core.kernel import clock
from core.kernel.errors import ExpiredToken, InvalidToken, NotFound
from core.levies.water import links as water_links
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from portal.database import db
from portal.identity.trust import required_or_step_up
from portal.municipal import bp
from portal.requests import Outcome, carry_out
from portal.uploads import store_upload
from portal.water.forms import ReadingForm
from portal.water.plausibility import band_percent


@bp.route("/zaehlerstand/<int:period>/<token>", methods=["GET", "POST"])
def meter_reading(period: int, token: str) -> str | tuple[str, int] | Response:
    step_up = required_or_step_up(Service.METER_READING)  # default: none (anyone with the card)
    if step_up is not None:
        return step_up
    session = db()
    try:
        meter = water_links.meter_from_token(
            session,
            current_app.config["SECRET_KEY"],
            g.municipality.id,
            period,
            token,
            now=clock.now(),
        )
    except (InvalidToken, ExpiredToken, NotFound):
        return render_template("portal/water/invalid.html"), 404
    existing = water.current_reading(session, meter.id, period)
    last = water_readings.previous_reading(session, meter, period)
    form = ReadingForm()
    issues: list[str] = []
    if existing is None and form.validate_on_submit():
        submitted = _submit(form, meter, period)
        if submitted is not None and isinstance(submitted.error, water_readings.NeedsConfirmation):
            issues = submitted.error.messages
        elif submitted is not None and submitted.ok:
            return render_template(
                "portal/water/thanks.html",
                meter=meter,
                period=period,
                reading=submitted.result(),
                token=token,
            )
    if existing is not None and request.method == "POST":
        return render_template("portal/water/already.html", meter=meter, period=period), 409
    return render_template(
        "portal/water/form.html",
        form=form,
        meter=meter,
        period=period,
        last=last,
        issues=issues,
        existing=existing,
        token=token,
    )


def _submit(
    form: ReadingForm, meter: water.Meter, period: int
) -> Outcome[water.MeterReading] | None:
    """Archive the photo, then submit the reading; None when the photo is refused (its message
    is on the field, nothing is saved). An implausible value comes back unshown (``issues``)."""
    photo_id = store_upload(  # checked by its content
        form.photo,
        person_id=meter.person_id,
        kind="meter_photo",
        filename=f"Zähler {meter.number}",
        actor="anonymous:reading-card",
        allowed=("image/jpeg", "image/png"),
    )
    if photo_id is False:
        return None
    return carry_out(
        lambda: water_readings.submit_reading(
            db(),
            meter=meter,
            period=period,
            value=int(form.value.data or 0),
            read_on=clock.today(),
            as_of=clock.today(),
            source=water.ReadingSource.PORTAL,
            band_percent=band_percent(g.municipality.id, period),
            confirmed=bool(form.confirm.data),
            actor="anonymous:reading-card",
            photo_document_id=photo_id or None,
        ),
        form=form,
        field="value",
        handled=(water_readings.NeedsConfirmation,),
    )
