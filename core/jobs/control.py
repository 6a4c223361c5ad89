"""Starting, watching, cancelling and resuming jobs; every step is in the audit trail with who
took it. Workers (core.jobs.worker) do the chunks; this module only plans and steers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.jobs.kinds import JobKind, Plan, kind_named
from core.jobs.models import ChunkState, Job, JobChunk, JobFailure, JobState
from core.kernel import audit
from core.kernel.db import get_scoped
from core.kernel.errors import IllegalTransition
from core.tenancy.municipalities import Municipality, serialize


def preview(
    session: Session, municipality: Municipality, kind_name: str, given: Mapping[str, str]
) -> tuple[JobKind, dict[str, Any], Plan]:
    """What a job would do, without starting it (the clerk's preview)."""
    kind = kind_named(kind_name)
    params = kind.params(given)
    return kind, params, kind.plan(session, municipality, params)


def start(
    session: Session,
    municipality: Municipality,
    kind_name: str,
    given: Mapping[str, str],
    *,
    actor: str,
) -> Job:
    """Plan a job and put its chunks up for the workers (:func:`start_planned`)."""
    return start_planned(
        session, municipality, *preview(session, municipality, kind_name, given), actor=actor
    )


def start_planned(
    session: Session,
    municipality: Municipality,
    kind: JobKind,
    params: dict[str, Any],
    plan: Plan,
    *,
    actor: str,
) -> Job:
    """Start a job of a plan just made (:func:`preview`). One job of a kind runs at a time per
    municipality: two runs over the same objects would race for the same accounts."""
    serialize(session, municipality.id, f"job:{kind.name}")
    _refuse_second(session, municipality.id, kind.name)
    job = Job(
        municipality_id=municipality.id,
        kind=kind.name,
        params=params,
        title=kind.describe(params),
        state=JobState.RUNNING,
        total=len(plan.keys),
        planned=plan.counts,
        started_by=actor,
    )
    session.add(job)
    session.flush()
    _add_chunks(session, job, plan.keys, kind.chunk_size, first_seq=0)
    audit.record(
        session,
        actor=actor,
        action="job.started",
        obj=job,
        municipality_id=municipality.id,
        after={"kind": job.kind, "params": params, "total": job.total},
    )
    return job


def _refuse_second(session: Session, municipality_id: int, kind_name: str) -> None:
    running = session.scalar(
        select(Job.id).where(
            Job.municipality_id == municipality_id,
            Job.kind == kind_name,
            Job.state == JobState.RUNNING,
        )
    )
    if running is not None:
        raise IllegalTransition(
            f"Ein Lauf dieser Art läuft bereits (Job {running}). Bitte warten Sie, bis er "
            "fertig ist, oder brechen Sie ihn ab."
        )


def _add_chunks(session: Session, job: Job, keys: list[int], size: int, first_seq: int) -> None:
    rows = [
        {
            "job_id": job.id,
            "seq": first_seq + n,
            "keys": keys[start : start + size],
            "size": len(keys[start : start + size]),
            "state": ChunkState.PENDING,
            "failed": 0,
        }
        for n, start in enumerate(range(0, len(keys), size))
    ]
    if rows:
        session.execute(insert(JobChunk), rows)


def get_job(session: Session, municipality_id: int, job_id: int) -> Job:
    """A job of the municipality (NotFound for another's)."""
    return get_scoped(
        session, Job, municipality_id, job_id, not_found="Dieser Lauf wurde nicht gefunden."
    )


def jobs_of(session: Session, municipality_id: int, limit: int = 50) -> list[Job]:
    return list(
        session.scalars(
            select(Job)
            .where(Job.municipality_id == municipality_id)
            .order_by(Job.id.desc())
            .limit(limit)
        )
    )


def cancel(session: Session, job: Job, *, actor: str) -> None:
    """Stop taking chunks; a chunk being done finishes (its transaction is all or nothing)."""
    if job.state is not JobState.RUNNING:
        raise IllegalTransition("Nur ein laufender Lauf kann abgebrochen werden.")
    job.state = JobState.CANCELLED
    audit.record(
        session, actor=actor, action="job.cancelled", obj=job, municipality_id=job.municipality_id
    )


def resume(session: Session, job: Job, *, actor: str) -> int:
    """Go on with a cancelled job, and try its failed objects again (a chunk of their own);
    the number of objects taken up again."""
    if job.state is JobState.RUNNING:
        raise IllegalTransition("Dieser Lauf läuft bereits.")
    serialize(session, job.municipality_id, f"job:{job.kind}")
    _refuse_second(session, job.municipality_id, job.kind)
    failed = list(
        session.scalars(
            select(JobFailure).where(JobFailure.job_id == job.id, JobFailure.retried.is_(False))
        )
    )
    pending = session.scalar(
        select(func.sum(JobChunk.size)).where(
            JobChunk.job_id == job.id, JobChunk.state == ChunkState.PENDING
        )
    )
    if not failed and not pending:
        raise IllegalTransition("Dieser Lauf ist vollständig und ohne Fehler abgeschlossen.")
    last = session.scalar(select(func.max(JobChunk.seq)).where(JobChunk.job_id == job.id)) or 0
    for failure in failed:
        failure.retried = True
    keys = [f.key for f in failed]
    _add_chunks(session, job, keys, kind_named(job.kind).chunk_size, first_seq=last + 1)
    job.state, job.finished_at = JobState.RUNNING, None
    audit.record(
        session,
        actor=actor,
        action="job.resumed",
        obj=job,
        municipality_id=job.municipality_id,
        after={"retried": len(keys)},
    )
    return len(keys) + int(pending or 0)


@dataclass(frozen=True)
class Progress:
    """How far a job is: objects done of the total, the rate and the time left."""

    state: JobState
    total: int
    done: int
    failed: int
    counts: dict[str, int]
    started_at: datetime | None
    last_done_at: datetime | None

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)

    @property
    def per_minute(self) -> int | None:
        """Objects per minute while it ran (integers: core counts, it does not measure in
        floats); None before the first chunk."""
        if self.started_at is None or self.last_done_at is None:
            return None
        elapsed_ms = (self.last_done_at - self.started_at) // timedelta(milliseconds=1)
        return self.done * 60_000 // elapsed_ms if elapsed_ms > 0 else None

    @property
    def seconds_left(self) -> int | None:
        if self.state is not JobState.RUNNING or not self.per_minute:
            return None
        return max(0, self.total - self.done) * 60 // self.per_minute


def progress(session: Session, job: Job) -> Progress:
    """Summed from the chunks done (one query; workers never write the job row per chunk)."""
    chunks = session.execute(
        select(
            func.coalesce(func.sum(JobChunk.size), 0),
            func.coalesce(func.sum(JobChunk.failed), 0),
            func.min(JobChunk.started_at),
            func.max(JobChunk.finished_at),
        ).where(JobChunk.job_id == job.id, JobChunk.state == ChunkState.DONE)
    ).one()
    retried = session.scalar(
        select(func.count()).where(JobFailure.job_id == job.id, JobFailure.retried.is_(True))
    )
    counts = dict(job.planned)
    for (result,) in session.execute(
        select(JobChunk.result).where(JobChunk.job_id == job.id, JobChunk.state == ChunkState.DONE)
    ):
        for name, value in (result or {}).items():
            counts[name] = counts.get(name, 0) + value
    retried = int(retried or 0)
    return Progress(
        state=job.state,
        total=job.total,
        # a failed object taken up again counts once: as failed, then as done or failed again
        done=int(chunks[0]) - retried,
        failed=int(chunks[1]) - retried,
        counts=counts,
        started_at=chunks[2],
        last_done_at=chunks[3],
    )


def failures_of(session: Session, job: Job, limit: int = 200) -> list[JobFailure]:
    return list(
        session.scalars(
            select(JobFailure)
            .where(JobFailure.job_id == job.id)
            .order_by(JobFailure.id)
            .limit(limit)
        )
    )


def summary(job: Job, done: Progress) -> str:
    """The job's result in German words (the kind's)."""
    return kind_named(job.kind).summary(job.params, done.counts)
