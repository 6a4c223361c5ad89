"""Back office for water meters: readings to check, fast entry of returned paper cards, reading
cards as PDF. Limited to the clerk's municipality."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from backoffice.lookups import rows_by_id
from core.kernel import clock
from core.kernel.errors import NotFound, ValidationError
from core.levies import run_guards
from core.levies.water import cards as water_cards
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.requests import carry_out
from portal.water.forms import ClerkReadingForm, MeterChangeForm
from portal.water.plausibility import band_percent


@bp.get("/zaehlerstaende")
@staff_required()
def readings() -> str:
    session = db()
    queue = water_readings.review_queue(session, current_user.municipality_id)
    return render_template(
        "backoffice/water/readings.html",
        queue=queue,
        meters=rows_by_id(session, water.Meter, {r.meter_id for r in queue}),
        form=ConfirmForm(),
        period=clock.today().year,
    )


@bp.post("/zaehlerstaende/<int:reading_id>/<action>")
@staff_required()
def reading_decision(reading_id: int, action: str) -> Response:
    session = db()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reading = session.get(water.MeterReading, reading_id)
    if reading is None or reading.municipality_id != current_user.municipality_id:
        abort(404)
    if action == "uebernehmen":
        water_readings.accept(session, reading, actor=current_user.actor)
        flash(f"Zählerstand {reading.value} m³ übernommen.", "success")
    elif action == "oeffnen":
        water_readings.reopen(session, reading, actor=current_user.actor)
        flash("Zählerstand verworfen: der Zeitraum ist wieder offen.", "success")
    else:
        abort(404)
    session.commit()
    return redirect(url_for("backoffice.readings"))


@bp.route("/zaehlerstaende/erfassen", methods=["GET", "POST"])
@staff_required()
def reading_entry() -> str | Response:
    """Fast keyboard entry of returned paper cards: number, value, Enter — next card."""
    session = db()
    form = ClerkReadingForm(period=request.args.get("period") or str(clock.today().year))
    if form.validate_on_submit():
        period = int(form.period.data or 0)
        meter = session.scalars(
            select(water.Meter).where(
                water.Meter.municipality_id == current_user.municipality_id,
                water.Meter.number == (form.meter_number.data or "").strip(),
                water.Meter.removed_on.is_(None),
            )
        ).first()
        if meter is None:
            form.meter_number.errors = [
                *form.meter_number.errors,
                "Diese Zählernummer gibt es hier nicht.",
            ]
        else:
            entered = carry_out(
                lambda: water_readings.submit_reading(
                    session,
                    meter=meter,
                    period=period,
                    value=int(form.value.data or 0),
                    read_on=clock.today(),
                    as_of=clock.today(),
                    source=water.ReadingSource.CARD,
                    band_percent=band_percent(current_user.municipality_id, period),
                    confirmed=True,
                    actor=current_user.actor,
                ),
                form=form,
                field="value",
            )
            if entered.ok:
                reading = entered.result()
                flash(
                    f"Zähler {meter.number}: {reading.value} m³ erfasst"
                    + (" – zur Prüfung vorgemerkt." if reading.issues else "."),
                    "warning" if reading.issues else "success",
                )
                return redirect(url_for("backoffice.reading_entry", period=period))
    return render_template("backoffice/water/reading_entry.html", form=form)


@bp.get("/ablesekarten.pdf")
@staff_required()
def reading_cards() -> Response:
    """Reading cards of a period; "Bitte melden bis" is the statute's reading deadline."""
    session = db()
    try:
        period = run_guards.parse_year(
            request.args.get("period") or str(clock.today().year), clock.today()
        )
    except ValidationError:
        abort(400)
    meters = water.meters_for_cards(session, current_user.municipality_id, period)
    if not meters:
        abort(404)
    try:
        pdf = water_cards.reading_cards_pdf(
            session,
            meters,
            period=period,
            secret=current_app.config["SECRET_KEY"],
            public_base_url=current_app.config["PUBLIC_BASE_URL"],
            issued_at=clock.now(),
        )
    except NotFound:  # no water statute for the period: no deadline to print
        abort(404)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="Ablesekarten-{g.municipality.slug}-{period}.pdf"'
    )
    return response


@bp.route("/zaehlerwechsel", methods=["GET", "POST"])
@staff_required()
def meter_change() -> str | Response:
    session = db()
    form = MeterChangeForm()
    if form.validate_on_submit():
        old = session.scalars(
            select(water.Meter).where(
                water.Meter.municipality_id == current_user.municipality_id,
                water.Meter.number == (form.old_number.data or "").strip(),
                water.Meter.removed_on.is_(None),
            )
        ).first()
        if old is None:
            form.old_number.errors = [
                *form.old_number.errors,
                "Diese Zählernummer gibt es hier nicht.",
            ]
        else:
            changed = carry_out(
                lambda: water_readings.change_meter(
                    session,
                    old,
                    new_number=form.new_number.data or "",
                    size=old.size,
                    final_reading=int(form.final_reading.data or 0),
                    start_reading=int(form.start_reading.data or 0),
                    changed_on=form.changed_on.data,
                    as_of=clock.today(),
                    actor=current_user.actor,
                ),
                form=form,
            )
            if changed.ok:
                flash(f"Zähler {old.number} ersetzt durch {changed.result().number}.", "success")
                return redirect(url_for("backoffice.readings"))
    return render_template("backoffice/water/meter_change.html", form=form)
