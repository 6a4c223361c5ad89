"""Benchmark of issue 13: dunning runs (preview and booking) over N open overdue items.

`python -m tests.benchmarks.dunning [--items N] [--persons N] [--postgres] [--no-sqlite]
[--jobs]` (not part of the test suite); issue 13's size is ``--items 1000000 --persons 250000``
(goal: preview and booking of a run under 60 s, peak RSS under 1 GiB). With ``--jobs`` the
preview and the booking are done as the back office does them: as jobs (core.dunning.jobs),
their chunks drained here by core.jobs.worker (the PDFs job the booking starts is left pending:
rendering is measured by the notices' benchmark).
Set-up (bulk insert and, on PostgreSQL, ANALYZE; not measured): ``items`` open property-tax
claims of 10–100 € of ``persons`` persons, due quarterly 15.11.2025–15.02.2026, every tenth
paid in part, with their ledger rows (tests.benchmarks.dunning_setup). Measured, on the demo
procedure (reminder without fee, Mahnung with the NRW fee, § 240 surcharges):

1. run 1 on 16.03.2026: preview (selection, steps, surcharges, letters and items stored),
   then booking (a surcharge claim for every item of 50 € or more);
2. run 2 on 30.03.2026: the same for the Mahnung (a fee claim for every letter as well).

Prints items per second, CPU seconds and statements sent of each step, peak RSS of the
process (set-up included, and the growth during the runs), progress lines on stderr, the load
average, and the anchor measured in the same run: raw sqlite3 writing the four rows of a claim
(tests.benchmarks.anchor), against the booking's claims per second.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

import core.job_kinds  # noqa: F401  (registers the kinds the jobs name)
from core.dunning import booking, runs
from core.dunning.jobs import start_preview
from core.dunning.letter_jobs import RenderDunningLetters
from core.dunning.models import DunningItem, DunningLetter, DunningRun
from core.jobs import control, queue, worker
from core.jobs.models import Job, JobState
from core.kernel.db import make_engine, make_session_factory
from core.tenancy.municipalities import Municipality
from portal.cli.db import alembic_config
from tests import pg
from tests.benchmarks import job_workers
from tests.benchmarks.anchor import raw_sqlite_claims_per_second
from tests.benchmarks.dunning_setup import open_items

RUNS = (date(2026, 3, 16), date(2026, 3, 30))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _progress(what: str) -> Callable[[int, int], None]:
    """A progress line on stderr about every tenth of the way."""
    step = [0]

    def seen(done: int, total: int) -> None:
        if done * 10 // max(total, 1) > step[0] or done == total:
            step[0] = done * 10 // max(total, 1)
            print(f"  {done:,}/{total:,} {what}", file=sys.stderr)

    return seen


Drain = Callable[[int], object]  # does every chunk of the job of this id


def _preview(session: Session, m: Any, day: date, drain: Drain | None) -> DunningRun:
    if drain is None:
        run = runs.preview(session, m, day, "bench:1", _progress("persons previewed"))
        session.commit()
        return run
    run, job = start_preview(session, m, day, "bench:1")
    session.commit()
    if job is not None:
        drain(job.id)
    return run


def _book(session: Session, m: Any, run: DunningRun, drain: Drain | None) -> dict[str, int]:
    if drain is None:
        counts = booking.book(session, run, "bench:2", _progress("letters booked"))
        session.commit()
        return counts
    job = control.start(session, m, "dunning", {"run": str(run.id)}, actor="bench:2")
    session.commit()
    drain(job.id)
    session.expire_all()
    counts = control.progress(session, job).counts
    return {"fees": counts.get("fees", 0), "surcharges": counts.get("surcharges", 0)}


def _count_items(session: Session, run: DunningRun) -> int:
    return int(
        session.scalar(
            select(func.count(DunningItem.id))
            .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
            .where(DunningLetter.run_id == run.id)
        )
        or 0
    )


def _cancel_letters(factory: Any) -> None:
    """The letters' PDFs job a booking starts is cancelled: rendering is the notices'
    benchmark's, and no worker is to render during the next run."""
    with factory() as session:
        running = select(Job).where(
            Job.kind == RenderDunningLetters.name, Job.state == JobState.RUNNING
        )
        for letters_job in session.scalars(running):
            control.cancel(session, letters_job, actor="bench:2")
        session.commit()


@contextmanager
def _drain(url: str, factory: Any, as_job: bool, workers: int) -> Iterator[Drain | None]:
    """How the jobs' chunks are done: not as jobs (None), here (core.jobs.worker.drain), or by
    ``workers`` ``openkasse jobs worker`` processes (PostgreSQL; started and ready first)."""
    if not workers:
        here = lambda job_id: worker.drain(factory, environment={}, job_id=job_id)  # noqa: E731
        yield here if as_job else None
        return
    queue.apply_schema(url, make_engine(url))
    with tempfile.TemporaryDirectory() as logs:
        processes = job_workers.spawn_workers(url, workers, Path(logs))
        try:
            job_workers.wait_until_ready(factory, workers, processes)

            def there(job_id: int) -> None:
                job_workers.drain_with_workers(url, factory, job_id, processes)
                _cancel_letters(factory)

            yield there
        finally:
            job_workers.stop_workers(processes)


def bench_dunning(
    url: str, items: int, as_job: bool = False, persons: int | None = None, workers: int = 0
) -> None:
    persons = persons or items
    command.upgrade(alembic_config(url), "head")
    on = f"/jobs on {workers} worker processes" if workers else "/jobs" if as_job else ""
    backend = url.split(":", 1)[0] + on
    engine = make_engine(url)
    sent = [0]  # statements sent to the database (an executemany counts once)

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        sent[0] += 1

    factory = make_session_factory(engine)
    with factory() as session, _drain(url, factory, as_job, workers) as drain:
        m = open_items(session, persons, items)
        if engine.dialect.name == "postgresql":
            # Statistics as autovacuum keeps them on a database that grew over the years: the
            # set-up loads a million rows in a minute, and plans made before autovacuum has
            # looked at them read whole tables (BENCHMARKS.md, 2026-12-07).
            session.commit()
            session.execute(text("ANALYZE"))
            session.commit()
        session.expunge_all()
        m = session.merge(m, load=True)
        municipality_id = m.id
        rss_set_up = peak_rss_mib()
        print(
            f"dunning/{backend}: set-up of {items:,} open items of {persons:,} persons done "
            f"(peak RSS {rss_set_up:,.0f} MiB)",
            file=sys.stderr,
        )
        booked_claims = 0
        booking_seconds = 0.0
        for number, day in enumerate(RUNS, start=1):
            started, cpu, sent[0] = time.perf_counter(), time.process_time(), 0
            run = _preview(session, m, day, drain)
            previewed, preview_cpu = time.perf_counter(), time.process_time() - cpu
            preview_statements = sent[0]
            dunned = _count_items(session, run)
            runs.approve(session, run, "bench:2")
            session.commit()
            approved = time.perf_counter()
            cpu, sent[0] = time.process_time(), 0
            counts = _book(session, m, run, drain)
            done, booking_cpu = time.perf_counter(), time.process_time() - cpu
            booking_statements = sent[0]
            session.expunge_all()  # the run's objects go; the municipality is read again
            m = session.get_one(Municipality, municipality_id)
            made = counts["fees"] + counts["surcharges"]
            booked_claims += made
            booking_seconds += done - approved
            print(
                f"dunning/{backend} run {number} ({day:%d.%m.%Y}): {dunned:,} items; preview "
                f"{dunned / (previewed - started):,.0f} items/s ({previewed - started:.1f} s, "
                f"{preview_cpu:.1f} s CPU, {preview_statements:,} statements), booking "
                f"{dunned / (done - approved):,.0f} items/s ({done - approved:.1f} s, "
                f"{booking_cpu:.1f} s CPU, {booking_statements:,} statements, "
                f"{counts['fees']:,} fees, {counts['surcharges']:,} surcharges); together "
                f"{done - started - (approved - previewed):.1f} s ({preview_cpu + booking_cpu:.1f} "
                f"s CPU of this process); load average {_load()}"
            )
    anchor = raw_sqlite_claims_per_second(max(booked_claims, 1000))
    rate = booked_claims / booking_seconds if booking_seconds else 0.0
    print(
        f"dunning/{backend}: peak RSS {peak_rss_mib():,.0f} MiB (set-up included: "
        f"{rss_set_up:,.0f} MiB after it); load average {_load()}; booking "
        f"{rate:,.0f} claims/s against raw sqlite3 {anchor:,.0f} claims/s (four rows each): "
        f"ratio {rate / anchor:.2f}"
    )


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000, help="open items")
    parser.add_argument("--persons", type=int, help="persons owing them (default: --items)")
    parser.add_argument("--postgres", action="store_true", help="also on a PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="with --postgres: only there")
    parser.add_argument("--jobs", action="store_true", help="preview and booking as jobs")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="with --postgres: the jobs done by this many `openkasse jobs worker` processes",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if not (args.no_sqlite and args.postgres):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench_dunning.sqlite3'}"
            bench_dunning(url, args.items, args.jobs, args.persons)
    if args.postgres:
        with pg.running_server() as base:
            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench_dunning"))
            admin.dispose()
            bench_dunning(
                f"{base}/bench_dunning", args.items, args.jobs, args.persons, args.workers
            )


if __name__ == "__main__":
    main()
