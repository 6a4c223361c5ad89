"""Back office Job-Steuerung: the municipality's jobs (core.jobs) with their progress — done of
the total, the rate and the time left, the figures of `openkasse jobs` — their failed objects
with the German reason and their audit trail; cancel and resume. A job is started from the
run screen (backoffice.levies), with its preview.

The job page refreshes its figures from :func:`job_status` (static/js/job_progress.js) while
the job runs; without JavaScript it has a link to reload. Every query is limited to the
clerk's municipality: another municipality's job is "not found" (404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

import core.job_kinds  # noqa: F401  (registers the kinds the jobs name)
from backoffice.blueprint import bp
from backoffice.four_eyes import staff_names
from core.jobs import control
from core.jobs.kinds import KINDS
from core.jobs.models import STATE_TEXT, Job, JobFailure, JobState
from core.kernel import audit
from core.kernel.errors import NotFound
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.jobs import wake
from portal.requests import carry_out

ACTIONS = {
    "job.started": "gestartet",
    "job.cancelled": "abgebrochen",
    "job.resumed": "fortgesetzt",
    "job.finished": "fertig",
}
# per kind: the link from the job's page to what it works on ((url, German text) or None)
RESULT_LINKS: dict[str, Callable[[Job], tuple[str, str] | None]] = {}


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def rate_text(per_minute: int | None) -> str:
    """Objects per second, as the command line shows them (one decimal when slow)."""
    if not per_minute:
        return "–"
    if per_minute < 600:
        return f"{per_minute / 60:.1f}".replace(".", ",") + " pro Sekunde"
    return f"{_number(per_minute // 60)} pro Sekunde"


def left_text(state: JobState, seconds: int | None) -> str:
    if state is not JobState.RUNNING:
        return "–"
    if seconds is None:
        return "wird ermittelt"
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"noch etwa {hours}:{minutes:02d}:{seconds:02d} Std."
    return f"noch etwa {minutes}:{seconds:02d} Min."


def _can_resume(job: Job, failures: list[JobFailure]) -> bool:
    """Cancelled, or done with objects not yet tried again (control.resume refuses the rest)."""
    if job.state is JobState.CANCELLED:
        return True
    return job.state is JobState.DONE and any(not f.retried for f in failures)


def status(job: Job, failures: list[JobFailure]) -> dict[str, Any]:
    """The job's figures in numbers and German words: the page and its live refresh."""
    done = control.progress(db(), job)
    return {
        "id": job.id,
        "state": job.state.value,
        "state_text": STATE_TEXT[job.state],
        "running": job.state is JobState.RUNNING,
        "done": done.done,
        "total": done.total,
        "percent": done.percent,
        "failed": done.failed,
        "done_text": f"{_number(done.done)} von {_number(done.total)} ({done.percent} %)",
        "rate_text": rate_text(done.per_minute),
        "left_text": left_text(job.state, done.seconds_left),
        "summary": control.summary(job, done),
        "can_cancel": job.state is JobState.RUNNING,
        "can_resume": _can_resume(job, failures),
        "failures": [
            {"label": f.label, "message": f.message, "retried": f.retried} for f in failures
        ],
    }


def _job(job_id: int) -> Job:
    try:
        return control.get_job(db(), current_user.municipality_id, job_id)
    except NotFound:
        abort(404)


@bp.get("/laeufe")
@staff_required()
def job_list() -> str:
    session = db()
    jobs = control.jobs_of(session, current_user.municipality_id)
    return render_template(
        "backoffice/jobs/list.html",
        jobs=jobs,
        progress={job.id: control.progress(session, job) for job in jobs},
        states=STATE_TEXT,
        names=staff_names({job.started_by for job in jobs}),
    )


@bp.get("/laeufe/<int:job_id>")
@staff_required()
def job_page(job_id: int) -> str:
    session = db()
    job = _job(job_id)
    failures = control.failures_of(session, job)
    trail = audit.trail(session, current_user.municipality_id, "job", job.id)
    kind = KINDS.get(job.kind)
    return render_template(
        "backoffice/jobs/job.html",
        job=job,
        kind_title=kind.title if kind else job.kind,
        result_link=RESULT_LINKS[job.kind](job) if job.kind in RESULT_LINKS else None,
        figures=status(job, failures),
        failures=failures,
        trail=trail,
        actions=ACTIONS,
        names=staff_names({job.started_by} | {event.actor for event in trail}),
        form=ConfirmForm(),
    )


@bp.get("/laeufe/<int:job_id>/stand")
@staff_required()
def job_status(job_id: int) -> Response:
    """The job's figures as JSON for the page's live refresh (never cached)."""
    job = _job(job_id)
    response = jsonify(status(job, control.failures_of(db(), job)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/laeufe/<int:job_id>/abbrechen")
@staff_required()
def job_cancel(job_id: int) -> Response:
    """Stop taking chunks; the chunk in work finishes (all or nothing)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = _job(job_id)
    if carry_out(lambda: control.cancel(db(), job, actor=current_user.actor)).ok:
        flash("Der Lauf ist abgebrochen; ein Abschnitt in Arbeit wird noch fertig.", "success")
    return redirect(url_for("backoffice.job_page", job_id=job.id))


@bp.post("/laeufe/<int:job_id>/fortsetzen")
@staff_required()
def job_resume(job_id: int) -> Response:
    """Go on with a cancelled job, and try its failed objects again."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    job = _job(job_id)
    if carry_out(lambda: control.resume(db(), job, actor=current_user.actor)).ok:
        wake()
        flash(
            "Der Lauf wird fortgesetzt; fehlgeschlagene Objekte werden erneut versucht.", "success"
        )
    return redirect(url_for("backoffice.job_page", job_id=job.id))
