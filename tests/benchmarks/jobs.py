"""Benchmark of the job engine (issue 12, point 4): the annual dog-tax run as a job, its
chunks done by a worker in this process (core.jobs.worker.drain: claim, book and mark each
chunk in one transaction), against its anchor measured in the same run: the same run without
the job engine (the levy pipeline in one process, a commit per chunk) on a second database of
the same set-up.

On PostgreSQL also the same job on one and on two ``openkasse jobs worker`` processes
(:mod:`tests.benchmarks.job_workers`). `python -m tests.benchmarks.run --only jobs [--dogs N]
[--postgres]` (dogs: a fifth of --dogs). Prints claims per second of each, the ratio to the
anchor, and the peak RSS."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import Any

from alembic import command
from sqlalchemy import func, select

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.jobs import control, worker
from core.kernel.db import make_engine, make_session_factory
from core.ledger.models import Claim
from core.levies.dog_tax.assessment import DOG_TAX
from core.tenancy.municipalities import Municipality
from portal.cli.db import alembic_config
from tests.benchmarks.dog_tax import DOG_AS_OF, DOG_YEAR, dog_tax_setup
from tests.benchmarks.job_workers import run_with_workers, start_dog_tax_job

ENVIRONMENT: dict[str, Any] = {}  # the dog tax needs nothing from the host


def _prepared(url: str, dogs: int) -> Any:
    command.upgrade(alembic_config(url), "head")
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        m, _dogs = dog_tax_setup(session, dogs)
        session.commit()
        return factory, m.id


def _claims(factory: Any, municipality_id: int) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count(Claim.id)).where(Claim.municipality_id == municipality_id)
            )
        )


def bench_jobs(url_for: Callable[[str], str], dogs: int) -> None:
    """``url_for(name)``: a new empty database of that name (tests/benchmarks/run.py)."""
    job_url = url_for("bench_jobs")
    backend = job_url.split(":")[0]
    as_job, anchor = _prepared(job_url, dogs), _prepared(url_for("bench_jobs_plain"), dogs)

    factory, municipality_id = anchor
    started = time.perf_counter()
    with factory() as session:
        m = session.get_one(Municipality, municipality_id)
        DOG_TAX.assess_all(
            session,
            municipality=m,
            year=DOG_YEAR,
            as_of=DOG_AS_OF,
            actor="bench",
            chunk_done=lambda _d, _t: session.commit(),
        )
        session.commit()
    plain_s = time.perf_counter() - started
    plain = _claims(factory, municipality_id) / plain_s

    factory, municipality_id = as_job
    started = time.perf_counter()
    job_id = start_dog_tax_job(factory, municipality_id)
    chunks = worker.drain(factory, environment=ENVIRONMENT, job_id=job_id)
    job_s = time.perf_counter() - started
    claims = _claims(factory, municipality_id)
    with factory() as session:
        done = control.progress(session, control.get_job(session, municipality_id, job_id))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"jobs/{backend}: dog-tax run as a job {claims / job_s:,.0f} claims/s ({claims} claims, "
        f"{chunks} chunks, {done.done}/{done.total} owners, state {done.state.value}, plan "
        f"included, {job_s:,.1f} s); anchor: the same run without the job engine "
        f"{plain:,.0f} claims/s in this run — ratio {claims / job_s / plain:.2f}; peak RSS "
        f"{rss:,.0f} MiB"
    )
    if backend.startswith("postgresql"):
        for count in (1, 2):
            url = url_for(f"bench_jobs_workers{count}")
            seconds, booked, planned = run_with_workers(url, _prepared(url, dogs), count, _claims)
            print(
                f"jobs/{backend}: dog-tax run as a job on {count} worker process(es) "
                f"{booked / seconds:,.0f} claims/s ({booked} claims, {seconds:,.1f} s, plan "
                f"{planned:,.1f} s included); anchor: without the job engine {plain:,.0f} "
                f"claims/s in this run — ratio {booked / seconds / plain:.2f}"
            )
