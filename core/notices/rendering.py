"""Making a notice's PDF from plain data, in this process or in a pool of worker processes.

The parent process reads the database and hands each worker a :class:`RenderJob` (template,
context of plain values, the two QR payloads); the worker draws the QR codes, fills the template
and lets WeasyPrint lay it out as PDF/A-3b, tagged, with the job's files embedded (the notice's
XML, core.notices.machine_readable, made in the parent from the same context), and sends the PDF
bytes back. Each worker keeps one
:class:`core.kernel.pdf.Renderer` (fonts and house stylesheet loaded once, images by URL), so a
worker renders at the speed of bare WeasyPrint. Workers are started with ``spawn`` (or
``forkserver`` where available): never ``fork`` of a parent holding database connections.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from core.kernel.girocode import png_data_uri, qr_png
from core.kernel.pdf import EmbeddedFile, render_pdf, renderer


@dataclass(frozen=True)
class RenderJob:
    """Everything a notice's PDF is made of, as plain (picklable) values."""

    notice_id: int
    template: str
    context: dict[str, Any]
    epc_payload: str | None  # GiroCode; None where nobody should transfer
    link_url: str
    files: tuple[EmbeddedFile, ...] = ()  # embedded as PDF/A-3 associated files


def html_context(job: RenderJob) -> dict[str, Any]:
    """The template's context: the job's with both QR codes drawn."""
    return {
        **job.context,
        "epc_qr": png_data_uri(qr_png(job.epc_payload)) if job.epc_payload else None,
        "link_qr": png_data_uri(qr_png(job.link_url)),
        "link_url": job.link_url,
    }


def pdf_of(job: RenderJob) -> bytes:
    """The notice's PDF/A-3b (the same bytes in the parent and in any worker)."""
    return render_pdf(job.template, html_context(job), archival=True, files=job.files)


def _warm_up() -> None:
    """Worker initializer: load Pango, the fonts and the stylesheet before the first job."""
    renderer()


def _render(job: RenderJob) -> tuple[int, bytes]:
    return job.notice_id, pdf_of(job)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class RenderPool:
    """A pool of warm rendering processes; use as a context manager."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("at least one worker")
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(_start_method()),
            initializer=_warm_up,
        )

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, jobs: Iterable[RenderJob]) -> list[Future[tuple[int, bytes]]]:
        return [self._executor.submit(_render, job) for job in jobs]


def results(futures: list[Future[tuple[int, bytes]]]) -> Iterator[tuple[int, bytes]]:
    """The (notice id, PDF) pairs in submission order (a worker's error is raised here)."""
    for future in futures:
        yield future.result()
