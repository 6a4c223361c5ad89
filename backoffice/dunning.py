"""Back office Mahnwesen: the dunning runs (core.dunning.runs) — the list with who prepared,
approved and booked each, "Neuer Mahnlauf" (a preview for a run date), the run's page with its
totals per level and its letters one page at a time (searchable by name, person number or
Kassenzeichen), and the four-eyes steps: approve (another clerk than the one who prepared it;
the core refuses the same one), discard before approval, book after approval as a job
(core.dunning.jobs.BookDunningRun) whose progress the job page shows (backoffice.jobs).
"Vorschau erstellen" opens the run and starts the job that prepares its letters
(core.dunning.jobs.PrepareDunningRun); the job page links back to the run, which is shown as
being prepared until the job is done. After booking the letters' PDFs are rendered by a job
the booking starts; the run page counts them and can start that job again.

Every change is a CSRF form handed to one core call (portal.requests.carry_out), which
records the audit trail. Every query is limited to the clerk's municipality: another
municipality's run is "not found" (404). Mahnsperren on the person page:
backoffice.dunning_blocks."""

from __future__ import annotations

from datetime import date, timedelta

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField
from wtforms.validators import InputRequired

import core.job_kinds  # noqa: F401  (registers the booking job)
from backoffice.blueprint import bp
from backoffice.form_ids import parse_id
from backoffice.four_eyes import confirmed, run_or_404, staff_names
from backoffice.jobs import RESULT_LINKS
from backoffice.lookups import rows_by_id
from core.dunning import booking, overview, runs
from core.dunning.jobs import RENDER, start_preview
from core.dunning.models import DunningRun, RunState
from core.jobs import control
from core.jobs.models import STATE_TEXT, Job, JobState
from core.kernel import audit, clock
from core.kernel.errors import ValidationError
from core.ledger.models import Claim
from core.payments.sepa.person_search import find_persons
from portal.database import db
from portal.form_fields import ConfirmForm, GermanForm
from portal.identity.auth import staff_required
from portal.jobs import wake
from portal.requests import carry_out

AHEAD_DAYS = 31  # a run may be prepared for a posting day up to a month ahead, not later
ACTIONS = {
    "dunning_run.previewed": "Vorschau erstellt",
    "dunning_run.approved": "freigegeben",
    "dunning_run.discarded": "verworfen",
    "dunning_run.booked": "gebucht",
}


class RunForm(GermanForm):
    run_date = DateField(
        "Stichtag des Mahnlaufs",
        validators=[InputRequired("Bitte geben Sie den Stichtag an.")],
        description="Der Tag, an dem die Schreiben zur Post gehen; nicht vor dem letzten Mahnlauf.",
    )


def _prepare(run_date: date) -> tuple[DunningRun, Job | None]:
    if run_date > clock.today() + timedelta(days=AHEAD_DAYS):
        raise ValidationError(
            f"Der Stichtag {run_date:%d.%m.%Y} liegt zu weit in der Zukunft (höchstens "
            f"{AHEAD_DAYS} Tage nach heute)."
        )
    return start_preview(db(), g.municipality, run_date, current_user.actor)


def _run_link(job: Job) -> tuple[str, str] | None:
    """The job page's link back to the run it prepares, books or renders."""
    run_id = job.params.get("run")
    if not isinstance(run_id, int):
        return None
    return url_for("backoffice.dunning_run", run_id=run_id), f"Zum Mahnlauf Nr. {run_id}"


for _kind in (runs.PREVIEW_KIND, overview.BOOKING_KIND, RENDER.name):
    RESULT_LINKS[_kind] = _run_link


@bp.route("/mahnlaeufe", methods=["GET", "POST"])
@staff_required()
def dunning_runs() -> str | Response | tuple[str, int]:
    """The runs, the newest first, and "Neuer Mahnlauf": a preview for the run date (nothing
    is booked); a date before the last run, an open run or a missing procedure are refused
    with the core's German reason."""
    form = RunForm() if request.method == "POST" else RunForm(data={"run_date": clock.today()})
    invalid = False
    if request.method == "POST":
        if form.validate_on_submit():
            made = carry_out(lambda: _prepare(form.run_date.data), form=form)
            if made.ok:
                run, job = made.result()
                if job is None:
                    flash(f"Vorschau des Mahnlaufs Nr. {run.id} erstellt.", "success")
                    return redirect(url_for("backoffice.dunning_run", run_id=run.id))
                wake()
                flash(
                    f"Die Vorschau des Mahnlaufs Nr. {run.id} wird erstellt ({job.total} "
                    "Personen). Sobald der Lauf fertig ist, führt der Link zum Mahnlauf.",
                    "success",
                )
                return redirect(url_for("backoffice.job_page", job_id=job.id))
        invalid = True
    session = db()
    found = overview.runs_of(session, current_user.municipality_id)
    page = render_template(
        "backoffice/dunning/runs.html",
        form=form,
        runs=found,
        letters=overview.letter_counts(session, [r.id for r in found]),
        names=staff_names({a for r in found for a in (r.created_by, r.approved_by, r.booked_by)}),
    )
    return (page, 422) if invalid else page


def _page_number() -> int:
    return parse_id(request.args.get("seite")) or 1


def _search(query: str) -> list[int] | None:
    """The persons a search names (name, person number, Kassenzeichen); None: no search."""
    if not query:
        return None
    return [p.id for p in find_persons(db(), current_user.municipality_id, query[:100])]


@bp.get("/mahnlaeufe/<int:run_id>")
@staff_required()
def dunning_run(run_id: int) -> str:
    """The run's totals and, page by page, per person the letter with its claims."""
    session = db()
    run = run_or_404(runs.get_run, run_id)
    query = (request.args.get("q") or "").strip()
    letters = overview.letters_page(session, run, _page_number(), person_ids=_search(query))
    items = runs.items_of(session, [letter.id for letter in letters.letters])
    claims = rows_by_id(session, Claim, {i.claim_id for its in items.values() for i in its})
    trail = audit.trail(session, run.municipality_id, "dunning_run", run.id)
    jobs = runs.jobs_of_run(session, run, KIND_NAMES)
    booked, with_pdf = runs.pdf_figures(session, run)
    actors = {run.created_by, run.approved_by, run.booked_by, *(e.actor for e in trail)}
    return render_template(
        "backoffice/dunning/run.html",
        run=run,
        totals=overview.figures(session, run),
        page=letters,
        items=items,
        claims=claims,
        query=query,
        trail=trail,
        actions=ACTIONS,
        jobs=jobs,
        job_states=STATE_TEXT,
        job_kinds=KIND_NAMES,
        booking=_running(jobs, overview.BOOKING_KIND),
        preparing=runs.preparing(session, run),
        rendering=_running(jobs, RENDER.name),
        pdfs=(booked, with_pdf),
        names=staff_names(actors | {job.started_by for job in jobs}),
        states=RunState,
        form=ConfirmForm(),
    )


KIND_NAMES = {
    runs.PREVIEW_KIND: "Vorschau",
    overview.BOOKING_KIND: "Buchung",
    RENDER.name: "PDF-Erzeugung",
}


def _running(jobs: list[Job], kind: str) -> bool:
    return any(job.kind == kind and job.state is JobState.RUNNING for job in jobs)


@bp.post("/mahnlaeufe/<int:run_id>/freigeben")
@staff_required()
def dunning_run_approve(run_id: int) -> Response:
    """The second person's approval; the one who prepared the run is refused by the core."""
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    if carry_out(lambda: runs.approve(db(), run, current_user.actor)).ok:
        flash(f"Mahnlauf Nr. {run.id} freigegeben. Er kann jetzt gebucht werden.", "success")
    return redirect(url_for("backoffice.dunning_run", run_id=run.id))


@bp.post("/mahnlaeufe/<int:run_id>/verwerfen")
@staff_required()
def dunning_run_discard(run_id: int) -> Response:
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    if carry_out(lambda: runs.discard(db(), run, current_user.actor)).ok:
        flash(f"Mahnlauf Nr. {run.id} verworfen; es wurde nichts gebucht.", "success")
    return redirect(url_for("backoffice.dunning_run", run_id=run.id))


@bp.post("/mahnlaeufe/<int:run_id>/buchen")
@staff_required()
def dunning_run_book(run_id: int) -> Response:
    """Start the booking job of an approved run and go to its progress page. A run with no
    letter left to book (none at all, or all booked) is closed at once: no job to watch."""
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    session = db()
    if run.state is RunState.APPROVED and not booking.open_letters(session, run):
        if carry_out(lambda: booking.book(session, run, current_user.actor)).ok:
            flash(f"Mahnlauf Nr. {run.id} gebucht; es war kein Schreiben zu buchen.", "success")
        return redirect(url_for("backoffice.dunning_run", run_id=run.id))
    started = carry_out(
        lambda: control.start(
            session, g.municipality, overview.BOOKING_KIND, {"run": str(run.id)},
            actor=current_user.actor,
        )
    )  # fmt: skip
    if not started.ok:
        return redirect(url_for("backoffice.dunning_run", run_id=run.id))
    job = started.result()
    wake()
    flash(f"Buchung gestartet: {job.title} ({job.total} Mahnschreiben).", "success")
    return redirect(url_for("backoffice.job_page", job_id=job.id))


@bp.post("/mahnlaeufe/<int:run_id>/pdf")
@staff_required()
def dunning_run_pdfs(run_id: int) -> Response:
    """Start the job rendering the PDFs of the booked letters that have none yet (the booking
    starts it by itself; this is for when a letters job was running then)."""
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    session = db()
    if run.state is not RunState.BOOKED:
        flash("PDFs gibt es erst für einen gebuchten Mahnlauf.", "error")
        return redirect(url_for("backoffice.dunning_run", run_id=run.id))
    started = carry_out(
        lambda: control.start(
            session, g.municipality, RENDER.name, {"run": str(run.id)}, actor=current_user.actor
        )
    )
    if not started.ok:
        return redirect(url_for("backoffice.dunning_run", run_id=run.id))
    job = started.result()
    wake()
    flash(f"PDF-Erzeugung gestartet: {job.title} ({job.total} Mahnschreiben).", "success")
    return redirect(url_for("backoffice.job_page", job_id=job.id))
