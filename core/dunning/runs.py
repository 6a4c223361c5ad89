"""Dunning runs (Mahnläufe): preview → approval by a second person → booking.

:func:`preview` decides and stores what the run would send (letters and items, nothing booked);
:func:`approve` is the four-eyes step; booking (core.dunning.booking) books the fees and
surcharges and makes the letters count. The preview also finds the surcharges of claims paid
late since the last run (core.dunning.late), booked with the run. One open run (preview or
approved) at a time per municipality, under the municipality's ``dunning`` lock; a run date is
never earlier than the last run's. The back office prepares a preview as a job in chunks of
persons (core.dunning.jobs.PrepareDunningRun): until it is done the run is being prepared
(:func:`preparing`) and approval is refused; the command line does the same computation at
once (:func:`preview`). A claim steps up one level per run at most
(core.dunning.procedure.next_step).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from core.dunning import blocks, compose, late, selection
from core.dunning.compose import Context, PlannedLetter
from core.dunning.letter_records import DunningLetterDocument
from core.dunning.models import DunningItem, DunningLetter, DunningRun, RunState
from core.dunning.procedure import procedure_on
from core.dunning.surcharges import bears_surcharge
from core.jobs import four_eyes
from core.jobs.models import Job, JobFailure, JobState
from core.kernel import audit
from core.kernel.errors import IllegalTransition, ValidationError
from core.ledger.bulk import executemany
from core.tenancy.municipalities import Municipality, reserve_ids, serialize

LOCK = "dunning"
NAMES = four_eyes.RunNames(noun="Mahnlauf", audit="dunning_run")
PREVIEW_PERSONS = 2000  # persons planned and stored at a time by preview
OPEN_STATES = (RunState.PREVIEW, RunState.APPROVED)


def preview(
    session: Session,
    municipality: Municipality,
    run_date: date,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> DunningRun:
    """Make a run in state preview with its letters and items (nothing is booked), here and at
    once (the command line, the benchmark), in chunks of ``PREVIEW_PERSONS`` persons so that
    only one chunk's rows are in memory; the back office makes it as a job in chunks of
    persons (core.dunning.jobs.PrepareDunningRun), with the same :func:`open_run` and
    :func:`add_persons`. ``progress(persons done, persons)`` is called after each chunk."""
    run, owed = open_run(session, municipality, run_date, actor)
    counts = {"letters": 0, "items": 0, "fees_cents": 0, "surcharges_cents": 0}
    persons = selection.persons_due(session, municipality.id, run_date)
    done = 0
    for part in selection.chunks(persons, PREVIEW_PERSONS):  # memory stays flat
        for key, value in add_persons(session, municipality, run, part).items():
            counts[key] += value
        done += len(part)
        if progress is not None:
            progress(done, len(persons))
    audit.record(
        session,
        actor=actor,
        action="dunning_run.previewed",
        obj=run,
        municipality_id=municipality.id,
        after={
            "run_date": run_date.isoformat(),
            **counts,
            "late_surcharges_cents": sum(o.surcharge_cents for o in owed),
        },
    )
    return run


def open_run(
    session: Session, municipality: Municipality, run_date: date, actor: str
) -> tuple[DunningRun, list[late.Owed]]:
    """A new run in state preview, still without letters, with the surcharges of claims paid
    late since the last run; refused while another run is open or before the last run date."""
    serialize(session, municipality.id, LOCK)
    _refuse_open_run(session, municipality.id)
    last = selection.last_run_date(session, municipality.id)
    if last is not None and run_date < last:
        raise ValidationError(
            f"Der Mahnlauf zum {run_date:%d.%m.%Y} darf nicht vor dem letzten Mahnlauf "
            f"({last:%d.%m.%Y}) liegen."
        )
    rules = procedure_on(session, municipality.id, run_date)
    run = DunningRun(
        municipality_id=municipality.id,
        run_date=run_date,
        state=RunState.PREVIEW,
        procedure_source=rules.source[:300],
        created_by=actor,
    )
    session.add(run)
    session.flush()
    owed = late.find(session, municipality, run_date)
    late.store(session, run, owed)
    return run, owed


def add_persons(
    session: Session, municipality: Municipality, run: DunningRun, person_ids: Sequence[int] | None
) -> dict[str, int]:
    """Plan and store the letters of ``person_ids`` (None: of everyone) in the run. Persons
    who have a letter in the run already are skipped, so a chunk done again stores nothing
    twice."""
    if person_ids is not None:
        done = _with_letters(session, run, person_ids)
        person_ids = [p for p in person_ids if p not in done]
        if not person_ids:
            return {"letters": 0, "items": 0, "fees_cents": 0, "surcharges_cents": 0}
    planned = plan(session, municipality, run.run_date, person_ids)
    _store(session, run, planned)
    return {
        "letters": len(planned),
        "items": sum(len(p.items) for p in planned),
        "fees_cents": sum(p.fee_cents for p in planned),
        "surcharges_cents": sum(p.surcharge_cents for p in planned),
    }


def _with_letters(session: Session, run: DunningRun, person_ids: Sequence[int]) -> set[int]:
    """Those of ``person_ids`` (and perhaps others between them) with a letter in the run,
    asked for by the range of the ids, not by the list: on a table still growing in the run
    (the first run), PostgreSQL may keep a plan that reads every letter of the run, and a list
    of a thousand ids then costs a thousand comparisons per letter (0.5–0.8 s per chunk at
    250,000 letters, BENCHMARKS.md 2026-12-07), a range two."""
    if not person_ids:
        return set()
    return set(
        session.scalars(
            select(DunningLetter.person_id)
            .where(
                DunningLetter.run_id == run.id,
                DunningLetter.person_id.between(min(person_ids), max(person_ids)),
            )
            .distinct()
        )
    )


def plan(
    session: Session,
    municipality: Municipality,
    run_date: date,
    person_ids: Collection[int] | None = None,
) -> list[PlannedLetter]:
    """What a run on ``run_date`` would send (to ``person_ids``, when given), read from the
    database, nothing written."""
    rules = procedure_on(session, municipality.id, run_date)
    land = municipality.state
    found = selection.candidates(session, municipality.id, run_date, person_ids, plain=True)
    steps = compose.stepping(rules, found, run_date, land)
    ids = [c.claim.id for c, _ in steps]
    bearing = [c.claim for c, _ in steps if bears_surcharge(c.claim.kind)]
    main = [claim.id for claim in bearing]
    context = Context(
        history=selection.payment_history(session, main) if rules.surcharges else {},
        booked_surcharges=selection.booked_surcharges(session, main),
        fee_charged=frozenset(selection.fee_charged(session, ids)),
        free=blocks.surcharge_free_periods(session, bearing, rules),
    )
    return compose.letters(rules, steps, run_date, land, context)


PREVIEW_KIND = "dunning_preview"  # core.dunning.jobs.PrepareDunningRun.name


def preparing(session: Session, run: DunningRun) -> bool:
    """Whether the run's preview job is not finished (running, cancelled, or with persons
    that failed and were not tried again): its letters are not all there yet."""
    jobs = session.scalars(
        select(Job)
        .where(
            Job.municipality_id == run.municipality_id,
            Job.kind == PREVIEW_KIND,
            Job.created_at >= run.created_at,
        )
        .order_by(Job.id.desc())
    )
    mine = next((job for job in jobs if job.params.get("run") == run.id), None)
    if mine is None:
        return False
    if mine.state is not JobState.DONE:
        return True
    failed = session.scalar(
        select(JobFailure.id)
        .where(JobFailure.job_id == mine.id, JobFailure.retried.is_(False))
        .limit(1)
    )
    return failed is not None


def _refuse_open_run(session: Session, municipality_id: int) -> None:
    found = session.scalar(
        select(DunningRun.id)
        .where(DunningRun.municipality_id == municipality_id, DunningRun.state.in_(OPEN_STATES))
        .limit(1)
    )
    if found is not None:
        raise IllegalTransition(
            f"Mahnlauf Nr. {found} ist noch offen. Bitte erst ihn buchen oder verwerfen."
        )


def _store(session: Session, run: DunningRun, planned: list[PlannedLetter]) -> None:
    """The letters and items in two executemany INSERTs (ids reserved up front): a weekly run
    over a large town has hundreds of thousands of items."""
    if not planned:
        return
    session.flush()
    letter_ids = reserve_ids(session, DunningLetter, len(planned))
    letters = [
        {
            "id": letter_id,
            "municipality_id": run.municipality_id,
            "run_id": run.id,
            "person_id": p.person_id,
            "level": p.level.number,
            "level_name": p.level.name[:80],
            "open_cents": p.open_cents,
            "fee_cents": p.fee_cents,
            "surcharge_cents": p.surcharge_cents,
            "total_cents": p.total_cents,
            "delivered_on": p.step.delivered_on,
            "payment_deadline": p.step.deadline,
            "fee_claim_id": None,
            "booked_at": None,
        }
        for p, letter_id in zip(planned, letter_ids, strict=True)
    ]
    executemany(session.connection(), cast(Table, DunningLetter.__table__), letters)
    items = [
        {
            "letter_id": letter_id,
            "claim_id": i.candidate.claim.id,
            "level": p.level.number,
            "open_cents": i.candidate.open_cents,
            "fee_cents": i.fee_cents,
            "surcharge_cents": i.surcharge_cents,
            "surcharge_claim_id": None,
            "booked": False,
        }
        for p, letter_id in zip(planned, letter_ids, strict=True)
        for i in p.items
    ]
    for row, item_id in zip(items, reserve_ids(session, DunningItem, len(items)), strict=True):
        row["id"] = item_id
    executemany(session.connection(), cast(Table, DunningItem.__table__), items)


def approve(session: Session, run: DunningRun, actor: str) -> None:
    """The second person's approval (Vier-Augen-Prinzip)."""
    not_ready = (
        f"Die Vorschau des Mahnlaufs Nr. {run.id} wird noch erstellt. Freigeben lässt sie "
        "sich erst, wenn alle Schreiben da sind."
        if run.state is RunState.PREVIEW and preparing(session, run)
        else None
    )
    four_eyes.approve(session, run, actor, NAMES, not_ready=not_ready)
    run.state = RunState.APPROVED
    session.flush()


def discard(session: Session, run: DunningRun, actor: str) -> None:
    """Throw a preview away (e.g. to make it again after corrections)."""
    four_eyes.refuse_unless_preview(run, NAMES)
    run.state = RunState.DISCARDED
    four_eyes.record_discarded(session, run, actor, NAMES)


def get_run(session: Session, municipality_id: int, run_id: int) -> DunningRun:
    return four_eyes.get_run(session, DunningRun, NAMES, municipality_id, run_id)


def letters_of(session: Session, run: DunningRun) -> list[DunningLetter]:
    return list(
        session.scalars(
            select(DunningLetter)
            .where(DunningLetter.run_id == run.id)
            .order_by(DunningLetter.person_id, DunningLetter.level, DunningLetter.id)
        )
    )


def items_of(session: Session, letter_ids: list[int]) -> dict[int, list[DunningItem]]:
    """The items per letter."""
    found: dict[int, list[DunningItem]] = {i: [] for i in letter_ids}
    for part in selection.chunks(letter_ids):
        for item in session.scalars(
            select(DunningItem).where(DunningItem.letter_id.in_(part)).order_by(DunningItem.id)
        ):
            found[item.letter_id].append(item)
    return found


def jobs_of_run(
    session: Session, run: DunningRun, kinds: Collection[str], look_back: int = 200
) -> list[Job]:
    """The jobs of ``kinds`` that name this run (preparing, booking, its PDFs), newest first;
    one of each per weekly run, so the municipality's latest few are enough to look through."""
    jobs = session.scalars(
        select(Job)
        .where(Job.municipality_id == run.municipality_id, Job.kind.in_(list(kinds)))
        .order_by(Job.id.desc())
        .limit(look_back)
    )
    return [job for job in jobs if job.params.get("run") == run.id]


def pdf_figures(session: Session, run: DunningRun) -> tuple[int, int]:
    """(booked letters, of them with their PDF archived) of the run."""
    booked, with_pdf = session.execute(
        select(func.count(DunningLetter.id), func.count(DunningLetterDocument.letter_id))
        .outerjoin(DunningLetterDocument, DunningLetterDocument.letter_id == DunningLetter.id)
        .where(DunningLetter.run_id == run.id, DunningLetter.booked_at.is_not(None))
    ).one()
    return int(booked), int(with_pdf)
