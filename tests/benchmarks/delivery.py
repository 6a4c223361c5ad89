"""Benchmark of issue 15, the postal fallback: notices per second put into print batches
(`post_batch`: concatenated PDF, CSV/JSON manifest, posted with the deemed date), against the
anchor measured in the same run — bare WeasyPrint rendering the same notice HTML in one process.

Two cases over notices of persons without consent: (1) the notices' PDFs not made yet, so the
batch renders each (one process; ratio to bare WeasyPrint), over ``--render-notices`` notices
(default min(N, 200): rendering is the notices benchmark's), (2) the PDFs archived beforehand, as
in production where a notice is rendered when it is issued, so the batch only concatenates,
writes the manifest and marks the letters posted, over ``--notices`` notices. Set-up (not
measured): case 1, one dog registration per person with its notice (the full registration
flow, ≈ 0.1 s each); case 2, owners with addresses bulk-inserted and their notices issued by the
dog-tax annual run (one per owner), then ``DISTINCT`` of them rendered for real and every
notice's PDF archived (core.notices.records.archive_pdf, once per notice, append-only) with the
bytes of one of them — the batch reads each letter's archived bytes, opens, counts and imports
its pages all the same, only the text differs.
``python -m tests.benchmarks.delivery [--notices N] [--render-notices M] [--batch B]``; the
issue's 50,000 notices are ``--notices 50000``. Wall, process CPU seconds, peak RSS and the load
average are printed with each case.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery.fallback import due_for_post, post_batch
from core.delivery.service import make_available
from core.kernel.db import make_engine, make_session_factory
from core.levies.dog_tax.assessment import assess_all
from core.notices.records import Notice, archive_pdf, pending_documents, render
from core.tenancy.municipalities import Municipality
from portal.cli.db import alembic_config
from tests.benchmarks.dog_tax import DOG_AS_OF, DOG_YEAR, dog_tax_setup, owners_for
from tests.benchmarks.notices import SETTINGS, bare_rate, notice_html, notices_setup

POSTED_ON = date(2026, 12, 22)
# case 2: the annual run's notices are issued on DOG_AS_OF (10.1.2027), made available the next
# morning, posted the day after
ANNUAL_AVAILABLE = datetime(2027, 1, 11, 9, tzinfo=UTC)
ANNUAL_POSTED_ON = date(2027, 1, 12)
ISSUED_ON = date(2026, 3, 10)  # the factories' addresses begin on 1.3.2026: a window to print
DISTINCT = 8  # notices rendered for real in case 2's set-up


def _available(session: Session, now: datetime) -> Municipality:
    town = session.query(Municipality).order_by(Municipality.id.desc()).first()
    assert town is not None
    make_available(session, town, now=now, portal_url="https://portal.example", actor="bench")
    session.commit()
    return town


def archive_prerendered(session: Session, notice_ids: list[int]) -> None:
    """Case 2's set-up: ``DISTINCT`` notices rendered, every notice archived with the bytes of
    one of them (through the archive, once per notice, committed in chunks)."""
    first = [session.get_one(Notice, i) for i in notice_ids[:DISTINCT]]
    pdfs = [render(session, notice, SETTINGS) for notice in first]
    for start in range(0, len(notice_ids), 1000):
        chunk = notice_ids[start : start + 1000]
        for k, notice in enumerate(session.scalars(select(Notice).where(Notice.id.in_(chunk)))):
            archive_pdf(session, notice, pdfs[(start + k) % len(pdfs)], "bench")
        session.commit()


def annual_setup(session: Session, count: int) -> list[int]:
    """Case 2's notices: ``count`` owners with addresses bulk-inserted, their notices issued by
    the dog-tax annual run (the production path, one notice per owner)."""
    town, dogs = dog_tax_setup(session, -(-count * 5 // 4))
    assert owners_for(dogs) == count
    assess_all(
        session,
        municipality=town,
        year=DOG_YEAR,
        as_of=DOG_AS_OF,
        actor="bench",
        chunk_done=lambda done, total: session.commit(),
    )
    session.commit()
    return pending_documents(session, town.id)


def batch_rate(
    session: Session, town: Municipality, batch: int, posted_on: date
) -> tuple[float, float, int, int]:
    """(wall s, process CPU s, letters, pages) of posting every due delivery in batches."""
    due = due_for_post(session, town, posted_on)
    started, cpu, letters, pages = time.perf_counter(), time.process_time(), 0, 0
    for i in range(0, len(due), batch):
        result = post_batch(
            session, town, due[i : i + batch], as_of=posted_on, settings=SETTINGS, actor="bench"
        )
        session.commit()
        letters += len(result.letters)
        pages += result.batch.pages if result.batch else 0
    return time.perf_counter() - started, time.process_time() - cpu, letters, pages


def _report(
    case: str, backend: str, bare: float, figures: tuple[float, float, int, int], batch: int
) -> None:
    wall, cpu, letters, pages = figures
    rate = letters / wall
    print(
        f"delivery fallback {case}/{backend}: {rate:,.1f} notices/s wall "
        f"({rate / bare:.2f} × bare), {letters / cpu:,.1f} per CPU second — {letters} letters, "
        f"{pages} pages, {-(-letters // batch)} batches of {batch}; wall {wall:.1f} s, CPU "
        f"{cpu:.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}"
        f" MiB, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def _setup(session: Session, count: int) -> list[int]:
    started = time.perf_counter()
    ids = notices_setup(session, count, ISSUED_ON)
    print(
        f"  set-up: {count} notices in {time.perf_counter() - started:.1f} s (not measured)",
        file=sys.stderr,
    )
    return ids


def bench_delivery(url: str, count: int, batch: int, render_count: int | None = None) -> None:
    backend = url.split(":")[0]
    render_count = min(count, 200) if render_count is None else render_count
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ids = _setup(session, render_count)
        bare = bare_rate(notice_html(session, ids[0]), max(10, min(render_count, 200) // 4))
        print(f"delivery bare WeasyPrint/{backend}: {bare:,.1f} PDFs/s in one process")
        town = _available(session, datetime(2026, 12, 21, 9, tzinfo=UTC))
        figures = batch_rate(session, town, batch, POSTED_ON)
        _report("rendering", backend, bare, figures, batch)
        started = time.perf_counter()
        more = annual_setup(session, count)
        print(
            f"  set-up: {len(more)} notices by the annual run in "
            f"{time.perf_counter() - started:.1f} s (not measured)",
            file=sys.stderr,
        )
        started = time.perf_counter()
        archive_prerendered(session, more)
        assert not pending_documents(session)
        print(
            f"  archived: {count} PDFs ({DISTINCT} rendered) in "
            f"{time.perf_counter() - started:.1f} s (not measured)",
            file=sys.stderr,
        )
        town = _available(session, ANNUAL_AVAILABLE)
        figures = batch_rate(session, town, batch, ANNUAL_POSTED_ON)
        _report("pre-rendered", backend, bare, figures, batch)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=100)
    parser.add_argument(
        "--render-notices", type=int, help="case 1's notices (default: min(N, 200))"
    )
    parser.add_argument("--batch", type=int, default=200, help="letters per print batch")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as tmp:
        bench_delivery(
            f"sqlite:///{Path(tmp) / 'bench_delivery.sqlite3'}",
            args.notices,
            args.batch,
            args.render_notices,
        )


if __name__ == "__main__":
    main()
