"""Back office for every levy's assessment: the annual batch runs (dog tax, waste fees, water
billing), the change assessment of one person, and the notices with their reprint as PDF.
Every query is limited to the clerk's municipality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

import core.job_kinds  # noqa: F401  (registers the runs that can be started)
from backoffice.blueprint import bp
from backoffice.persons import person_page_section
from core.jobs import control
from core.jobs.kinds import KINDS, JobKind, Plan
from core.jobs.models import Job
from core.kernel import archive, clock
from core.kernel.errors import NotFound
from core.levies import run_guards
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.water import guard as water_guard
from core.notices import records as notices
from core.persons import models as persons
from portal.database import db
from portal.downloads import send_recorded
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.jobs import wake
from portal.notice_settings import notice_settings
from portal.requests import carry_out


def _kinds() -> dict[str, str]:
    """The runs a clerk may start, as the job registry lists them (core.job_kinds)."""
    return {name: kind.title for name, kind in KINDS.items()}


@dataclass(frozen=True)
class _Choice:
    """What the clerk chose on the screen: carried from the form to its preview and back."""

    levy: str
    year: str
    confirm_early: bool

    @classmethod
    def from_request(cls) -> _Choice:
        given = request.form if request.method == "POST" else request.args
        return cls(
            levy=given.get("levy", "dog_tax"),
            year=given.get("year") or str(clock.today().year + 1),
            confirm_early=given.get("confirm_early", "").lower() in ("1", "y", "on", "true", "ja"),
        )

    def given(self) -> dict[str, str]:
        return {"year": self.year, "confirm_early": "1" if self.confirm_early else ""}


@dataclass
class _Screen:
    """The screen's state: the choice, the water billing's check, the preview once planned."""

    choice: _Choice
    check: water_guard.BillingCheck | None = None
    preview: list[str] | None = None
    title: str = ""


def _plan(screen: _Screen) -> tuple[JobKind, dict[str, Any], Plan]:
    """The preview of the chosen run (core.jobs.control.preview); for the water billing also
    its check of the reading deadline, which a refusal (EarlyBilling) carries itself."""
    choice = screen.choice
    planned = control.preview(db(), g.municipality, choice.levy, choice.given())
    kind, params, plan = planned
    if choice.levy == "water_fee":
        as_of = date.fromisoformat(params["as_of"])
        screen.check = water_guard.water_billing_check(
            db(), g.municipality.id, params["year"], as_of
        )
    screen.preview, screen.title = plan.preview, kind.describe(params)
    return planned


@bp.route("/veranlagung", methods=["GET", "POST"])
@staff_required()
def assessment_run() -> str | Response | tuple[str, int]:
    """Start a run as a job (Job-Steuerung): choose the run and the year, see its preview
    (what it will check; for the water billing the reading deadline, meters estimated and
    readings waiting, which before the deadline needs the clerk's tick), then start it; the
    job's page shows its progress. A wrong year, an unconfirmed early water billing or a
    second run of the same kind are refused with the German reason, the choice kept."""
    form = ConfirmForm()
    screen = _Screen(_Choice.from_request())
    invalid = False
    if form.validate_on_submit():
        starting = request.form.get("step") == "start"

        def start() -> Job | None:
            planned = _plan(screen)
            if not starting:
                return None
            return control.start_planned(db(), g.municipality, *planned, actor=current_user.actor)

        outcome = carry_out(start, form=form, handled=(water_guard.EarlyBilling,))
        if outcome.ok and outcome.value is not None:
            wake()
            flash(f"Lauf gestartet: {outcome.value.title}.", "success")
            return redirect(url_for("backoffice.job_page", job_id=outcome.value.id))
        if isinstance(outcome.error, water_guard.EarlyBilling):  # valid: it asks to confirm
            screen.check, screen.preview = outcome.error.check, None
        elif outcome.error is not None:
            screen.preview, invalid = None, True
    page = render_template(
        "backoffice/levies/assessment_run.html",
        form=form,
        screen=screen,
        choice=screen.choice,
        check=screen.check,
        kinds=_kinds(),
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
