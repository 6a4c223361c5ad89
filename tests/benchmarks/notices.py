"""Benchmark of issue 12, notices: PDFs rendered and archived per second with one and with two
worker processes, against the anchor measured in the same run — bare WeasyPrint rendering the
same notice HTML (same template output, same stylesheet) in one process, i.e. per core, with the
same options: PDF/A-3b, tagged, the notice's XML embedded (core.kernel.pdf.archival_options).

Set-up (not measured): one dog registered per person, each with its notice (pending PDF).
Targets: one worker ≥ 0.9 × bare, two workers ≥ 1.8 × bare (on two cores).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from datetime import date

from alembic import command
from sqlalchemy.orm import Session
from weasyprint import HTML

from core.kernel.db import make_engine, make_session_factory
from core.kernel.pdf import ROOT, EmbeddedFile, archival_options, render_html
from core.levies.dog_tax.services import Registration, submit_registration
from core.notices.pending import render_pending
from core.notices.records import Notice, NoticeSettings, pending_documents, render_job
from core.notices.rendering import html_context
from portal.cli.db import alembic_config
from tests import factories

SETTINGS = NoticeSettings(secret="b" * 32, public_base_url="https://portal.example")
AS_OF = date(2026, 1, 10)


def notices_setup(session: Session, count: int, as_of: date = AS_OF) -> list[int]:
    town = factories.municipality(session)
    factories.dog_tax_statute(session, town)
    for i in range(count):
        submit_registration(
            session,
            person=factories.person(session, town),
            municipality=town,
            registration=Registration(
                name=f"Hund {i}",
                breed="Labrador Retriever",
                born_on=date(2022, 1, 1),
                acquired_on=date(2025, 12, 1),
                chip_number=f"276098{i:09d}",
            ),
            as_of=as_of,
            actor="bench",
        )
    session.commit()
    return pending_documents(session, town.id)


def notice_html(session: Session, notice_id: int) -> tuple[str, tuple[EmbeddedFile, ...]]:
    """The HTML a worker makes of the notice (template output with both QR codes) and the files
    its PDF/A embeds."""
    job = render_job(session, session.get_one(Notice, notice_id), SETTINGS)
    return render_html(job.template, html_context(job)), job.files


def bare_rate(page: tuple[str, tuple[EmbeddedFile, ...]], count: int) -> float:
    """Bare WeasyPrint, one process: a fresh document (stylesheet, fonts) every time, written as
    the notices are (PDF/A-3b, tagged, the XML embedded)."""
    html, files = page
    # Pango and fonts loaded, not measured
    HTML(string=html, base_url=str(ROOT)).write_pdf(**archival_options(files))
    started = time.perf_counter()
    for _ in range(count):
        HTML(string=html, base_url=str(ROOT)).write_pdf(**archival_options(files))
    return count / (time.perf_counter() - started)


def pool_rates(session: Session, notice_ids: list[int], workers: int) -> tuple[float, float]:
    """(notices/s from start including the workers' start, notices/s after the first chunk)."""
    marks: list[tuple[float, int]] = []

    def chunk_done(done: int, total: int) -> None:
        session.commit()
        marks.append((time.perf_counter(), done))

    started = time.perf_counter()
    render_pending(
        session, SETTINGS, notice_ids, workers=workers, actor="bench", chunk_done=chunk_done
    )
    session.commit()
    wall = len(notice_ids) / (time.perf_counter() - started)
    (first_at, first_done), (last_at, last_done) = marks[0], marks[-1]
    steady = (last_done - first_done) / (last_at - first_at) if last_at > first_at else wall
    return wall, steady


def peak_rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def bench_notices(url: str, count: int) -> None:
    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        ids = notices_setup(session, 3 * count)
        print(
            f"  set-up ({backend}): {len(ids)} notices in {time.perf_counter() - started:.1f} s"
            " (not measured)",
            file=sys.stderr,
        )
        bare = bare_rate(notice_html(session, ids[0]), max(10, count // 4))
        print(f"notices bare WeasyPrint/{backend}: {bare:,.1f} PDFs/s in one process (per core)")
        for workers, batch in ((1, ids[:count]), (2, ids[count : 3 * count])):
            wall, steady = pool_rates(session, batch, workers)
            print(
                f"notices workers={workers}/{backend}: {steady:,.1f} notices/s rendered and "
                f"archived ({steady / workers / bare:.2f} × bare per worker, "
                f"{steady / bare:.2f} × bare in all; {wall:,.1f}/s including the workers' "
                f"start) — {len(batch)} notices"
            )
    engine.dispose()
    print(
        f"notices peak RSS/{backend}: parent {peak_rss_mib(resource.RUSAGE_SELF):,.0f} MiB, "
        f"largest worker {peak_rss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
