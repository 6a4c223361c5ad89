"""A job worker: takes one pending chunk at a time and does it, in one transaction.

The claim is the transaction's first step: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` (workers on
any number of machines skip each other's chunks), on SQLite the transaction holds the write lock
from its start (core.kernel.db). The chunk's bookings and its "done" commit together, so a worker
killed mid-chunk leaves the chunk pending, with nothing of it booked, for the next worker.

A chunk that fails as a whole is done again object by object (each in a savepoint), so that one
bad object is named with its German reason and does not hold up the others. A busy or lost
database is not an object's fault: the chunk is rolled back and taken again later.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.jobs.kinds import KINDS, JobKind, kind_named
from core.jobs.models import ChunkState, Job, JobChunk, JobFailure, JobState
from core.kernel import audit, clock
from core.kernel.db import begin_reading, is_busy_error
from core.kernel.errors import DomainError
from core.tenancy.municipalities import Municipality, reserved_apart

log = logging.getLogger(__name__)
BUSY_RETRIES = 50  # a chunk that lost the race for the database this often in a row: give up
REFRESH_AFTER = frozenset(2 * 4**n for n in range(12))  # chunk seqs 2, 8, 32, 128, …

UNEXPECTED = (
    "Unerwarteter technischer Fehler bei diesem Objekt; die Einzelheiten stehen im "
    "Protokoll des Servers. Bitte wenden Sie sich an den technischen Betrieb."
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass(frozen=True)
class ChunkDone:
    job_id: int
    size: int
    failed: int


def _claim(session: Session, job_id: int | None) -> JobChunk | None:
    running = select(Job.id).where(Job.state == JobState.RUNNING)
    if job_id is not None:
        running = running.where(Job.id == job_id)
    pick = (
        select(JobChunk)
        .where(JobChunk.state == ChunkState.PENDING, JobChunk.job_id.in_(running))
        .order_by(JobChunk.job_id, JobChunk.seq)
        .limit(1)
        .with_for_update(skip_locked=True, of=JobChunk)
    )
    return session.scalars(pick).first()


def _next_kind_reads_first(factory: sessionmaker[Session], job_id: int | None) -> bool:
    """SQLite: whether the next chunk's kind does a long read before it writes (rendering),
    so that its transaction should not take SQLite's write lock up front: the web requests
    go on writing meanwhile, and if one wrote in between, the chunk's final write fails as
    busy and the chunk is done again (:func:`drain`). PostgreSQL: never needed."""
    with factory() as session:
        if session.get_bind().dialect.name != "sqlite":
            return False
        begin_reading(session)
        query = (
            select(Job.kind)
            .join(JobChunk, JobChunk.job_id == Job.id)
            .where(Job.state == JobState.RUNNING, JobChunk.state == ChunkState.PENDING)
            .order_by(JobChunk.job_id, JobChunk.seq)
            .limit(1)
        )
        if job_id is not None:
            query = query.where(Job.id == job_id)
        kind = session.scalar(query)
        return kind is not None and kind in KINDS and KINDS[kind].reads_first


def run_next_chunk(
    factory: sessionmaker[Session],
    *,
    environment: Mapping[str, Any],
    worker: str | None = None,
    job_id: int | None = None,
) -> ChunkDone | None:
    """Claim and do one pending chunk (of ``job_id``, or of any running job); None when there
    is none to take."""
    reads_first = _next_kind_reads_first(factory, job_id)
    with factory() as session:
        if reads_first:
            begin_reading(session)
        chunk = _claim(session, job_id)
        if chunk is None:
            session.rollback()
            return None
        job = session.get_one(Job, chunk.job_id)
        chunk.started_at, chunk.worker = clock.now(), worker or worker_name()
        kind = kind_named(job.kind)
        municipality = session.get_one(Municipality, job.municipality_id)

        def do(keys: Sequence[int]) -> dict[str, int]:
            # a fresh transaction: number blocks apart, so parallel chunks do not queue
            with reserved_apart(session.get_bind()):
                return kind.run(
                    session,
                    municipality,
                    job.params,
                    keys,
                    actor=job.started_by,
                    environment=environment,
                )

        counts, failures = _do_chunk(session, kind, chunk, do)
        for key, message in failures:
            session.add(
                JobFailure(
                    job_id=job.id,
                    chunk_id=chunk.id,
                    key=key,
                    label=kind.label(session, key)[:120],
                    message=message,
                )
            )
        chunk.state, chunk.result, chunk.failed = ChunkState.DONE, counts, len(failures)
        chunk.finished_at = clock.now()
        session.flush()
        _finish_if_complete(session, [job.id])
        session.commit()
        if chunk.seq in REFRESH_AFTER:
            refresh_statistics(session, kind.grows)
        return ChunkDone(job.id, chunk.size, len(failures))


def refresh_statistics(session: Session, tables: Sequence[str]) -> None:
    """``ANALYZE`` the tables (PostgreSQL; SQLite's planner goes by its indexes). A town's
    first run fills empty tables, and until autovacuum comes round (a minute or more) the
    planner has no statistics: it then takes a list of 500 ids for most of a table and
    scans all of it, for every chunk — a run that grows with the square of its size. The
    refresh after chunks 2, 8, 32, … (:data:`REFRESH_AFTER`) costs a run of n chunks
    log₄ n ANALYZEs, each a sample of at most 30,000 rows per table."""
    if not tables or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(f"ANALYZE {', '.join(tables)}"))  # names from the kinds, not input
    session.commit()


def _do_chunk(
    session: Session,
    kind: JobKind,
    chunk: JobChunk,
    do: Callable[[Sequence[int]], dict[str, int]],
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    try:
        with session.begin_nested():
            return do(chunk.keys), []
    except OperationalError:
        raise  # busy or gone: the whole chunk again, later
    except Exception:
        log.info(
            "job chunk %s failed as a whole; doing it object by object", chunk.id, exc_info=True
        )
    counts: dict[str, int] = {}
    failures: list[tuple[int, str]] = []
    for key in chunk.keys:
        try:
            with session.begin_nested():
                one = do([key])
        except OperationalError:
            raise
        except DomainError as error:
            failures.append((key, error.message))
            continue
        except Exception:  # a bug: logged with its traceback (ids only), named to the clerk
            log.exception("job chunk %s: object %s failed (kind %s)", chunk.id, key, kind.name)
            failures.append((key, UNEXPECTED))
            continue
        for name, value in one.items():
            counts[name] = counts.get(name, 0) + value
    return counts, failures


def _finish_if_complete(session: Session, job_ids: Sequence[int] | None = None) -> list[int]:
    """Mark running jobs without a pending chunk done (audited); the ids marked. A chunk being
    done elsewhere is still pending for everyone else, so a job is never finished early; two
    last chunks committed at the same time may each miss the other, hence also the sweep in
    :func:`drain`."""
    pending = exists().where(JobChunk.job_id == Job.id, JobChunk.state == ChunkState.PENDING)
    query = select(Job).where(Job.state == JobState.RUNNING, ~pending)
    if job_ids is not None:
        query = query.where(Job.id.in_(job_ids))
    finished = list(session.scalars(query.with_for_update(skip_locked=True)))
    for job in finished:
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.state == JobState.RUNNING)
            .values(state=JobState.DONE, finished_at=clock.now())
        )
        audit.record(
            session,
            actor="system",
            action="job.finished",
            obj=job,
            municipality_id=job.municipality_id,
        )
    return [job.id for job in finished]


def finish_complete_jobs(factory: sessionmaker[Session]) -> list[int]:
    with factory() as session:
        finished = _finish_if_complete(session)
        session.commit()
        return finished


def drain(
    factory: sessionmaker[Session],
    *,
    environment: Mapping[str, Any],
    job_id: int | None = None,
    stop: threading.Event | None = None,
    chunk_done: Callable[[ChunkDone], None] = lambda _done: None,
) -> int:
    """Do chunks until none is left (or ``stop`` is set); the number of chunks done."""
    worker, done, busy = worker_name(), 0, 0
    while stop is None or not stop.is_set():
        try:
            finished = run_next_chunk(
                factory, environment=environment, worker=worker, job_id=job_id
            )
        except OperationalError as error:
            busy += 1
            if not is_busy_error(error) or busy > BUSY_RETRIES:
                raise
            time.sleep(min(5000, 200 * busy) / 1000)  # the chunk stays pending: take it again
            continue
        busy = 0
        if finished is None:
            break
        done += 1
        chunk_done(finished)
    finish_complete_jobs(factory)
    return done
