"""Benchmark of the job engine on PostgreSQL with worker processes (issue 12, point 4): the
annual dog-tax run as a job whose chunks procrastinate hands to ``openkasse jobs worker``
processes — one, then two — each on a fresh copy of the same set-up, against the anchor printed
by :mod:`tests.benchmarks.jobs` (the same run in one process without the job engine).

The workers are started and ready before the job is, and the time runs from the start of the
job (planning included) until its last chunk is committed: what a town sees when it starts a
run on a deployment with M job workers. Each run's claims are counted afterwards, so a chunk
booked twice or lost would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from core.jobs import control, queue
from core.jobs.models import ChunkState, JobChunk
from core.kernel.db import make_engine
from core.tenancy.municipalities import Municipality
from tests.benchmarks.dog_tax import DOG_AS_OF, DOG_YEAR

ROOT = Path(__file__).resolve().parents[2]
WORKER = "from portal.cli import main; main(['jobs', 'worker'], prog_name='openkasse')"
READY_SECONDS = 120


def spawn_workers(url: str, count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "JOBS_WORKER": "",  # no in-process worker of the web app
    }
    workers = []
    for n in range(count):
        with (logs / f"worker{n}.log").open("wb") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER], env=env, cwd=ROOT, stdout=log, stderr=log
                )
            )
    return workers


def wait_until_ready(factory: Any, count: int, workers: list[subprocess.Popen[bytes]]) -> None:
    """Until procrastinate lists ``count`` live workers (their heartbeat rows)."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a job worker ended early (exit {worker.returncode})")
        with factory() as session:
            live = session.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        if live >= count:
            return
        time.sleep(0.2)
    raise RuntimeError("the job workers did not start")


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()  # SIGTERM: the chunk in hand is finished first
    for worker in workers:
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _pending(factory: Any, job_id: int) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count(JobChunk.id)).where(
                    JobChunk.job_id == job_id, JobChunk.state == ChunkState.PENDING
                )
            )
        )


def drain_with_workers(
    url: str, factory: Any, job_id: int, workers: list[subprocess.Popen[bytes]]
) -> None:
    """Tokens for the job's pending chunks, then wait until the workers have done them all."""
    queue.defer_pending(url, factory, job_id)
    while _pending(factory, job_id):
        for worker in workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a job worker ended (exit {worker.returncode})")
        time.sleep(0.05)


def start_dog_tax_job(factory: Any, municipality_id: int) -> int:
    """The annual dog-tax run started as a job (planned, chunks pending); its id."""
    with factory() as session:
        job = control.start(
            session,
            session.get_one(Municipality, municipality_id),
            "dog_tax",
            {"year": str(DOG_YEAR), "as_of": DOG_AS_OF.isoformat()},
            actor="bench",
        )
        session.commit()
        return job.id


def run_with_workers(
    url: str, prepared: tuple[Any, int], count: int, claims_of: Callable[[Any, int], int]
) -> tuple[float, int, float]:
    """The job on ``count`` worker processes: (seconds, claims booked, plan seconds)."""
    factory, municipality_id = prepared
    queue.apply_schema(url, make_engine(url))
    with tempfile.TemporaryDirectory() as logs:
        workers = spawn_workers(url, count, Path(logs))
        try:
            wait_until_ready(factory, count, workers)
            started = time.perf_counter()
            job_id = start_dog_tax_job(factory, municipality_id)
            planned = time.perf_counter() - started
            drain_with_workers(url, factory, job_id, workers)
            seconds = time.perf_counter() - started
        finally:
            stop_workers(workers)
    return seconds, claims_of(factory, municipality_id), planned
