"""Back office for every levy's assessment: the annual batch runs (dog tax, waste fees, water
billing), the change assessment of one person, and the notices with their reprint as PDF.
Every query is limited to the clerk's municipality."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from backoffice.persons import person_page_section
from core.kernel import archive, clock
from core.kernel.errors import NotFound, ValidationError
from core.levies import run_guards
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.waste import assessment as waste_fee_run
from core.levies.water import assessment as water_run
from core.levies.water import guard as water_guard
from core.notices import records as notices
from core.persons import models as persons
from portal.database import db
from portal.downloads import send_recorded
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.notice_settings import notice_settings
from portal.requests import carry_out

RUNS = {
    "dog_tax": "Hundesteuer (Jahresveranlagung)",
    "waste_fee": "Abfallgebühren (Jahresveranlagung)",
    "water_fee": "Wasser (Verbrauchsabrechnung des Jahres)",
}


def _run(session: Session, levy: str, year: int, *, confirm_early: bool) -> str:
    """One batch run; returns the German summary for the clerk."""
    args = {"municipality": g.municipality, "as_of": clock.today(), "actor": current_user.actor}
    if levy == "water_fee":
        water = water_run.bill_all(session, period=year, confirm_early=confirm_early, **args)
        return (
            f"Wasser {year}: {water.meters} Zähler abgerechnet, {water.notices} Bescheide, "
            f"davon {water.estimated} geschätzt."
            + (f" {water.waiting} Zählerstände warteten noch auf Prüfung." if water.waiting else "")
        )
    run = waste_fee_run.assess_all if levy == "waste_fee" else dog_tax_run.assess_all
    stats = run(session, year=year, **args)
    return (
        f"{RUNS[levy].split(' (')[0]} {year}: {stats.persons} Personen geprüft, "
        f"{stats.notices} Bescheide erstellt."
    )


@bp.route("/veranlagung", methods=["GET", "POST"])
@staff_required()
def assessment_run() -> str | Response | tuple[str, int]:
    """Batch runs (Stapellauf) of the clerk's municipality: the annual dog-tax and waste-fee
    assessments and the water billing; each is idempotent. A year that cannot be assessed and
    a water billing before the reading deadline (unless confirmed) are refused, the latter
    with what it would do: meters estimated, readings waiting for a clerk."""
    form = ConfirmForm()
    today = clock.today()
    year_text = request.form.get("year") or str(today.year + 1)
    levy = request.form.get("levy", "dog_tax")
    confirm_early = request.form.get("confirm_early", "").lower() in ("1", "y", "on", "true", "ja")
    check: water_guard.BillingCheck | None = None
    invalid = False

    def start() -> str:
        nonlocal check
        if levy not in RUNS:
            raise ValidationError("Bitte wählen Sie einen Lauf aus der Liste.")
        year = run_guards.parse_year(year_text, today)
        if levy == "water_fee":
            check = water_guard.water_billing_check(db(), g.municipality.id, year, today)
        return _run(db(), levy, year, confirm_early=confirm_early)

    if form.validate_on_submit():
        started = carry_out(start, form=form)
        if started.ok:
            flash(started.result(), "success")
            return redirect(url_for("backoffice.assessment_run"))
        if isinstance(started.error, water_guard.EarlyBilling):  # valid: the screen asks to confirm
            check = started.error.check
        else:
            invalid = True
    page = render_template(
        "backoffice/levies/assessment_run.html",
        form=form,
        year=year_text,
        levy=levy,
        levies=RUNS,
        check=check,
        confirm_early=confirm_early,
        pending=len(notices.pending_documents(db(), current_user.municipality_id)),
    )
    return (page, 422) if invalid else page


@bp.post("/personen/<int:person_id>/veranlagen")
@staff_required()
def assess_person(person_id: int) -> Response:
    """Change assessment of one person's dog tax for a year (e.g. after a correction)."""
    session = db()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        person = persons.get_person(session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)

    def assess() -> tuple[int, notices.Notice | None]:
        year = run_guards.parse_year(
            request.form.get("year") or str(clock.today().year), clock.today()
        )
        notice = dog_tax_run.assess_person(
            session,
            person=person,
            municipality=g.municipality,
            year=year,
            as_of=clock.today(),
            actor=current_user.actor,
        )
        return year, notice

    assessed = carry_out(assess)
    if assessed.ok:
        year, notice = assessed.result()
        flash(
            f"Bescheid {notice.number} erstellt."
            if notice
            else f"Hundesteuer {year}: keine Änderung.",
            "success" if notice else "info",
        )
    return redirect(url_for("backoffice.person_detail", person_id=person.id))


@bp.get("/bescheide/<int:notice_id>.pdf")
@staff_required()
def notice_pdf(notice_id: int) -> Response:
    """Reprint: the archived PDF (rendered on first need), download recorded."""
    session = db()
    try:
        notice = notices.get_notice(session, current_user.municipality_id, notice_id)
    except NotFound:
        abort(404)
    return send_recorded(
        notices.ensure_document(session, notice, notice_settings(), actor=current_user.actor)
    )


@person_page_section
def notices_section(person: persons.Person) -> dict[str, object]:
    """The person's notices with their downloads, and the year the assessment form proposes."""
    session = db()
    found = notices.notices_of(session, person.id, person.municipality_id)
    downloads = archive.downloads_of(session, [n.document_id for n in found if n.document_id])
    by_document: dict[int, list[archive.DocumentDownload]] = {}
    for d in downloads:
        by_document.setdefault(d.document_id, []).append(d)
    return {"notices": found, "downloads": by_document, "this_year": clock.today().year}
