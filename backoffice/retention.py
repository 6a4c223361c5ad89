"""Back office Aufbewahrung und Löschung (core.retention): the retention runs — the list,
"Neuer Löschlauf" (a preview for an as-of date: per category the records due, and the blocked
ones with their reason; no content), the run's page with the four-eyes steps (approve by
another clerk than the one who prepared it — the core refuses the same one — which starts the
deleting job, or discard before approval) — and the legal holds (Löschsperren) of a person or
a document, placed and ended by a clerk.

Every change is a CSRF form handed to one core call (portal.requests.carry_out), which
records the audit trail. Every query is limited to the clerk's municipality: another
municipality's run or hold is "not found" (404)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp

import core.job_kinds  # noqa: F401  (registers the retention job)
from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID, parse_id
from backoffice.four_eyes import confirmed, run_or_404, staff_names
from backoffice.jobs import RESULT_LINKS
from core.jobs.models import Job
from core.kernel import clock
from core.kernel.db import get_scoped
from core.kernel.errors import NotFound
from core.persons.models import Person
from core.retention import blocks, runs
from core.retention.models import OBJECT_LABELS, LegalHold, RunState
from portal.database import db
from portal.form_fields import ConfirmForm, GermanForm
from portal.identity.auth import staff_required
from portal.jobs import wake
from portal.requests import carry_out


class RunForm(GermanForm):
    as_of = DateField(
        "Stichtag des Löschlaufs",
        validators=[InputRequired("Bitte geben Sie den Stichtag an.")],
        description="Gelöscht wird, was an diesem Tag nicht mehr aufbewahrt werden muss.",
    )


SHOWN = 500  # entries listed per table (the counts are of all of them)
NUMBER = r"^\s*[0-9]{1,9}\s*$"


class HoldForm(GermanForm):
    person_number = StringField(
        "Personennummer",
        validators=[Optional(), Regexp(NUMBER, message="Bitte nur Ziffern angeben.")],
        description="Die Sperre gilt für alle Unterlagen der Person. Oder ein Dokument angeben.",
    )
    document_id = StringField(
        "Dokument-Nr.",
        validators=[Optional(), Regexp(NUMBER, message="Bitte nur Ziffern angeben.")],
        description="Die Sperre gilt nur für dieses Dokument.",
    )
    reason = StringField(
        "Grund",
        validators=[
            InputRequired("Bitte geben Sie den Grund an."),
            Length(max=300, message="Höchstens 300 Zeichen."),
        ],
        description="z. B. Rechtsstreit mit Aktenzeichen, Prüfung durch das Rechnungsprüfungsamt.",
    )
    starts_on = DateField("Gilt ab", validators=[InputRequired("Bitte geben Sie den Beginn an.")])
    ends_on = DateField(
        "Gilt bis", validators=[Optional()], description="Leer lassen: bis sie beendet wird."
    )


def _run_link(job: Job) -> tuple[str, str] | None:
    run_id = job.params.get("run")
    if not isinstance(run_id, int):
        return None
    return url_for("backoffice.retention_run", run_id=run_id), f"Zum Löschlauf Nr. {run_id}"


RESULT_LINKS[runs.JOB_KIND] = _run_link


@bp.route("/loeschlaeufe", methods=["GET", "POST"])
@staff_required()
def retention_runs() -> str | Response | tuple[str, int]:
    """The runs, the newest first, and "Neuer Löschlauf": a preview (nothing is deleted)."""
    form = RunForm() if request.method == "POST" else RunForm(data={"as_of": clock.today()})
    invalid = False
    if request.method == "POST":
        if form.validate_on_submit():
            made = carry_out(
                lambda: runs.open_run(db(), g.municipality, form.as_of.data, current_user.actor),
                form=form,
            )
            if made.ok:
                run, _ = made.result()
                flash(
                    f"Vorschau des Löschlaufs Nr. {run.id} erstellt; gelöscht ist nichts.",
                    "success",
                )
                return redirect(url_for("backoffice.retention_run", run_id=run.id))
        invalid = True
    found = runs.runs_of(db(), current_user.municipality_id)
    page = render_template(
        "backoffice/retention/runs.html",
        form=form,
        runs=found,
        names=staff_names({a for r in found for a in (r.created_by, r.approved_by)}),
    )
    return (page, 422) if invalid else page


@bp.get("/loeschlaeufe/<int:run_id>")
@staff_required()
def retention_run(run_id: int) -> str:
    """The run: per category the records due, the blocked ones with their reason, the steps."""
    session = db()
    run = run_or_404(runs.get_run, run_id)
    shown = runs.figures(session, run)
    job = session.get(Job, run.job_id) if run.job_id else None
    return render_template(
        "backoffice/retention/run.html",
        run=run,
        due=runs.items_of(session, run, blocked=False, limit=SHOWN),
        blocked=runs.items_of(session, run, blocked=True, limit=SHOWN),
        figures=shown,
        shown=SHOWN,
        counts=sorted(shown.due.items()),
        label=runs.category_label,
        objects=OBJECT_LABELS,
        job=job,
        names=staff_names({run.created_by, run.approved_by}),
        states=RunState,
        form=ConfirmForm(),
    )


@bp.post("/loeschlaeufe/<int:run_id>/freigeben")
@staff_required()
def retention_run_approve(run_id: int) -> Response:
    """The second person's approval; it starts the job that deletes."""
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    done = carry_out(lambda: runs.approve(db(), run, current_user.actor))
    if not done.ok:
        return redirect(url_for("backoffice.retention_run", run_id=run.id))
    job_id = done.result()
    if job_id is None:
        flash(f"Löschlauf Nr. {run.id} freigegeben; es war nichts zu löschen.", "success")
        return redirect(url_for("backoffice.retention_run", run_id=run.id))
    wake()
    flash(f"Löschlauf Nr. {run.id} freigegeben; die Löschung läuft.", "success")
    return redirect(url_for("backoffice.job_page", job_id=job_id))


@bp.post("/loeschlaeufe/<int:run_id>/verwerfen")
@staff_required()
def retention_run_discard(run_id: int) -> Response:
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    if carry_out(lambda: runs.discard(db(), run, current_user.actor)).ok:
        flash(f"Löschlauf Nr. {run.id} verworfen; es wurde nichts gelöscht.", "success")
    return redirect(url_for("backoffice.retention_run", run_id=run.id))


@bp.route("/loeschsperren", methods=["GET", "POST"])
@staff_required()
def legal_holds() -> str | Response | tuple[str, int]:
    """The holds, the newest first, and a form to place one."""
    form = HoldForm() if request.method == "POST" else HoldForm(data={"starts_on": clock.today()})
    invalid = False
    if request.method == "POST":
        if form.validate_on_submit():
            made = carry_out(
                lambda: blocks.place_hold(
                    db(), current_user.municipality_id,
                    person_number=parse_id(form.person_number.data),
                    document_id=parse_id(form.document_id.data),
                    reason=form.reason.data or "", starts_on=form.starts_on.data,
                    ends_on=form.ends_on.data, actor=current_user.actor,
                ),
                form=form,
            )  # fmt: skip
            if made.ok:
                flash("Löschsperre eingetragen.", "success")
                return redirect(url_for("backoffice.legal_holds"))
        invalid = True
    found = blocks.holds_of(db(), current_user.municipality_id)
    page = render_template(
        "backoffice/retention/holds.html",
        form=form,
        holds=found,
        today=clock.today(),
        end_form=ConfirmForm(),
        numbers=_person_numbers({h.person_id for h in found if h.person_id}),
        names=staff_names({a for h in found for a in (h.created_by, h.ended_by)}),
    )
    return (page, 422) if invalid else page


def _person_numbers(person_ids: set[int]) -> dict[int, int]:
    if not person_ids:
        return {}
    rows = db().execute(
        select(Person.id, Person.number).where(
            Person.municipality_id == current_user.municipality_id, Person.id.in_(person_ids)
        )
    )
    return {person_id: number for person_id, number in rows}


@bp.post("/loeschsperren/<int:hold_id>/beenden")
@staff_required()
def legal_hold_end(hold_id: int) -> Response:
    """End a hold today (it stays as history)."""
    confirmed()
    if hold_id > MAX_ID:
        abort(404)
    try:
        hold = get_scoped(db(), LegalHold, current_user.municipality_id, hold_id)
    except NotFound:
        abort(404)
    if carry_out(lambda: blocks.end_hold(db(), hold, clock.today(), current_user.actor)).ok:
        flash("Löschsperre beendet.", "success")
    return redirect(url_for("backoffice.legal_holds"))
