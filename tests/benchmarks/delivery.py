"""Benchmark of issue 15, the postal fallback: notices per second put into print batches
(`post_batch`: concatenated PDF, CSV/JSON manifest, posted with the deemed date), against the
anchor measured in the same run — bare WeasyPrint rendering the same notice HTML in one process.

Two cases over notices of persons without consent: (1) the notices' PDFs not made yet, so the
batch renders each (one process; ratio to bare WeasyPrint), (2) PDFs archived beforehand
(`openkasse notices render-pending`), so the batch only concatenates, writes the manifest and
marks the letters posted. Set-up (not measured): one dog registration per person with its notice.
``python -m tests.benchmarks.delivery [--notices N] [--batch N]``; the issue's 50,000 notices
are ``--notices 50000`` (case 2 is the one that scales: rendering is the notices benchmark's).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy.orm import Session

from core.delivery.fallback import due_for_post, post_batch
from core.delivery.service import make_available
from core.kernel.db import make_engine, make_session_factory
from core.notices.pending import render_pending
from core.notices.records import pending_documents
from core.tenancy.municipalities import Municipality
from portal.cli.db import alembic_config
from tests.benchmarks.notices import SETTINGS, bare_rate, notice_html, notices_setup

POSTED_ON = date(2026, 12, 22)


def _available(session: Session) -> Municipality:
    town = session.query(Municipality).order_by(Municipality.id.desc()).first()
    assert town is not None
    now = datetime(2026, 12, 21, 9, tzinfo=UTC)
    make_available(session, town, now=now, portal_url="https://portal.example", actor="bench")
    session.commit()
    return town


def batch_rate(session: Session, town: Municipality, batch: int) -> tuple[float, int, int]:
    """(notices/s, letters, pages) of posting every due delivery in batches of ``batch``."""
    due = due_for_post(session, town, POSTED_ON)
    started, letters, pages = time.perf_counter(), 0, 0
    for i in range(0, len(due), batch):
        result = post_batch(
            session, town, due[i : i + batch], as_of=POSTED_ON, settings=SETTINGS, actor="bench"
        )
        session.commit()
        letters += len(result.letters)
        pages += result.batch.pages if result.batch else 0
    return letters / (time.perf_counter() - started), letters, pages


def bench_delivery(url: str, count: int, batch: int) -> None:
    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ids = notices_setup(session, count)
        bare = bare_rate(notice_html(session, ids[0]), max(10, count // 4))
        print(f"delivery bare WeasyPrint/{backend}: {bare:,.1f} PDFs/s in one process")
        town = _available(session)
        rate, letters, pages = batch_rate(session, town, batch)
        print(
            f"delivery fallback rendering/{backend}: {rate:,.1f} notices/s "
            f"({rate / bare:.2f} × bare) — {letters} letters, {pages} pages"
        )
        more = notices_setup(session, count)
        render_pending(session, SETTINGS, more, workers=1, actor="bench")
        session.commit()
        assert not pending_documents(session)
        town = _available(session)
        rate, letters, pages = batch_rate(session, town, batch)
        print(
            f"delivery fallback pre-rendered/{backend}: {rate:,.1f} notices/s "
            f"({rate / bare:.2f} × bare) — {letters} letters, {pages} pages, batches of {batch}"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=100)
    parser.add_argument("--batch", type=int, default=200, help="letters per print batch")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as tmp:
        bench_delivery(
            f"sqlite:///{Path(tmp) / 'bench_delivery.sqlite3'}", args.notices, args.batch
        )


if __name__ == "__main__":
    main()
