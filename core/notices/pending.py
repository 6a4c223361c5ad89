"""Render and archive the PDFs of the notices that have none yet, in a pool of workers.

The parent reads each chunk of notices and hands the workers plain data (core.notices.rendering);
while they render one chunk the parent reads the next, then archives the finished chunk and lets
the caller commit. A notice is archived in the same transaction that gives it its document, so a
run broken off mid-batch loses at most the uncommitted chunk and a rerun renders only what is
still pending; a notice that has its document is never rendered or stored again (one that got
it while being rendered, from a reprint or a second run, keeps that one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.notices.records import Notice, NoticeSettings, archive_pdf, render_job
from core.notices.rendering import RenderJob, RenderPool, results

ChunkDone = Callable[[int, int], None]  # (done, total): the caller commits and reports


def render_pending(
    session: Session,
    settings: NoticeSettings,
    notice_ids: Sequence[int],
    *,
    workers: int,
    actor: str,
    chunk_done: ChunkDone | None = None,
    chunk_size: int | None = None,
) -> int:
    """Render and archive the given notices that are still pending; the number archived.
    A chunk (default: eight notices per worker, enough to keep every worker busy while the
    parent archives the one before) is archived as a whole, then ``chunk_done`` commits."""
    chunk_size = chunk_size or 8 * workers
    chunks = [notice_ids[i : i + chunk_size] for i in range(0, len(notice_ids), chunk_size)]
    archived = done = 0
    with RenderPool(workers) as pool:
        in_flight: tuple[int, list[Future[tuple[int, bytes]]]] | None = None
        for chunk in [*chunks, None]:  # None: no chunk left to read, only the last to archive
            ahead = (
                None
                if chunk is None
                else (len(chunk), pool.submit(_jobs(session, settings, chunk)))
            )
            if in_flight is not None:
                archived += _archive(session, in_flight[1], actor)
                done += in_flight[0]
                if chunk_done is not None:
                    chunk_done(done, len(notice_ids))
            in_flight = ahead
    return archived


def _jobs(session: Session, settings: NoticeSettings, chunk: Sequence[int]) -> list[RenderJob]:
    notices = session.scalars(
        select(Notice).where(Notice.id.in_(chunk), Notice.document_id.is_(None))
    )
    return [render_job(session, notice, settings) for notice in notices]


def _archive(session: Session, futures: list[Future[tuple[int, bytes]]], actor: str) -> int:
    archived = 0
    for notice_id, content in results(futures):
        # Locked and read afresh (PostgreSQL): a second run at the same time waits here and
        # then finds the document the first one stored.
        notice = session.get_one(Notice, notice_id, with_for_update=True, populate_existing=True)
        if notice.document_id is None:
            archive_pdf(session, notice, content, actor)
            archived += 1
    return archived
