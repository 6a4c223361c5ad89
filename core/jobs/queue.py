"""The job engine on PostgreSQL: chunks handed out by procrastinate, a PostgreSQL task queue.

The chunk table stays the source of truth (core.jobs.worker claims a chunk inside the
transaction that does it). Procrastinate only wakes workers on any number of machines: one
task ``openkasse.run_chunk`` (args: ``job_id``) per pending chunk, each doing *some* pending
chunk of that job, so tokens and chunks need not match one to one. A token deferred twice, or
one left over after the job is done or cancelled, finds nothing to claim and does nothing.

A worker killed with SIGKILL mid-chunk: the chunk's transaction dies with its connection (the
chunk is pending again, nothing of it booked) and its token stays "doing". Procrastinate's
stalled-job mechanism brings it back: workers write a heartbeat every
:data:`HEARTBEAT_SECONDS`; the periodic task ``openkasse.sweep`` (every minute, run by one of
the live workers) asks ``JobManager.get_stalled_jobs`` for the "doing" jobs of workers without a
heartbeat for :data:`STALLED_AFTER_SECONDS` and puts them back with ``JobManager.retry_job``.
The sweep also finishes jobs whose last two chunks were committed at the same moment and
defers tokens for running jobs that have none (a web process that died between its commit and
its defer), so no job waits for a clerk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.jobs import worker
from core.jobs.models import ChunkState, Job, JobChunk, JobState

log = logging.getLogger(__name__)

RUN_CHUNK = "openkasse.run_chunk"
SWEEP = "openkasse.sweep"
HEARTBEAT_SECONDS = 10  # procrastinate's default update_heartbeat_interval
STALLED_AFTER_SECONDS = 30  # its default stalled_worker_timeout: three missed heartbeats
KEEP_FINISHED_HOURS = 24 * 14  # procrastinate's own rows of finished tokens, for inspection


@dataclass(frozen=True)
class _Host:
    factory: sessionmaker[Session]
    environment: Mapping[str, Any]


_HOST: list[_Host] = []  # set by run_worker in the worker process


def _host() -> _Host:
    if not _HOST:
        raise RuntimeError("core.jobs.queue.run_worker was not called in this process")
    return _HOST[0]


def run_chunk(job_id: int) -> None:
    """Do one pending chunk of the job (there may be none left: then nothing)."""
    host = _host()
    # the chunk's transaction finishes its job when it was the last; the sweep catches two
    # last chunks committed at the same moment
    worker.run_next_chunk(host.factory, job_id=job_id, environment=host.environment)


async def sweep(context: JobContext, timestamp: int) -> None:
    """Every minute: retry the stalled tokens (procrastinate's heartbeats), finish complete
    jobs, give tokens to running jobs without any, forget old finished tokens."""
    manager = context.app.job_manager
    for stalled in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        log.warning("job token %s of a dead worker is taken up again", stalled.id)
        await manager.retry_job(stalled)
    host = _host()
    await asyncio.to_thread(worker.finish_complete_jobs, host.factory)
    covered: set[Any] = set()
    for status in ("todo", "doing"):
        for token in await manager.list_jobs_async(task=RUN_CHUNK, status=status):
            covered.add(token.task_kwargs.get("job_id"))
    pending = await asyncio.to_thread(pending_chunks, host.factory, None)
    lost = [(job_id, chunk_id) for job_id, chunk_id in pending if job_id not in covered]
    for job_id, chunk_id in lost:
        with contextlib.suppress(AlreadyEnqueued):
            await _configured(context.app, chunk_id).defer_async(job_id=job_id)
    await manager.delete_old_jobs(nb_hours=KEEP_FINISHED_HOURS)


def _configured(queue: App, chunk_id: int) -> Any:
    # at most one waiting token per chunk: deferring again (a second wake-up) changes nothing
    return queue.configure_task(RUN_CHUNK, queueing_lock=f"openkasse.chunk:{chunk_id}")


def conninfo(database_url: str) -> str:
    """libpq's form of a SQLAlchemy URL (``postgresql+psycopg://…`` → ``postgresql://…``)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("procrastinate needs PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def connected(database_url: str, **pool: Any) -> App:
    """The procrastinate app with its tasks and a connection pool to ``database_url`` (opened
    by ``with …open():`` to defer, or by :func:`run_worker`). A new app each time: the tasks
    are plain functions, and no process shares a global app between threads."""
    queue = App(connector=PsycopgConnector(conninfo=conninfo(database_url), **pool))
    queue.task(
        name=RUN_CHUNK,
        # a lost or busy database is no object's fault: the chunk was rolled back; again, later
        retry=RetryStrategy(
            max_attempts=8, exponential_wait=2, retry_exceptions={OperationalError}
        ),
    )(run_chunk)
    queue.periodic(cron="* * * * *")(
        queue.task(name=SWEEP, queueing_lock=SWEEP, pass_context=True)(sweep)
    )
    return queue


def pending_chunks(factory: sessionmaker[Session], job_id: int | None) -> list[tuple[int, int]]:
    """(job id, chunk id) of the pending chunks of running jobs (of ``job_id`` only)."""
    query = (
        select(JobChunk.job_id, JobChunk.id)
        .join(Job, Job.id == JobChunk.job_id)
        .where(Job.state == JobState.RUNNING, JobChunk.state == ChunkState.PENDING)
        .order_by(JobChunk.job_id, JobChunk.seq)
    )
    if job_id is not None:
        query = query.where(JobChunk.job_id == job_id)
    with factory() as session:
        return [(int(j), int(c)) for j, c in session.execute(query)]


def defer_chunks(queue: App, chunks: Sequence[tuple[int, int]]) -> int:
    """One token per chunk (an opened app); the number deferred now (not waiting already)."""
    deferred = 0
    for job_id, chunk_id in chunks:
        try:
            _configured(queue, chunk_id).defer(job_id=job_id)
        except AlreadyEnqueued:
            continue
        deferred += 1
    return deferred


def defer_pending(database_url: str, factory: sessionmaker[Session], job_id: int | None) -> int:
    """After the commit that made chunks pending (a start, a resume): tokens for them."""
    chunks = pending_chunks(factory, job_id)
    if not chunks:
        return 0
    with connected(database_url, min_size=1, max_size=1).open() as queue:
        return defer_chunks(queue, chunks)


def schema_exists(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is not None


def apply_schema(database_url: str, engine: Engine) -> bool:
    """Procrastinate's tables and functions, once (its schema script is not idempotent);
    True when applied now. Upgrading procrastinate past a schema change takes its migration
    scripts (``procrastinate schema --migrations-path``), as its release notes say."""
    if schema_exists(engine):
        return False
    with connected(database_url, min_size=1, max_size=1).open() as queue:
        queue.schema_manager.apply_schema()
    return True


def run_worker(
    database_url: str,
    factory: sessionmaker[Session],
    environment: Mapping[str, Any],
    *,
    concurrency: int = 1,
) -> None:
    """Run a procrastinate worker in the foreground until SIGTERM/SIGINT (the chunk in hand is
    finished first). ``concurrency`` chunks at a time, each in a thread of its own."""
    _HOST[:] = [_Host(factory, environment)]
    queue = connected(database_url, min_size=1, max_size=concurrency + 3)
    queue.run_worker(
        name=f"{socket.gethostname()}:{os.getpid()}",
        concurrency=concurrency,
        update_heartbeat_interval=HEARTBEAT_SECONDS,
        stalled_worker_timeout=STALLED_AFTER_SECONDS,
    )
