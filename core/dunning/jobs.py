"""A dunning run's two long steps as jobs (core.jobs).

Preparing (:class:`PrepareDunningRun`): the run is opened at once (core.dunning.runs.open_run,
under the municipality's lock: one open run at a time); the plan is the persons with open due
claims, a chunk plans and stores the letters of some of them (core.dunning.runs.add_persons,
the computation of the in-process preview). A person with a letter in the run already is
skipped, so a chunk done again stores nothing twice. Until the job is done without failures
the run is being prepared and cannot be approved (core.dunning.runs.preparing).

Booking (:class:`BookDunningRun`): the plan is the run's letters not yet booked, a chunk books
some of them (core.dunning.booking.book_letters). A letter booked once is skipped, so a chunk
done twice books nothing and the job resumes anywhere; the chunk that books the last letter
closes the run (and books the surcharges of claims paid late, core.dunning.late) and, in the
same transaction, starts the job that renders the letters' PDFs
(core.dunning.letter_jobs.RenderDunningLetters) — whichever worker does it, procrastinate's on
PostgreSQL (the workers' sweep gives the new job its tokens) or the in-process one. A run with
only late surcharges has one chunk of the key ``CLOSE_ONLY`` (no letter)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import letters, runs, selection
from core.dunning.booking import book_letters, open_letters
from core.dunning.letter_jobs import RenderDunningLetters
from core.dunning.models import DunningLetter, DunningRun, LateSurcharge, RunState
from core.dunning.runs import get_run
from core.jobs import control
from core.jobs.kinds import JobKind, Plan
from core.jobs.models import Job
from core.kernel import audit
from core.kernel.errors import IllegalTransition, ValidationError
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

log = logging.getLogger(__name__)

CLOSE_ONLY = 0  # no letter has id 0: the chunk only closes the run


def late_pending(session: Session, run: DunningRun) -> bool:
    found = session.scalar(
        select(LateSurcharge.id)
        .where(LateSurcharge.run_id == run.id, LateSurcharge.booked.is_(False))
        .limit(1)
    )
    return found is not None


class BookDunningRun(JobKind):
    name = "dunning"
    title = "Mahnlauf buchen (Mahngebühren und Säumniszuschläge)"
    chunk_size = 500

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        raw = str(given.get("run", "")).strip()
        if not raw.isdigit():
            raise ValidationError("Bitte die Nummer des freigegebenen Mahnlaufs angeben.")
        return {"run": int(raw)}

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"Mahnlauf Nr. {params['run']} buchen"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        run = get_run(session, municipality.id, params["run"])
        if run.state is not RunState.APPROVED:
            raise IllegalTransition(
                f"Mahnlauf Nr. {run.id} ist {run.state_label}; gebucht wird nur ein "
                "freigegebener Lauf."
            )
        letters = open_letters(session, run)
        if letters:
            return Plan(
                letters, [f"{len(letters)} Mahnschreiben werden gebucht (Gebühren, Zuschläge)."]
            )
        if late_pending(session, run):
            return Plan([CLOSE_ONLY], ["Säumniszuschläge verspätet bezahlter Forderungen."])
        raise ValidationError(f"Im Mahnlauf Nr. {run.id} ist kein Brief mehr zu buchen.")

    def run(
        self,
        session: Session,
        municipality: Municipality,
        params: Mapping[str, Any],
        keys: Sequence[int],
        *,
        actor: str,
        environment: Mapping[str, Any],
    ) -> dict[str, int]:
        run = get_run(session, municipality.id, params["run"])
        was_open = run.state is RunState.APPROVED
        counts = book_letters(session, run, keys, actor)
        if was_open and run.state is RunState.BOOKED:
            counts["pdf_jobs"] = start_letters(session, municipality, run, actor)
        return {k: v for k, v in counts.items() if v}

    def label(self, session: Session, key: int) -> str:
        number = session.scalar(
            select(Person.number)
            .join(DunningLetter, DunningLetter.person_id == Person.id)
            .where(DunningLetter.id == key)
        )
        if key == CLOSE_ONLY:
            return "Abschluss des Mahnlaufs"
        return f"Mahnschreiben an Person {number}" if number else f"Mahnschreiben (id {key})"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return (
            f"Mahnlauf Nr. {params['run']}: {counts.get('letters', 0)} Mahnschreiben gebucht, "
            f"{counts.get('fees', 0)} Mahngebühren, {counts.get('surcharges', 0)} "
            "Säumniszuschläge."
            + (f" {counts['dropped']} Posten entfallen." if counts.get("dropped") else "")
        )


def _run_param(given: Mapping[str, str]) -> dict[str, Any]:
    raw = str(given.get("run", "")).strip()
    if not raw.isdigit():
        raise ValidationError("Bitte die Nummer des Mahnlaufs angeben.")
    return {"run": int(raw)}


def _person_label(session: Session, key: int) -> str:
    number = session.scalar(select(Person.number).where(Person.id == key))
    return f"Person {number}" if number else f"Person (id {key})"


class PrepareDunningRun(JobKind):
    name = runs.PREVIEW_KIND
    title = "Mahnlauf vorbereiten (Vorschau der Mahnschreiben)"
    chunk_size = 500  # persons

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        return _run_param(given)

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"Vorschau des Mahnlaufs Nr. {params['run']} erstellen"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        run = get_run(session, municipality.id, params["run"])
        if run.state is not RunState.PREVIEW:
            raise IllegalTransition(
                f"Mahnlauf Nr. {run.id} ist {run.state_label}; vorbereitet wird nur eine Vorschau."
            )
        persons = selection.persons_due(session, municipality.id, run.run_date)
        return Plan(persons, [f"{len(persons)} Personen mit fälligen Forderungen werden geprüft."])

    def run(
        self,
        session: Session,
        municipality: Municipality,
        params: Mapping[str, Any],
        keys: Sequence[int],
        *,
        actor: str,
        environment: Mapping[str, Any],
    ) -> dict[str, int]:
        run = get_run(session, municipality.id, params["run"])
        if run.state is not RunState.PREVIEW:  # discarded meanwhile: nothing more to prepare
            return {}
        counts = runs.add_persons(session, municipality, run, keys)
        return {k: v for k, v in {"persons": len(keys), **counts}.items() if v}

    def label(self, session: Session, key: int) -> str:
        return _person_label(session, key)

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return (
            f"Vorschau des Mahnlaufs Nr. {params['run']}: {counts.get('persons', 0)} Personen "
            f"geprüft, {counts.get('letters', 0)} Mahnschreiben mit {counts.get('items', 0)} "
            "Forderungen."
        )


PREPARE = PrepareDunningRun()


def start_preview(
    session: Session, municipality: Municipality, run_date: date, actor: str
) -> tuple[DunningRun, Job | None]:
    """Open a run for ``run_date`` and start the job that prepares its letters (None when no
    person has an open due claim: the run is ready at once)."""
    run, owed = runs.open_run(session, municipality, run_date, actor)
    params = {"run": run.id}
    made = PREPARE.plan(session, municipality, params)
    job = (
        control.start_planned(session, municipality, PREPARE, params, made, actor=actor)
        if made.keys
        else None
    )
    audit.record(
        session,
        actor=actor,
        action="dunning_run.previewed",
        obj=run,
        municipality_id=municipality.id,
        after={
            "run_date": run_date.isoformat(),
            "persons": len(made.keys),
            "job_id": job.id if job else None,
            "late_surcharges_cents": sum(o.surcharge_cents for o in owed),
        },
    )
    return run, job


RENDER = RenderDunningLetters()


def start_letters(session: Session, municipality: Municipality, run: DunningRun, actor: str) -> int:
    """Start the job rendering the PDFs of the run's booked letters; 1 when started, 0 when
    there is none to render or such a job runs already (the run page offers it again)."""
    found = letters.pending(session, municipality.id, run.id)
    if not found:
        return 0
    params = {"run": run.id}
    made = Plan(found, [f"{len(found)} Mahnschreiben werden als PDF erzeugt und archiviert."])
    try:
        with session.begin_nested():
            control.start_planned(session, municipality, RENDER, params, made, actor=actor)
    except IllegalTransition:
        log.info("dunning run %s: a letters job runs already; PDFs started later", run.id)
        return 0
    return 1
